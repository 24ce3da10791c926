"""The broker's view of the engine: typed results and awaitable durability."""

import asyncio
import os
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple, Protocol

from rmq._store import SqlFilter, Store
from rmq.common.batch import BatchDecodeError
from rmq.config.store import FlushDiskType, MessageStoreConfig
from rmq.store.progress import ProgressWatcher
from rmq.store.put_group import PutGroup
from rmq.store.results import GetResult, GetStatus, PutResult, PutStatus
from rmq.store.retention import (
    DISK_FORCE_CLEAN_RATIO,
    DISK_WARNING_RATIO,
    MAX_FILES_PER_PASS,
    CleanReport,
    RetentionPolicy,
    now_ms,
)


class MessageInput(NamedTuple):
    """A message as the broker hands it to the store (fields of Java's MessageExtBrokerInner).

    A tuple in the engine's field order, so a batch crosses into Rust with no conversion."""

    topic: str
    queue_id: int
    body: bytes
    properties: bytes = b""
    flag: int = 0
    sys_flag: int = 0
    born_timestamp: int = 0
    born_host: bytes = bytes(8)
    store_host: bytes = bytes(8)
    reconsume_times: int = 0
    prepared_transaction_offset: int = 0


class BatchInput(NamedTuple):
    """A SEND_BATCH_MESSAGE body with what its messages share; the engine splits it, so a
    batch crosses into Rust as one object instead of a tuple per message."""

    body: bytes
    topic: str
    queue_id: int
    sys_flag: int
    born_timestamp: int
    born_host: bytes
    store_host: bytes
    reconsume_times: int
    #: the request's property string: each element gets the pairs it lacks
    shared_properties: bytes
    #: stored as every message's CLUSTER property
    cluster: str


_PUT_STATUSES = tuple(PutStatus)
_new = tuple.__new__


class ReplicaGate(Protocol):
    """What a SYNC_MASTER put waits on (the broker's HA service), or a DLedger leader's put
    (the group member)."""

    @property
    def not_available(self) -> PutStatus:
        """The status of a put when :meth:`slave_ok` says no."""
        ...

    @property
    def timed_out(self) -> PutStatus:
        """The status of a put whose wait timed out."""
        ...

    def slave_ok(self, master_put_where: int) -> bool:
        """A slave is connected and no further behind than haSlaveFallbehindMax."""
        ...

    async def wait_acked(self, offset: int, timeout: float) -> bool:
        """True once a slave acknowledged everything below ``offset``."""
        ...


class Replicator(Protocol):
    """A DLedger member: every commitlog write of its leader is proposed to the group."""

    @property
    def writable(self) -> bool: ...

    def appended(self, start: int, end: int) -> None: ...


_REFUSED = PutResult(PutStatus.SERVICE_NOT_AVAILABLE, 0, 0, 0, 0)
_RawPut = tuple[int, int, int, int, int]


def _count(messages: Sequence[MessageInput] | BatchInput) -> int:
    # A refused batch is answered from its first result; its elements are never counted.
    return 1 if isinstance(messages, BatchInput) else len(messages)


class MessageStore:
    """Open with :meth:`open` inside a running loop; close with :meth:`close`."""

    def __init__(
        self,
        engine: Store,
        *,
        sync_flush: bool,
        sync_flush_timeout: float,
        retention: RetentionPolicy | None = None,
    ) -> None:
        self._engine = engine
        self._sync_flush = sync_flush
        self._flush_timeout = sync_flush_timeout
        self.retention = retention or RetentionPolicy.from_config(MessageStoreConfig())
        self.progress = ProgressWatcher(engine)
        #: Set on a SYNC_MASTER: puts are acknowledged once a slave has them too.
        self.replica: ReplicaGate | None = None
        #: Set on a SLAVE: only replication writes; puts answer SERVICE_NOT_AVAILABLE.
        self.read_only = False
        #: Set in DLedger mode: puts are taken only by the group's writable leader.
        self.replicator: Replicator | None = None
        self._group: PutGroup[MessageInput, PutResult] = PutGroup(
            self._put_grouped, self._settle, lambda: self._engine.progress()[0]
        )

    @classmethod
    async def open(cls, config: MessageStoreConfig) -> "MessageStore":
        # Recovery may read and rewrite whole segments: keep it off the event loop.
        engine = await asyncio.to_thread(open_engine, config)
        sync = config.flush_disk_type is FlushDiskType.SYNC_FLUSH
        store = cls(
            engine,
            sync_flush=sync,
            sync_flush_timeout=config.sync_flush_timeout / 1000,
            retention=RetentionPolicy.from_config(config),
        )
        store.progress.start()
        return store

    @property
    def waits_for_ack(self) -> bool:
        """True under SYNC_FLUSH or on a SYNC_MASTER: a put is acknowledged only once it is
        on disk, or on a slave."""
        return self._sync_flush or self.replica is not None

    def put_nowait(self, messages: Sequence[MessageInput] | BatchInput) -> list[PutResult]:
        """Append messages without waiting for the disk or a slave. A :class:`BatchInput`
        whose body is malformed raises :class:`BatchDecodeError` and stores nothing."""
        if self._group.pending:
            self._group.append_now()
        if self.read_only:
            return [_REFUSED] * _count(messages)
        statuses = _PUT_STATUSES
        replicator = self.replicator
        if replicator is None:
            raw = self._append(messages)
        elif not replicator.writable:
            return [_REFUSED] * _count(messages)
        else:
            start = self._engine.commitlog_offsets()[1]
            raw = self._append(messages)
            end = self._engine.commitlog_offsets()[1]
            if end > start:
                replicator.appended(start, end)
        # tuple.__new__ skips the NamedTuple's Python-level constructor, per message.
        return [_new(PutResult, (statuses[s], p, q, n, t)) for s, p, q, n, t in raw]

    def _put_grouped(self, messages: list[MessageInput] | BatchInput) -> list[PutResult]:
        # Called with the group already taken, so put_nowait appends at once.
        results = self.put_nowait(messages)
        if self._sync_flush:
            # Every one of them is about to wait for this flush.
            self.progress.ask_flush()
        return results

    def _append(self, messages: Sequence[MessageInput] | BatchInput) -> list[_RawPut]:
        if isinstance(messages, BatchInput):
            try:
                raw = self._engine.put_batch(*messages)
            except ValueError as exc:
                raise BatchDecodeError(str(exc)) from None
        else:
            raw = self._engine.put(messages)
        # The engine does not write its wake-up fd for a put made from here.
        self.progress.poke()
        return raw

    async def put(
        self, messages: Sequence[MessageInput] | BatchInput, *, wait: bool = True
    ) -> list[PutResult]:
        """Append a batch; with ``wait``, return once it is on disk (SYNC_FLUSH) and on a
        slave (SYNC_MASTER). A guarantee that fails turns PUT_OK into FLUSH_DISK_TIMEOUT,
        FLUSH_SLAVE_TIMEOUT or SLAVE_NOT_AVAILABLE; the message is stored either way.

        Waiting puts of one loop iteration are appended together (:mod:`.put_group`)."""
        if not wait or not self.waits_for_ack:
            return self.put_nowait(messages)
        if isinstance(messages, BatchInput):
            # A SEND_BATCH body is its own group: appended at once, one flush asked for it.
            return await self._settle(self._put_grouped(messages))
        return await self._group.put(messages)

    async def _settle(self, results: list[PutResult]) -> list[PutResult]:
        """``results`` once their messages are on disk (SYNC_FLUSH) and on a slave
        (SYNC_MASTER), or with the status of the guarantee that failed."""
        end = 0
        # Results are in file order: the last stored message ends furthest.
        for r in reversed(results):
            if r.status is PutStatus.PUT_OK:
                end = r.next_offset
                break
        else:
            return results
        failed: PutStatus | None = None
        if self._sync_flush and not await self.progress.wait_flushed(end, self._flush_timeout):
            failed = PutStatus.FLUSH_DISK_TIMEOUT
        replica = self.replica
        if replica is not None:
            # Java checks the slave after the disk and lets its verdict stand over the disk's.
            if not replica.slave_ok(end):
                failed = replica.not_available
            elif not await replica.wait_acked(end, self._flush_timeout):
                failed = replica.timed_out
        if failed is None:
            return results
        return [r.with_status(failed) if r.status is PutStatus.PUT_OK else r for r in results]

    def get(
        self,
        topic: str,
        queue_id: int,
        offset: int,
        max_count: int,
        max_bytes: int = 256 * 1024,
        tags: set[int] | None = None,
    ) -> GetResult:
        status, next_begin, lo, hi, buffer, count = self._engine.get(
            topic, queue_id, offset, max_count, max_bytes, tags
        )
        return GetResult(GetStatus(status), next_begin, lo, hi, buffer, count)

    def get_matching(
        self,
        topic: str,
        queue_id: int,
        offset: int,
        max_count: int,
        max_bytes: int,
        selector: SqlFilter,
    ) -> GetResult:
        """As :meth:`get`, keeping what a SQL92 selector accepts (Java:
        ``ExpressionMessageFilter.isMatchedByCommitLog``). At most Java's 800 queue units are
        scanned per call; a scan that skips messages but finds none answers
        NO_MATCHED_MESSAGE with the offset past what it read, so the consumer moves on."""
        status, next_begin, lo, hi, buffer, count = self._engine.get_filtered(
            topic, queue_id, offset, max_count, max_bytes, selector
        )
        return GetResult(GetStatus(status), next_begin, lo, hi, buffer, count)

    def read_record(self, phy_offset: int) -> bytes | None:
        return self._engine.read_record(phy_offset)

    def query_by_key(
        self, topic: str, key: str, max_count: int, begin: int = 0, end: int = 2**63 - 1
    ) -> list[bytes]:
        """Records whose KEYS or UNIQ_KEY is ``key``, stored in ``[begin, end]`` ms."""
        return self._engine.query_by_key(topic, key, max_count, begin, end)

    def search_offset(self, topic: str, queue_id: int, timestamp: int) -> int:
        return self._engine.search_offset(topic, queue_id, timestamp)

    def earliest_store_time(self, topic: str, queue_id: int) -> int | None:
        return self._engine.earliest_store_time(topic, queue_id)

    def read_commitlog(self, offset: int, max_bytes: int) -> bytes:
        """Raw bytes from ``offset`` (what a master streams to its slave)."""
        return self._engine.read_commitlog(offset, max_bytes)

    def append_replicated(self, offset: int, data: bytes) -> int:
        """Append a master's bytes at exactly ``offset``; returns the new end of the log."""
        return self._engine.append_replicated(offset, data)

    def truncate_commitlog(self, offset: int) -> None:
        self._engine.truncate_commitlog(offset)

    def set_dispatch_limit(self, limit: int | None) -> int:
        """Make only records below ``limit`` readable (a DLedger member: what the group
        committed); returns the dispatched offset."""
        return self._engine.set_dispatch_limit(limit)

    def queue_offsets(self, topic: str, queue_id: int) -> tuple[int, int] | None:
        return self._engine.queue_offsets(topic, queue_id)

    def take_moved_queues(self) -> list[tuple[str, int, int]]:
        """``(topic, queue id, max offset)`` of every queue that got messages since the
        last call, each once, however they came (a put, replication, a DLedger commit)."""
        return self._engine.take_moved_queues()

    def queue_units(
        self, topic: str, queue_id: int, index: int, count: int
    ) -> list[tuple[int, int, int]] | None:
        """``(commitlog offset, size, tags code)`` of up to ``count`` consume queue units
        from ``index``; None for a queue this store does not have."""
        return self._engine.queue_units(topic, queue_id, index, count)

    def commitlog_offsets(self) -> tuple[int, int]:
        return self._engine.commitlog_offsets()

    async def clean(self, *, manual: bool = False, now: datetime | None = None) -> CleanReport:
        """One retention and disk-guard pass (the broker runs it every cleanResourceInterval;
        DELETE_EXPIRED_COMMITLOG runs it with ``manual``). While the disk is over 90 % used,
        puts answer SERVICE_NOT_AVAILABLE until a pass sees room again."""
        policy = self.retention
        stamp = now_ms() if now is None else int(now.timestamp() * 1000)
        raw = await asyncio.to_thread(
            self._engine.clean,
            now_ms=stamp,
            reserved_ms=policy.reserved_ms,
            in_window=policy.in_window(now),
            manual=manual,
            disk_max_used_ratio=policy.disk_max_used_ratio,
            force_ratio=DISK_FORCE_CLEAN_RATIO,
            clean_forcibly=policy.clean_forcibly,
            warning_ratio=DISK_WARNING_RATIO,
            max_files=MAX_FILES_PER_PASS,
        )
        return CleanReport(*raw)

    async def close(self) -> None:
        self._group.cancel()
        self.progress.stop()
        await asyncio.to_thread(self._engine.close)


def open_engine(config: MessageStoreConfig) -> Store:
    """Open (and recover) the engine for ``config``; blocks on the disk."""
    return Store(
        os.path.expanduser(config.store_path_root_dir),
        commitlog_dir=_path(config.store_path_commit_log),
        consume_queue_dir=_path(config.store_path_consume_queue),
        commitlog_segment_size=config.mapped_file_size_commit_log,
        consume_queue_segment_size=config.mapped_file_size_consume_queue,
        max_message_size=config.max_message_size,
        sync_flush=config.flush_disk_type is FlushDiskType.SYNC_FLUSH,
        flush_interval_ms=config.flush_interval_commit_log,
        flush_least_pages=config.flush_commit_log_least_pages,
        flush_thorough_interval_ms=config.flush_commit_log_thorough_interval,
        flush_consume_queue_interval_ms=config.flush_interval_consume_queue,
        message_index_enable=config.message_index_enable,
        max_hash_slot_num=config.max_hash_slot_num,
        max_index_num=config.max_index_num,
    )


def _path(value: str | None) -> str | None:
    # An empty value (``storePathCommitLog=`` in a file) means the default under the root.
    return os.path.expanduser(value) if value else None
