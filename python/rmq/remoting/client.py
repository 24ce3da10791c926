"""The calling end (Java: ``NettyRemotingClient``): one cached connection per peer address."""

import asyncio
import logging

from rmq.remoting.command import RemotingCommand
from rmq.remoting.connection import Connection
from rmq.remoting.dispatch import Dispatcher
from rmq.remoting.errors import RemotingConnectError
from rmq.remoting.frame import DEFAULT_MAX_FRAME_LENGTH

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 3.0


def split_addr(addr: str) -> tuple[str, int]:
    """``host:port`` (IPv6 hosts may be bracketed) into its parts; ValueError if malformed."""
    host, sep, port = addr.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"address {addr!r} is not host:port")
    return host.strip("[]"), int(port)


class RemotingClient:
    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = 3.0,
        dispatcher: Dispatcher | None = None,
        max_frame_length: int = DEFAULT_MAX_FRAME_LENGTH,
    ) -> None:
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._dispatcher = dispatcher
        self._max_frame_length = max_frame_length
        self._connections: dict[str, Connection] = {}
        self._connecting: dict[str, asyncio.Lock] = {}

    async def connection(self, addr: str) -> Connection:
        conn = self._connections.get(addr)
        if conn is not None and not conn.is_closed:
            return conn
        lock = self._connecting.setdefault(addr, asyncio.Lock())
        async with lock:
            conn = self._connections.get(addr)
            if conn is not None and not conn.is_closed:
                return conn
            try:
                host, port = split_addr(addr)
            except ValueError as exc:
                raise RemotingConnectError(addr, str(exc)) from None
            loop = asyncio.get_running_loop()
            try:
                async with asyncio.timeout(self._connect_timeout):
                    _, protocol = await loop.create_connection(
                        lambda: Connection(
                            self._dispatcher,
                            max_frame_length=self._max_frame_length,
                            on_close=lambda c: self._forget(addr, c),
                        ),
                        host,
                        port,
                    )
            except TimeoutError:
                raise RemotingConnectError(addr, "timed out") from None
            except OSError as exc:
                raise RemotingConnectError(addr, exc.strerror or str(exc)) from None
            self._connections[addr] = protocol
            return protocol

    def _forget(self, addr: str, conn: Connection) -> None:
        if self._connections.get(addr) is conn:
            del self._connections[addr]

    async def invoke(
        self, addr: str, request: RemotingCommand, timeout: float | None = None
    ) -> RemotingCommand:
        conn = await self.connection(addr)
        return await conn.request(request, self._timeout if timeout is None else timeout)

    async def invoke_oneway(self, addr: str, request: RemotingCommand) -> None:
        conn = await self.connection(addr)
        conn.oneway(request)

    async def close(self) -> None:
        conns = list(self._connections.values())
        self._connections.clear()
        for conn in conns:
            conn.close()
        for conn in conns:
            await conn.wait_closed()
