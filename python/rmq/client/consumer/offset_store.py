"""Where a consumer keeps its progress (Java: ``OffsetStore``): on the brokers for
clustering groups, in a local file for broadcasting ones (each member reads everything,
so each keeps its own), laid out as Java's ``offsets.json`` so either client can resume
the other's file."""

import enum
import logging
import os
from pathlib import Path
from typing import Final, Protocol

from rmq.client.errors import BrokerError, ClientError
from rmq.client.instance import ClientInstance
from rmq.client.message import MessageQueue
from rmq.common import fastjson
from rmq.common.atomic_file import write_atomically
from rmq.remoting.errors import RemotingError

log = logging.getLogger(__name__)

#: Java's system property for the local store's root, default ~/.rocketmq_offsets.
LOCAL_OFFSET_DIR_ENV: Final = "ROCKETMQ_CLIENT_LOCAL_OFFSET_STORE_DIR"


class ReadOffsetType(enum.Enum):
    MEMORY = "READ_FROM_MEMORY"
    STORE = "READ_FROM_STORE"
    MEMORY_FIRST_THEN_STORE = "MEMORY_FIRST_THEN_STORE"


class OffsetStore(Protocol):
    table: dict[MessageQueue, int]

    def load(self) -> None: ...

    def update(self, mq: MessageQueue, offset: int, increase_only: bool) -> None: ...

    async def read(self, mq: MessageQueue, how: ReadOffsetType) -> int: ...

    async def persist_all(self, queues: set[MessageQueue], oneway: bool = True) -> None: ...

    async def persist(self, mq: MessageQueue) -> None: ...

    def remove(self, mq: MessageQueue) -> None: ...

    async def update_to_broker(self, mq: MessageQueue, offset: int, oneway: bool = True
                               ) -> None: ...  # fmt: skip


def _update(table: dict[MessageQueue, int], mq: MessageQueue, offset: int,
            increase_only: bool) -> None:  # fmt: skip
    old = table.get(mq)
    if old is None or not increase_only or offset > old:
        table[mq] = offset


class RemoteOffsetStore:
    """Offsets held in memory, committed to the queue's broker every persist interval and
    on pulls; -1 read from a broker means the group has no offset there yet."""

    def __init__(self, instance: ClientInstance, group: str) -> None:
        self.instance = instance
        self.group = group
        self.table: dict[MessageQueue, int] = {}

    def load(self) -> None:
        return None

    def update(self, mq: MessageQueue, offset: int, increase_only: bool) -> None:
        _update(self.table, mq, offset, increase_only)

    async def read(self, mq: MessageQueue, how: ReadOffsetType) -> int:
        if how is not ReadOffsetType.STORE:
            offset = self.table.get(mq)
            if offset is not None or how is ReadOffsetType.MEMORY:
                return -1 if offset is None else offset
        try:
            offset = await self._fetch(mq)
        except BrokerError as exc:
            log.info("offset of %s not readable: %s", mq, exc)
            return -2
        except (RemotingError, ClientError) as exc:
            log.info("offset of %s not readable: %s", mq, exc)
            return -2
        if offset >= 0:
            self.update(mq, offset, False)
        return offset

    async def _addr(self, mq: MessageQueue) -> str:
        """The master; with it gone, a slave (Java falls back the same way, so offsets keep
        being read and committed while the master is down)."""
        addr = self.instance.master_addr(mq.broker_name)
        if addr is None:
            await self.instance.update_route(mq.topic)
            found = self.instance.subscribe_addr(mq.broker_name)
            addr = found[0] if found else None
        if addr is None:
            raise ClientError(f"The broker[{mq.broker_name}] not exist")
        return addr

    async def _fetch(self, mq: MessageQueue) -> int:
        return await self.instance.api.query_offset(await self._addr(mq), self.group, mq)

    async def update_to_broker(self, mq: MessageQueue, offset: int, oneway: bool = True) -> None:
        await self.instance.api.update_offset(await self._addr(mq), self.group, mq, offset,
                                              oneway=oneway)  # fmt: skip

    async def persist_all(self, queues: set[MessageQueue], oneway: bool = True) -> None:
        """``oneway=False`` waits for each broker's answer: at shutdown, so the next owner
        of a queue reads what was committed."""
        for mq, offset in list(self.table.items()):
            if mq in queues:
                try:
                    await self.update_to_broker(mq, offset, oneway)
                except (RemotingError, ClientError) as exc:
                    log.info("offset of %s not persisted: %s", mq, exc)
        for mq in [q for q in self.table if q not in queues]:
            del self.table[mq]

    async def persist(self, mq: MessageQueue) -> None:
        offset = self.table.get(mq)
        if offset is not None:
            try:
                await self.update_to_broker(mq, offset)
            except (RemotingError, ClientError) as exc:
                log.info("offset of %s not persisted: %s", mq, exc)

    def remove(self, mq: MessageQueue) -> None:
        self.table.pop(mq, None)


def local_offset_path(client_id: str, group: str) -> Path:
    root = os.environ.get(LOCAL_OFFSET_DIR_ENV) or str(Path.home() / ".rocketmq_offsets")
    return Path(root) / client_id / group / "offsets.json"


class LocalOffsetStore:
    """Java's file: ``{"offsetTable":{{"brokerName":..,"queueId":..,"topic":..}:offset}}``,
    written atomically with a ``.bak`` of the previous version."""

    def __init__(self, client_id: str, group: str) -> None:
        self.path = local_offset_path(client_id, group)
        self.table: dict[MessageQueue, int] = {}

    def _read(self, path: Path) -> dict[MessageQueue, int] | None:
        try:
            data = fastjson.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("offset file %s unreadable: %s", path, exc)
            return None
        out: dict[MessageQueue, int] = {}
        for key, value in (data.get("offsetTable") or {}).items():
            out[MessageQueue.from_key(key)] = int(value)
        return out

    def load(self) -> None:
        table = self._read(self.path)
        if table is None:
            table = self._read(self.path.with_name("offsets.json.bak"))
        self.table = table or {}

    def update(self, mq: MessageQueue, offset: int, increase_only: bool) -> None:
        _update(self.table, mq, offset, increase_only)

    async def read(self, mq: MessageQueue, how: ReadOffsetType) -> int:
        if how is not ReadOffsetType.STORE:
            offset = self.table.get(mq)
            if offset is not None or how is ReadOffsetType.MEMORY:
                return -1 if offset is None else offset
        table = self._read(self.path) or {}
        offset = table.get(mq, -1)
        if offset >= 0:
            self.update(mq, offset, False)
        return offset

    def _write(self, queues: set[MessageQueue] | None) -> None:
        entries = [(q.to_json(), o) for q, o in sorted(self.table.items())
                   if queues is None or q in queues]  # fmt: skip
        body = b'{"offsetTable":' + fastjson.dumps_object_keyed(entries) + b"}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            write_atomically(self.path.with_name("offsets.json.bak"), self.path.read_bytes())
        write_atomically(self.path, body)

    async def persist_all(self, queues: set[MessageQueue], oneway: bool = True) -> None:
        if queues:
            self._write(queues)

    async def persist(self, mq: MessageQueue) -> None:
        self._write(None)

    def remove(self, mq: MessageQueue) -> None:
        return None

    async def update_to_broker(self, mq: MessageQueue, offset: int, oneway: bool = True) -> None:
        self.update(mq, offset, False)
