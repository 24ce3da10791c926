"""The listening end (Java: ``NettyRemotingServer``)."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from rmq.remoting.connection import DEFAULT_MAX_IN_FLIGHT, Connection
from rmq.remoting.dispatch import Dispatcher
from rmq.remoting.frame import DEFAULT_MAX_FRAME_LENGTH

log = logging.getLogger(__name__)


class RemotingServer:
    """Accepts connections and answers their requests through a :class:`Dispatcher`.

    Connections idle for ``idle_seconds`` (Java: ``serverChannelMaxIdleTimeSeconds``) are
    closed; ``close_listeners`` hear about every closed connection, which is how the
    NameServer drops a broker whose channel went away.
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        host: str,
        port: int,
        *,
        max_frame_length: int = DEFAULT_MAX_FRAME_LENGTH,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        idle_seconds: float = 120.0,
    ) -> None:
        self._dispatcher = dispatcher
        self._host = host
        self._port = port
        self._max_frame_length = max_frame_length
        self._max_in_flight = max_in_flight
        self._idle_seconds = idle_seconds
        self._server: asyncio.Server | None = None
        self._idle_task: asyncio.Task[None] | None = None
        self.connections: set[Connection] = set()
        self.close_listeners: list[Callable[[Connection], None]] = []

    @property
    def port(self) -> int:
        """The bound port (the real one when started with port 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    def _make_connection(self) -> Connection:
        return Connection(
            self._dispatcher,
            max_frame_length=self._max_frame_length,
            max_in_flight=self._max_in_flight,
            on_close=self._closed,
        )

    def _closed(self, conn: Connection) -> None:
        self.connections.discard(conn)
        for listener in self.close_listeners:
            try:
                listener(conn)
            except Exception:
                log.exception("close listener failed peer=%s", conn.peer)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()

        def factory() -> Connection:
            conn = self._make_connection()
            self.connections.add(conn)
            return conn

        self._server = await loop.create_server(
            factory, self._host, self._port, reuse_address=True, backlog=1024
        )
        self._idle_task = asyncio.create_task(self._close_idle(), name="remoting-idle-sweep")

    async def _close_idle(self) -> None:
        interval = max(1.0, min(10.0, self._idle_seconds / 4))
        while True:
            await asyncio.sleep(interval)
            deadline = time.monotonic() - self._idle_seconds
            for conn in [c for c in self.connections if c.last_active < deadline]:
                log.info("closing idle connection peer=%s", conn.peer)
                conn.close()

    async def stop(self) -> None:
        """Stop accepting, then close every connection and wait for them to go."""
        if self._idle_task is not None:
            self._idle_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._idle_task
        if self._server is not None:
            self._server.close()
        conns = list(self.connections)
        for conn in conns:
            conn.close()
        if conns:
            async with asyncio.timeout(5):
                await asyncio.gather(*(c.wait_closed() for c in conns))
        if self._server is not None:
            await self._server.wait_closed()
