"""A store written by Apache RocketMQ 4.9.7 itself (tests/fixtures/apache-store, made by
tests/compat/make_apache_store_fixture.py) opens in rmq and reads back what was sent:
by queue offset, by physical offset, by key through Java's own index files; and rmq
appends after it with queue offsets continuing."""

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rmq.common.message import decode_record, decode_records
from rmq.config.loader import ConfigInput
from rmq.config.store import MessageStoreConfig
from rmq.store.results import GetStatus, PutStatus
from rmq.store.store import MessageInput, MessageStore
from tests.compat.make_apache_store_fixture import COUNT, SETTINGS, TOPIC

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "apache-store"


def sent() -> list[tuple[int, int, int, str, int]]:
    """(index, queue id, queue offset, client msgId, commitlog offset) of each send."""
    out = []
    for line in (FIXTURE / "sent.txt").read_text().splitlines():
        _, i, status, queue_id, queue_offset, msg_id, offset_msg_id = line.split()
        assert status == "SEND_OK"
        out.append((int(i), int(queue_id), int(queue_offset), msg_id, int(offset_msg_id[-16:], 16)))
    return out


def body(i: int) -> bytes:
    return f"fixture body {i} {'x' * (i % 7 * 40)}".encode()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[MessageStore]:
    root = tmp_path / "store"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("sent.txt"))
    config = ConfigInput(process_defaults={"storePathRootDir": str(root), **SETTINGS})
    opened = await MessageStore.open(config.build(MessageStoreConfig))
    yield opened
    await opened.close()


def test_fixture_has_every_send() -> None:
    assert len(sent()) == COUNT


async def test_every_message_reads_back_by_queue_offset(store: MessageStore) -> None:
    for i, queue_id, queue_offset, msg_id, phy in sent():
        got = store.get(TOPIC, queue_id, queue_offset, 1)
        assert got.status is GetStatus.FOUND, (i, got)
        (message,) = decode_records(got.buffer)
        assert message.body == body(i)
        assert message.phy_offset == phy
        assert message.tags == ("TagA" if i % 2 == 0 else "TagB")
        assert message.keys == [f"fixture-key-{i}"]
        assert message.uniq_key == msg_id
        assert message.properties["fixtureIndex"] == str(i)


async def test_view_by_commitlog_offset(store: MessageStore) -> None:
    for i, _, _, _, phy in sent()[::37]:
        record = store.read_record(phy)
        assert record is not None
        assert decode_record(record).body == body(i)


async def test_java_index_files_answer_key_and_unique_key_queries(store: MessageStore) -> None:
    for i, _, _, msg_id, _ in sent()[::23]:
        by_key = store.query_by_key(TOPIC, f"fixture-key-{i}", 32)
        assert [decode_record(r).body for r in by_key] == [body(i)]
        by_id = store.query_by_key(TOPIC, msg_id, 32)
        assert [decode_record(r).body for r in by_id] == [body(i)]


async def test_queue_offsets_continue_after_the_java_ones(store: MessageStore) -> None:
    per_queue = {q: 0 for q in range(4)}
    for _, queue_id, _, _, _ in sent():
        per_queue[queue_id] += 1
    for queue_id, count in per_queue.items():
        assert store.queue_offsets(TOPIC, queue_id) == (0, count)
    (result,) = await store.put([MessageInput(TOPIC, 0, b"after java", b"KEYS\x01rmq-key")])
    assert result.status is PutStatus.PUT_OK
    assert result.queue_offset == per_queue[0]
    assert [decode_record(r).body for r in store.query_by_key(TOPIC, "rmq-key", 4)] == [
        b"after java"
    ]
