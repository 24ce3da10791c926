"""The master's side of replication (Java: ``HAService``, ``HAConnection``): it listens on
haListenPort, streams commitlog bytes to every slave from the offset the slave asks for, and
counts the slaves' acknowledgements so that a SYNC_MASTER put can wait for them."""

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from rmq.broker.ha.wire import REPORT, TRANSFER_HEADER
from rmq.common import fastjson
from rmq.common.atomic_file import write_atomically
from rmq.config.store import MessageStoreConfig
from rmq.store.offset_waiters import OffsetWaiters
from rmq.store.results import PutStatus
from rmq.store.store import MessageStore

log = logging.getLogger(__name__)

CATCH_UP_BATCH: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class SlaveStatus:
    """One connected slave as the runtime info shows it."""

    addr: str
    acked_offset: int
    lag_bytes: int


class HAMaster:
    #: Java's answers when no slave is in reach, or none acknowledged in time.
    not_available: Final = PutStatus.SLAVE_NOT_AVAILABLE
    timed_out: Final = PutStatus.FLUSH_SLAVE_TIMEOUT

    def __init__(self, store: MessageStore, config: MessageStoreConfig,
                 diverged_file: Path | None = None) -> None:  # fmt: skip
        self._store = store
        self._config = config
        self._server: asyncio.Server | None = None
        self._connections: set[SlaveConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        #: Java's push2SlaveMaxOffset: the highest offset any slave acknowledged.
        self.push2slave_max = 0
        self._waiters = OffsetWaiters()
        # Offsets that slaves asked for while beyond this master's log: their logs hold
        # messages this master lost, and bytes appended there later would interleave two
        # histories, so such a slave stays refused, across restarts of this master too.
        self._diverged_file = diverged_file
        self.diverged: set[int] = self._load_diverged()

    def _load_diverged(self) -> set[int]:
        if self._diverged_file is None or not self._diverged_file.exists():
            return set()
        try:
            return {int(o) for o in fastjson.loads(self._diverged_file.read_bytes())}
        except (ValueError, TypeError) as exc:
            log.error("HA: %s is unreadable (%s); starting without its refusals",
                      self._diverged_file, exc)  # fmt: skip
            return set()

    def refuse(self, offset: int) -> None:
        """Remember a diverged slave's offset (on disk when this master has a file)."""
        if offset in self.diverged:
            return
        self.diverged.add(offset)
        if self._diverged_file is not None:
            self._diverged_file.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self._diverged_file, fastjson.dumps(sorted(self.diverged)))

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._accept, host, port)
        self._store.progress.on_dispatched(self._on_progress)
        log.info("HA service listening on %s:%d", host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self._connections):
            conn.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        self._waiters.cancel_all()

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    def slave_ok(self, master_put_where: int) -> bool:
        """Java ``isSlaveOK``: a slave is connected and the acknowledged offset trails the
        master by less than haSlaveFallbehindMax."""
        return (
            bool(self._connections)
            and master_put_where - self.push2slave_max < self._config.ha_slave_fallbehind_max
        )

    async def wait_acked(self, offset: int, timeout: float) -> bool:
        if self.push2slave_max >= offset:
            return True
        # The put that is waiting has just written: start streaming it without waiting for
        # the engine's wake-up to come round the loop.
        return await self._waiters.wait(offset, timeout, self._wake_all)

    def slaves(self) -> list[SlaveStatus]:
        written = self._store.commitlog_offsets()[1]
        return sorted(
            (
                SlaveStatus(c.addr, c.acked_offset, max(0, written - c.acked_offset))
                for c in self._connections
            ),
            key=lambda s: s.addr,
        )

    def acked(self, offset: int) -> None:
        if offset <= self.push2slave_max:
            return
        self.push2slave_max = offset
        self._waiters.release(offset)

    def _on_progress(self, _dispatched: int) -> None:
        self._wake_all()

    def _wake_all(self) -> None:
        for conn in self._connections:
            conn.wake.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = SlaveConnection(self, self._store, self._config, reader, writer)
        self._connections.add(conn)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        log.info("HA: slave %s connected", conn.addr)
        try:
            await conn.run()
        except asyncio.CancelledError:
            # Stopping: the stream machinery that started this task would log the
            # cancellation as an error if it escaped.
            pass
        except Exception:
            log.exception("HA: replication to slave %s failed", conn.addr)
        finally:
            self._connections.discard(conn)
            self._tasks.discard(task)
            log.info("HA: slave %s disconnected", conn.addr)


class SlaveConnection:
    def __init__(
        self,
        master: HAMaster,
        store: MessageStore,
        config: MessageStoreConfig,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self._master = master
        self._store = store
        self._config = config
        self._reader = reader
        self._writer = writer
        peer = writer.get_extra_info("peername")
        self.addr = f"{peer[0]}:{peer[1]}" if peer else "?"
        self.request_offset = -1
        self.acked_offset = 0
        self.wake = asyncio.Event()
        self._requested = asyncio.Event()

    def close(self) -> None:
        self._writer.close()

    async def run(self) -> None:
        tasks = [
            asyncio.create_task(self._read_reports(), name=f"ha-read-{self.addr}"),
            asyncio.create_task(self._transfer(), name=f"ha-write-{self.addr}"),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                    await task
                    if task.done() and not task.cancelled() and task.exception() is not None:
                        log.error("HA: %s ended: %r", task.get_name(), task.exception())
            self._writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()

    async def _read_reports(self) -> None:
        housekeeping = self._config.ha_housekeeping_interval / 1000
        while True:
            try:
                async with asyncio.timeout(housekeeping):
                    raw = await self._reader.readexactly(REPORT.size)
            except TimeoutError:
                log.warning("HA housekeeping: slave %s sent nothing for %.0f s, closing",
                            self.addr, housekeeping)  # fmt: skip
                return
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                return
            (offset,) = REPORT.unpack(raw)
            max_offset = self._store.commitlog_offsets()[1]
            if self.request_offset < 0:
                if offset > max_offset or offset in self._master.diverged:
                    self._master.refuse(offset)
                    log.error(
                        "HA: slave %s asks for commitlog offset %d but this master's log ends "
                        "at %d: the slave holds messages this master does not (its log has "
                        "diverged); not replicating to it. Rebuild the slave's store from this "
                        "master, or restore the master's lost data",
                        self.addr, offset, max_offset,
                    )  # fmt: skip
                    return
                self.request_offset = offset
                self._requested.set()
                log.info("HA: slave %s requests offset %d", self.addr, offset)
            elif offset > max_offset:
                log.warning("HA: slave %s acknowledged offset %d beyond this master's log "
                            "end %d, closing", self.addr, offset, max_offset)  # fmt: skip
                return
            self.acked_offset = offset
            self._master.acked(offset)

    def _start_offset(self) -> int:
        if self.request_offset > 0:
            return self.request_offset
        # A new slave starts at the master's newest segment, as Java does: older data
        # stays readable on the master only.
        written = self._store.commitlog_offsets()[1]
        return written - written % self._config.mapped_file_size_commit_log

    async def _transfer(self) -> None:
        await self._requested.wait()
        position = self._start_offset()
        log.info("HA: transferring to slave %s from offset %d", self.addr, position)
        batch = self._config.ha_transfer_batch_size
        heartbeat = self._config.ha_send_heartbeat_interval / 1000
        writer = self._writer
        last_write = time.monotonic()
        while True:
            self.wake.clear()
            low, high = self._store.commitlog_offsets()
            if position < low and high > low:
                log.error(
                    "HA: slave %s needs commitlog offset %d but this master's log now starts "
                    "at %d (older segments were deleted); the slave cannot catch up. Rebuild "
                    "its store from this master", self.addr, position, low,
                )  # fmt: skip
                return
            # haTransferBatchSize paces a slave that keeps up; one far behind gets larger
            # frames, still well inside the 4 MiB a Java slave buffers.
            size = batch if high - position <= batch else max(batch, CATCH_UP_BATCH)
            data = self._store.read_commitlog(position, size) if position < high else b""
            if data:
                writer.write(TRANSFER_HEADER.pack(position, len(data)))
                writer.write(data)
                position += len(data)
                last_write = time.monotonic()
                await writer.drain()
                continue
            idle = time.monotonic() - last_write
            if idle >= heartbeat:
                writer.write(TRANSFER_HEADER.pack(position, 0))
                last_write = time.monotonic()
                await writer.drain()
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(heartbeat - idle):
                    await self.wake.wait()
