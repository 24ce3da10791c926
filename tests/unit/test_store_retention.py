"""Retention through the facade: the deleteWhen window from config, expiry, and the disk guard
as a producer would see it (SERVICE_NOT_AVAILABLE, then writes again)."""

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from rmq.config.loader import ConfigInput
from rmq.config.store import MessageStoreConfig
from rmq.store.results import PutStatus
from rmq.store.retention import RetentionPolicy
from rmq.store.store import MessageInput, MessageStore


def settings(root: Path, **extra: str) -> MessageStoreConfig:
    values = {
        "storePathRootDir": str(root),
        "mappedFileSizeCommitLog": "4096",
        "mappedFileSizeConsumeQueue": "200",
        "maxHashSlotNum": "64",
        "maxIndexNum": "64",
        **extra,
    }
    return ConfigInput(process_defaults=values).build(MessageStoreConfig)


def message(i: int) -> MessageInput:
    return MessageInput("RetTopic", 0, b"x" * 300, f"KEYS\x01k{i}".encode())


def test_policy_reads_java_keys_and_clamps_the_ratio(tmp_path: Path) -> None:
    policy = RetentionPolicy.from_config(
        settings(tmp_path, deleteWhen="04;16", fileReservedTime="48", diskMaxUsedSpaceRatio="99")
    )
    assert policy.reserved_ms == 48 * 3600 * 1000
    assert policy.delete_hours == {4, 16}
    assert policy.disk_max_used_ratio == 0.95
    assert policy.in_window(datetime(2026, 12, 1, 16, 30))
    assert not policy.in_window(datetime(2026, 12, 1, 5, 0))


async def test_expired_files_go_only_in_the_delete_window(tmp_path: Path) -> None:
    store = await MessageStore.open(settings(tmp_path, deleteWhen="04", fileReservedTime="72"))
    try:
        for i in range(40):
            assert (await store.put([message(i)]))[0].status is PutStatus.PUT_OK
        later = datetime.now() + timedelta(days=4)
        outside = later.replace(hour=5)
        report = await store.clean(now=outside)
        # Only a nearly full disk would allow it outside the window.
        if report.disk_ratio < store.retention.disk_max_used_ratio:
            assert report.deleted_commitlog == 0
        inside = later.replace(hour=4)
        report = await store.clean(now=inside)
        assert report.deleted_commitlog >= 2
        low, high = store.queue_offsets("RetTopic", 0) or (0, 0)
        assert (low > 0, high) == (True, 40)
        assert store.commitlog_offsets()[0] == report.min_offset
        assert store.query_by_key("RetTopic", "k0", 4) == []
        assert len(store.query_by_key("RetTopic", "k39", 4)) == 1
    finally:
        await store.close()


async def test_manual_clean_ignores_the_window(tmp_path: Path) -> None:
    store = await MessageStore.open(settings(tmp_path, deleteWhen="04"))
    try:
        for i in range(40):
            await store.put([message(i)])
        later = (datetime.now() + timedelta(days=4)).replace(hour=12)
        report = await store.clean(manual=True, now=later)
        assert report.deleted_commitlog >= 2
    finally:
        await store.close()


async def test_disk_guard_refuses_writes_and_recovers(tmp_path: Path) -> None:
    store = await MessageStore.open(settings(tmp_path))
    try:
        await store.put([message(0)])
        # Any used disk is over 0 %: a pass with that threshold marks it full.
        engine_clean = store._engine.clean
        raw = engine_clean(now_ms=0, reserved_ms=0, in_window=False, warning_ratio=0.0)
        assert raw[1] is True
        refused = await store.put([message(1)])
        assert refused[0].status is PutStatus.SERVICE_NOT_AVAILABLE
        assert store.queue_offsets("RetTopic", 0) == (0, 1)
        store.retention = replace(store.retention, delete_hours=frozenset())
        report = await store.clean()
        assert not report.disk_full or report.disk_ratio > 0.90
        if not report.disk_full:
            accepted = await store.put([message(1)])
            assert (accepted[0].status, accepted[0].queue_offset) == (PutStatus.PUT_OK, 1)
    finally:
        await store.close()
