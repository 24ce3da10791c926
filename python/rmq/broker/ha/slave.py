"""The slave's side of replication (Java: ``HAService.HAClient``): connect to the master's HA
port, report the local max commitlog offset, append what the master streams at exactly that
offset, acknowledge, and reconnect after any break from wherever the local log ends."""

import asyncio
import contextlib
import logging
import time
from typing import Final

from rmq.broker.ha.wire import REPORT, TRANSFER_HEADER
from rmq.config.store import MessageStoreConfig
from rmq.store.errors import StoreError
from rmq.store.store import MessageStore

log = logging.getLogger(__name__)

#: Java waits 5 s between connection attempts; a second keeps failover drills short and
#: costs one refused connect a second while the master is down.
RECONNECT_SECONDS: Final = 1.0
CONNECT_TIMEOUT: Final = 3.0
#: Above this a body is appended on a worker thread so the loop keeps serving requests.
INLINE_APPEND_MAX: Final = 256 * 1024


class HASlave:
    def __init__(self, store: MessageStore, config: MessageStoreConfig) -> None:
        self._store = store
        self._config = config
        self.master_addr: str | None = config.ha_master_address or None
        #: haMasterAddress fixes the master; otherwise the NameServer's answer to each
        #: registration names it (Java: updateMasterHAServerAddrPeriodically).
        self.follows_namesrv = self.master_addr is None
        self.connected = False
        self.master_offset = 0
        self._task: asyncio.Task[None] | None = None
        self._session: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    def update_master(self, addr: str) -> None:
        if addr == self.master_addr:
            return
        log.info("HA: master address %s -> %s", self.master_addr, addr)
        self.master_addr = addr
        self._changed.set()
        if self._session is not None:
            self._session.cancel()

    @property
    def fall_behind(self) -> int:
        return max(0, self.master_offset - self._store.commitlog_offsets()[1])

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ha-slave")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            addr = self.master_addr
            if not addr:
                self._changed.clear()
                await self._changed.wait()
                continue
            self._session = asyncio.create_task(self._follow(addr), name="ha-slave-session")
            try:
                await self._session
            except asyncio.CancelledError:
                if self._task is None or self._task.cancelling():
                    raise
            self._session = None
            self.connected = False
            if self.master_addr == addr:
                await asyncio.sleep(RECONNECT_SECONDS)

    async def _follow(self, addr: str) -> None:
        host, _, port = addr.rpartition(":")
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                reader, writer = await asyncio.open_connection(host.strip("[]"), int(port))
        except (OSError, TimeoutError, ValueError) as exc:
            log.debug("HA: cannot connect to master %s: %s", addr, exc)
            return
        self.connected = True
        log.info("HA: connected to master %s, local log ends at %d", addr,
                 self._store.commitlog_offsets()[1])  # fmt: skip
        heartbeat = asyncio.create_task(self._report_periodically(writer))
        try:
            await self._receive(addr, reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
            log.warning("HA: connection to master %s lost: %r", addr, exc)
        except Exception:
            log.exception("HA: replication from master %s failed", addr)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                await heartbeat
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _report_periodically(self, writer: asyncio.StreamWriter) -> None:
        interval = self._config.ha_send_heartbeat_interval / 1000
        while True:
            writer.write(REPORT.pack(self._store.commitlog_offsets()[1]))
            await writer.drain()
            await asyncio.sleep(interval)

    async def _receive(
        self, addr: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        housekeeping = self._config.ha_housekeeping_interval / 1000
        store = self._store
        last_read = time.monotonic()
        while True:
            try:
                async with asyncio.timeout(housekeeping):
                    header = await reader.readexactly(TRANSFER_HEADER.size)
                    master_offset, size = TRANSFER_HEADER.unpack(header)
                    body = await reader.readexactly(size) if size > 0 else b""
            except TimeoutError:
                log.warning("HA housekeeping: master %s sent nothing for %.0f s, reconnecting",
                            addr, time.monotonic() - last_read)  # fmt: skip
                return
            last_read = time.monotonic()
            self.master_offset = master_offset + size
            local = store.commitlog_offsets()[1]
            if local != 0 and local != master_offset:
                log.error(
                    "HA: master %s sent bytes for commitlog offset %d but this slave's log "
                    "ends at %d: refusing them (the logs have diverged); reconnecting",
                    addr, master_offset, local,
                )  # fmt: skip
                return
            if not body:
                continue
            try:
                if size <= INLINE_APPEND_MAX:
                    end = store.append_replicated(master_offset, body)
                else:
                    end = await asyncio.to_thread(store.append_replicated, master_offset, body)
            except StoreError as exc:
                log.error("HA: cannot append %d replicated bytes at %d: %s", size,
                          master_offset, exc)  # fmt: skip
                return
            writer.write(REPORT.pack(end))
