"""The store facade over the real Rust engine on temp dirs: typed results, refusals,
durability through the wake-up fd, the lock."""

import asyncio
import itertools
from pathlib import Path

import pytest

from rmq import _store
from rmq.common.batch import BatchElement, encode_batch
from rmq.config.loader import ConfigInput
from rmq.config.store import MessageStoreConfig
from rmq.store.errors import StoreError, StoreLockedError, StoreOutOfOrderError
from rmq.store.results import GetStatus, PutStatus
from rmq.store.store import BatchInput, MessageInput, MessageStore


def settings(root: Path, **extra: str) -> MessageStoreConfig:
    values = {
        "storePathRootDir": str(root),
        "mappedFileSizeCommitLog": "65536",
        "mappedFileSizeConsumeQueue": "6000",
        "maxHashSlotNum": "1000",
        "maxIndexNum": "4000",
        **extra,
    }
    return ConfigInput(process_defaults=values).build(MessageStoreConfig)


def message(body: bytes = b"hello", topic: str = "TopicTest", queue_id: int = 0) -> MessageInput:
    return MessageInput(topic, queue_id, body, b"TAGS\x01TagA\x02KEYS\x01order-1")


def test_status_enums_match_the_engine() -> None:
    assert [s.name for s in PutStatus] == _store.PUT_STATUS_NAMES
    assert [s.name for s in GetStatus] == _store.GET_STATUS_NAMES


async def test_put_then_get_round_trip(tmp_path: Path) -> None:
    store = await MessageStore.open(settings(tmp_path))
    try:
        results = await store.put([message(b"a"), message(b"b"), message(b"c", queue_id=1)])
        assert [r.status for r in results] == [PutStatus.PUT_OK] * 3
        assert [r.queue_offset for r in results] == [0, 1, 0]
        assert results[1].phy_offset == results[0].next_offset
        got = store.get("TopicTest", 0, 0, 32)
        assert (got.status, got.count, got.next_begin_offset) == (GetStatus.FOUND, 2, 2)
        assert got.buffer.endswith(b"TAGS\x01TagA\x02KEYS\x01order-1")
        record = store.read_record(results[2].phy_offset)
        assert record is not None
        assert b"c\tTopicTest" in record
        assert store.queue_offsets("TopicTest", 0) == (0, 2)
        assert store.get("TopicTest", 0, 2, 32).status is GetStatus.OFFSET_OVERFLOW_ONE
        assert store.get("Nope", 0, 0, 32).status is GetStatus.NO_MATCHED_LOGIC_QUEUE
    finally:
        await store.close()


async def test_oversize_and_bad_messages_are_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    store = await MessageStore.open(settings(tmp_path, maxMessageSize="1024"))
    try:
        results = await store.put(
            [
                message(b"x" * 1025),
                message(topic="t" * 128),
                MessageInput("T", 0, b"", b"k\x01" + b"v" * 40000),
            ]
        )
        assert [r.status for r in results] == [
            PutStatus.MESSAGE_ILLEGAL,
            PutStatus.MESSAGE_ILLEGAL,
            PutStatus.PROPERTIES_SIZE_EXCEEDED,
        ]
        assert store.commitlog_offsets() == (0, 0)
        ok = await store.put([message(b"x" * 1024)])
        assert ok[0].status is PutStatus.PUT_OK
    finally:
        await store.close()


async def test_sync_flush_put_returns_once_flushed(tmp_path: Path) -> None:
    store = await MessageStore.open(settings(tmp_path, flushDiskType="SYNC_FLUSH"))
    try:
        results = await asyncio.gather(*(store.put([message(bytes([i]) * 100)]) for i in range(64)))
        assert all(r[0].status is PutStatus.PUT_OK for r in results)
        end = max(r[0].next_offset for r in results)
        written, flushed, _, poisoned = store._engine.progress()
        assert flushed >= end
        assert (written, poisoned) == (end, False)
        # Acknowledged is readable, whether or not the dispatch thread has run yet.
        assert store.get("TopicTest", 0, 0, 64).count == 64
        assert store._engine.progress()[2] == end
    finally:
        await store.close()


async def test_sync_flush_batch_bodies_return_once_flushed_in_order_with_single_puts(
    tmp_path: Path,
) -> None:
    store = await MessageStore.open(settings(tmp_path, flushDiskType="SYNC_FLUSH"))
    host = bytes(8)

    def body(n: int) -> BatchInput:
        elements = [BatchElement(0, b"b%d-%d" % (n, i), "") for i in range(8)]
        return BatchInput(encode_batch(elements), "TopicTest", 0, 0, 0, host, host, 0, b"", "c")

    try:
        puts = [
            store.put(body(n)) if n % 2 else store.put([message(b"s%d" % n)]) for n in range(20)
        ]
        results = [r for rs in await asyncio.gather(*puts) for r in rs]
        assert [r.status for r in results] == [PutStatus.PUT_OK] * (10 * 8 + 10)
        assert store._engine.progress()[1] >= max(r.next_offset for r in results)
        # Each put's messages are contiguous, in the order the puts were made.
        assert [r.queue_offset for r in results] == list(range(90))
    finally:
        await store.close()


async def test_sync_flush_puts_of_one_moment_are_stored_in_the_order_they_were_made(
    tmp_path: Path,
) -> None:
    store = await MessageStore.open(settings(tmp_path, flushDiskType="SYNC_FLUSH"))
    try:
        waiting = [asyncio.ensure_future(store.put([message(b"w%d" % i)])) for i in range(40)]
        await asyncio.sleep(0)  # each has made its put; the last few are still gathered
        # A put that does not wait, made after them, lands after them in the file.
        late = await store.put([message(b"late")], wait=False)
        results = [r for rs in await asyncio.gather(*waiting) for r in rs]
        assert [r.status for r in results] == [PutStatus.PUT_OK] * 40
        assert [r.queue_offset for r in results] == list(range(40))
        assert all(b.phy_offset == a.next_offset for a, b in itertools.pairwise(results))
        assert (late[0].queue_offset, late[0].phy_offset) == (40, results[-1].next_offset)
        got = store.get("TopicTest", 0, 0, 64)
        assert got.count == 41
        assert store._engine.progress()[1] >= results[-1].next_offset
    finally:
        await store.close()


async def test_a_malformed_message_fails_only_the_put_it_came_in(tmp_path: Path) -> None:
    store = await MessageStore.open(settings(tmp_path, flushDiskType="SYNC_FLUSH"))
    try:
        bad = MessageInput("TopicTest", 0, "not bytes")  # type: ignore[arg-type]
        outcomes = await asyncio.gather(
            store.put([message(b"before")]),
            store.put([bad]),
            store.put([message(b"after")]),
            return_exceptions=True,
        )
        assert isinstance(outcomes[1], TypeError)
        before, after = outcomes[0], outcomes[2]
        assert isinstance(before, list)
        assert isinstance(after, list)
        assert [before[0].queue_offset, after[0].queue_offset] == [0, 1]
        assert before[0].status is after[0].status is PutStatus.PUT_OK
        assert store.queue_offsets("TopicTest", 0) == (0, 2)
    finally:
        await store.close()


async def test_a_put_cut_short_by_close_is_stored_or_raises(tmp_path: Path) -> None:
    store = await MessageStore.open(settings(tmp_path, flushDiskType="SYNC_FLUSH"))
    pending = asyncio.ensure_future(store.put([message(b"at close")]))
    await asyncio.sleep(0)  # the put is made and gathered, not yet appended
    await store.close()
    try:
        outcome = await pending
    except asyncio.CancelledError:
        outcome = None
    reopened = await MessageStore.open(settings(tmp_path))
    try:
        # Gathered before the close, so appended by it: the message survives the reopen.
        assert reopened.queue_offsets("TopicTest", 0) == (0, 1)
        if outcome is not None:
            assert outcome[0].status is PutStatus.PUT_OK
    finally:
        await reopened.close()


async def test_dispatch_wakes_listeners_through_the_fd(tmp_path: Path) -> None:
    store = await MessageStore.open(settings(tmp_path))
    seen: asyncio.Queue[int] = asyncio.Queue()
    store.progress.on_dispatched(seen.put_nowait)
    try:
        result = (await store.put([message()]))[0]
        async with asyncio.timeout(5):
            while (offset := await seen.get()) < result.next_offset:
                pass
        assert offset == result.next_offset
    finally:
        await store.close()


async def test_second_open_of_a_root_names_the_holder(tmp_path: Path) -> None:
    store = await MessageStore.open(settings(tmp_path))
    try:
        with pytest.raises(StoreLockedError, match="held by pid"):
            await MessageStore.open(settings(tmp_path))
    finally:
        await store.close()


async def test_clean_close_then_reopen_keeps_offsets(tmp_path: Path) -> None:
    store = await MessageStore.open(settings(tmp_path))
    await store.put([message(bytes([i])) for i in range(10)])
    await store.close()
    assert not (tmp_path / "abort").exists()
    store = await MessageStore.open(settings(tmp_path))
    try:
        assert store.queue_offsets("TopicTest", 0) == (0, 10)
        nxt = await store.put([message()])
        assert nxt[0].queue_offset == 10
    finally:
        await store.close()


async def test_lookup_by_key_time_and_earliest(tmp_path: Path) -> None:
    store = await MessageStore.open(settings(tmp_path))
    try:
        first = (await store.put([message(b"one")]))[0]
        await store.put([MessageInput("TopicTest", 0, b"two", b"KEYS\x01order-2 shared")])
        hits = store.query_by_key("TopicTest", "order-1", 32)
        assert len(hits) == 1
        assert b"one" in hits[0]
        assert store.query_by_key("TopicTest", "missing", 32) == []
        assert store.earliest_store_time("TopicTest", 0) == first.store_timestamp
        assert store.search_offset("TopicTest", 0, 0) == 0
        assert store.search_offset("TopicTest", 0, 2**62) == 1
    finally:
        await store.close()


async def test_replica_fed_with_raw_bytes_serves_the_same_messages(tmp_path: Path) -> None:
    master = await MessageStore.open(settings(tmp_path / "master"))
    slave = await MessageStore.open(settings(tmp_path / "slave"))
    try:
        sent = await master.put([message(bytes([i]) * 50, queue_id=i % 2) for i in range(50)])
        _, end = master.commitlog_offsets()
        pos = 0
        while pos < end:
            pos = slave.append_replicated(pos, master.read_commitlog(pos, 700))
        assert slave.read_commitlog(0, end) == master.read_commitlog(0, end)
        assert slave.queue_offsets("TopicTest", 1) == (0, 25)
        with pytest.raises(StoreOutOfOrderError, match="do not continue this log"):
            slave.append_replicated(end + 1, b"x")
        with pytest.raises(StoreError, match="not the start of a record"):
            slave.truncate_commitlog(sent[25].phy_offset + 1)
        slave.truncate_commitlog(sent[25].phy_offset)
        assert slave.commitlog_offsets() == (0, sent[25].phy_offset)
        assert slave.queue_offsets("TopicTest", 1) == (0, 12)
    finally:
        await master.close()
        await slave.close()
