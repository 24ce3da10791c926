"""Carrying Raft messages between the members of a DLedger group over the dLegerPeers
ports: one listening socket per member, one outgoing connection per peer.

A frame is a 4-byte big-endian length and an encoded ``eraftpb.Message`` (it names its own
sender). Delivery is best effort, as Raft expects: a message for a peer that is not
connected, or whose connection is backed up, is dropped and Raft sends it again."""

import asyncio
import contextlib
import logging
import struct
from collections.abc import Callable
from typing import Final

log = logging.getLogger(__name__)

_LEN: Final = struct.Struct(">I")
#: Larger than any append the Raft core builds (4 MiB per message plus headers).
MAX_FRAME: Final = 16 * 1024 * 1024
#: Bytes queued on one connection before further messages to that peer are dropped.
MAX_BACKLOG: Final = 32 * 1024 * 1024
CONNECT_TIMEOUT: Final = 1.0
RETRY_SECONDS: Final = 0.2


class _Link:
    """The outgoing connection to one peer, redialled on demand."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._writer: asyncio.StreamWriter | None = None
        self._dialing: asyncio.Task[None] | None = None
        self._next_dial = 0.0

    def send(self, payload: bytes) -> None:
        writer = self._writer
        if writer is None or writer.is_closing():
            self._writer = None
            self._dial()
            return
        if writer.transport.get_write_buffer_size() > MAX_BACKLOG:
            return
        writer.write(_LEN.pack(len(payload)) + payload)

    def _dial(self) -> None:
        loop = asyncio.get_running_loop()
        if self._dialing is not None or loop.time() < self._next_dial:
            return
        self._next_dial = loop.time() + RETRY_SECONDS
        self._dialing = asyncio.create_task(self._connect(), name=f"dledger-dial-{self.port}")

    async def _connect(self) -> None:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                reader, writer = await asyncio.open_connection(self.host, self.port)
        except (OSError, TimeoutError):
            return
        finally:
            self._dialing = None
        self._writer = writer
        # Peers never write back on this connection: EOF means it is gone.
        with contextlib.suppress(OSError):
            await reader.read()
        writer.close()
        if self._writer is writer:
            self._writer = None

    def close(self) -> None:
        if self._dialing is not None:
            self._dialing.cancel()
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class PeerLinks:
    def __init__(
        self,
        bind: tuple[str, int],
        peers: dict[int, tuple[str, int]],
        on_message: Callable[[bytes], None],
    ) -> None:
        self._bind = bind
        self._links = {pid: _Link(host, port) for pid, (host, port) in peers.items()}
        self._on_message = on_message
        self._server: asyncio.Server | None = None
        self._inbound: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        host, port = self._bind
        self._server = await asyncio.start_server(self._serve, host, port)

    def send(self, to: int, payload: bytes) -> None:
        link = self._links.get(to)
        if link is not None:
            link.send(payload)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._inbound.add(writer)
        try:
            while True:
                (size,) = _LEN.unpack(await reader.readexactly(4))
                if size > MAX_FRAME:
                    log.warning("dledger: dropping a peer connection that sent a %d-byte frame",
                                size)  # fmt: skip
                    return
                self._on_message(await reader.readexactly(size))
        except (asyncio.IncompleteReadError, OSError):
            return
        finally:
            writer.close()
            self._inbound.discard(writer)

    async def stop(self) -> None:
        for link in self._links.values():
            link.close()
        if self._server is not None:
            self._server.close()
        # Closing the sockets ends each reader with an incomplete read, not a cancellation.
        for writer in list(self._inbound):
            writer.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
