"""One socket: frame decoding, request dispatch, and the requests waiting for answers.

Both ends use it: the server gets one per accepted socket, the client one per peer
address. Either side may send requests on it (the broker calls clients back).
"""

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Final, cast

from rmq.common.codes import ResponseCode
from rmq.remoting.command import RemotingCommand
from rmq.remoting.dispatch import Dispatcher
from rmq.remoting.errors import ConnectionClosedError, RemotingTimeoutError, RequestError
from rmq.remoting.frame import DEFAULT_MAX_FRAME_LENGTH, FrameDecoder, FrameError, encode

log = logging.getLogger(__name__)

#: Requests a peer may have in processing before we stop reading its socket.
DEFAULT_MAX_IN_FLIGHT: Final = 1024


class Connection(asyncio.Protocol):
    """An asyncio protocol for one remoting connection."""

    def __init__(
        self,
        dispatcher: Dispatcher | None,
        *,
        max_frame_length: int = DEFAULT_MAX_FRAME_LENGTH,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        on_close: Callable[["Connection"], None] | None = None,
    ) -> None:
        self._dispatcher = dispatcher
        self._decoder = FrameDecoder(max_frame_length)
        self._max_in_flight = max_in_flight
        self._on_close = on_close
        self._transport: asyncio.Transport | None = None
        self._pending: dict[int, asyncio.Future[RemotingCommand]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Requests read but not yet started because max_in_flight are running.
        self._backlog: deque[RemotingCommand] = deque()
        self._reading_paused = False
        self._writing_paused = False
        self._loop = asyncio.get_running_loop()
        self._closed = self._loop.create_future()
        # Frames written in one loop iteration go out in one write: many small replies to
        # one peer (a producer's pipelined sends) cost one syscall, not one each.
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self.peer = "?"
        self.last_active = time.monotonic()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.peer = f"{peer[0]}:{peer[1]}"

    def data_received(self, data: bytes) -> None:
        now = self.last_active = time.monotonic()
        try:
            commands = self._decoder.feed(data)
        except FrameError as exc:
            log.warning("closing connection peer=%s reason=%s", self.peer, exc)
            self.abort()
            return
        for cmd in commands:
            if cmd.is_response:
                future = self._pending.pop(cmd.opaque, None)
                if future is not None and not future.done():
                    future.set_result(cmd)
            else:
                cmd.received_at = now
                self._backlog.append(cmd)
        self._drain_backlog()

    def _drain_backlog(self) -> None:
        backlog = self._backlog
        while backlog and len(self._tasks) < self._max_in_flight:
            self._handle_request(backlog.popleft())
        self._update_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._decoder.buffered:
            log.warning(
                "connection closed mid-frame peer=%s buffered=%d", self.peer, self._decoder.buffered
            )
        self._backlog.clear()
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ConnectionClosedError(self.peer))
        if not self._closed.done():
            self._closed.set_result(None)
        if self._on_close is not None:
            self._on_close(self)

    def pause_writing(self) -> None:
        # The peer reads slower than we answer: stop taking its requests until it catches up.
        self._writing_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._update_reading()

    # requests from the peer

    def _handle_request(self, request: RemotingCommand) -> None:
        if self._dispatcher is None:
            self._reply(
                request,
                request.answer(
                    ResponseCode.REQUEST_CODE_NOT_SUPPORTED,
                    f" request type {request.code} not supported",
                ),
            )
            return
        result = self._dispatcher.dispatch(self, request)
        if result is None or isinstance(result, RemotingCommand):
            self._reply(request, result)
            return
        task = asyncio.ensure_future(self._finish(request, result))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    async def _finish(
        self, request: RemotingCommand, pending: Awaitable[RemotingCommand | None]
    ) -> None:
        try:
            response = await pending
        except RequestError as exc:
            response = request.answer(exc.code, exc.remark)
        except Exception as exc:
            log.exception("request failed code=%d peer=%s", request.code, self.peer)
            response = request.answer(ResponseCode.SYSTEM_ERROR, f"{type(exc).__name__}: {exc}")
        self._reply(request, response)

    def _task_done(self, task: "asyncio.Task[None]") -> None:
        self._tasks.discard(task)
        self._drain_backlog()

    def _reply(self, request: RemotingCommand, response: RemotingCommand | None) -> None:
        if response is None or request.is_oneway:
            return
        self.send(response)

    def _update_reading(self) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        busy = (
            self._writing_paused or bool(self._backlog) or len(self._tasks) >= self._max_in_flight
        )
        if busy and not self._reading_paused:
            self._reading_paused = True
            transport.pause_reading()
        elif not busy and self._reading_paused and len(self._tasks) <= self._max_in_flight // 2:
            self._reading_paused = False
            transport.resume_reading()

    # our requests to the peer

    @property
    def is_closed(self) -> bool:
        return self._transport is None or self._transport.is_closing()

    def send(self, cmd: RemotingCommand) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        self._out.append(encode(cmd))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush_out)

    def _flush_out(self) -> None:
        self._flush_scheduled = False
        out = self._out
        if not out:
            return
        self._out = []
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.write(out[0] if len(out) == 1 else b"".join(out))

    async def request(self, cmd: RemotingCommand, timeout: float) -> RemotingCommand:
        if self.is_closed:
            raise ConnectionClosedError(self.peer)
        future: asyncio.Future[RemotingCommand] = asyncio.get_running_loop().create_future()
        self._pending[cmd.opaque] = future
        self.send(cmd)
        try:
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise RemotingTimeoutError(self.peer, timeout, cmd.code) from None
        finally:
            self._pending.pop(cmd.opaque, None)

    def oneway(self, cmd: RemotingCommand) -> None:
        if self.is_closed:
            raise ConnectionClosedError(self.peer)
        self.send(cmd)

    def close(self) -> None:
        if self._transport is not None:
            self._flush_out()
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)
