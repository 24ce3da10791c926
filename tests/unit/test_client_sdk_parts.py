"""The client's in-memory rules: what offset a consumer may commit, which broker a retry
goes to, how batches split, which messages are refused, and the local offset file."""

import asyncio
from pathlib import Path

import pytest

from rmq.client import ClientError, Message, MessageQueue, split_batch
from rmq.client.consumer.offset_store import LocalOffsetStore, ReadOffsetType
from rmq.client.consumer.process_queue import ProcessQueue
from rmq.client.fault import LatencyFaultTolerance, QueueSelector
from rmq.client.message import MessageExt
from rmq.client.producer import validate_message
from rmq.common.codes import ResponseCode


def ext(offset: int, body: bytes = b"x") -> MessageExt:
    return MessageExt("T", body, {}, 0, offset, offset * 100, f"id{offset}", f"oid{offset}", 0,
                      "127.0.0.1:1", 0, "127.0.0.1:2", 0, 0, 0, 0, "b")  # fmt: skip


def test_committable_offset_is_the_smallest_unfinished_message() -> None:
    pq = ProcessQueue()
    assert pq.put_messages([ext(i) for i in range(10, 15)])
    assert (pq.msg_count, pq.max_span()) == (5, 4)
    # A slow message at 10 holds the commit back however much after it is done.
    assert pq.remove_messages([ext(11), ext(12), ext(14)]) == 10
    assert pq.remove_messages([ext(10)]) == 13
    assert pq.remove_messages([ext(13)]) == 15
    assert pq.msg_count == 0
    assert pq.remove_messages([ext(13)]) == -1


def test_orderly_take_commit_and_consume_again() -> None:
    pq = ProcessQueue()
    pq.put_messages([ext(i) for i in range(5)])
    taken = pq.take_messages(2)
    assert [m.queue_offset for m in taken] == [0, 1]
    pq.make_to_consume_again(taken)
    assert [m.queue_offset for m in pq.take_messages(3)] == [0, 1, 2]
    assert pq.commit() == 3
    assert [m.queue_offset for m in pq.take_messages(10)] == [3, 4]
    assert pq.commit() == 5
    assert pq.take_messages(1) == []
    assert not pq.consuming


def test_fault_tolerance_sets_slow_and_failed_brokers_aside() -> None:
    faults = LatencyFaultTolerance()
    faults.update("fast", 40, False)
    faults.update("slow", 600, False)  # >= 550 ms: avoided for 30 s
    faults.update("dead", 0, True)
    assert faults.is_available("fast")
    assert not faults.is_available("slow")
    assert not faults.is_available("dead")
    queues = [MessageQueue("T", b, i) for b in ("dead", "fast", "slow") for i in range(2)]
    selector = QueueSelector(queues)
    assert {selector.select_avoiding(faults, None).broker_name for _ in range(20)} == {"fast"}


def test_a_retry_moves_to_another_broker() -> None:
    selector = QueueSelector([MessageQueue("T", b, i) for b in ("a", "b") for i in range(4)])
    for _ in range(20):
        assert selector.select("a").broker_name == "b"
    solo = QueueSelector([MessageQueue("T", "a", 0)])
    assert solo.select("a").broker_name == "a"  # nowhere else to go


def test_split_batch_keeps_order_and_limit() -> None:
    msgs = [Message("T", b"x" * 100) for _ in range(50)]
    parts = split_batch(msgs, limit=1000)
    assert [m for part in parts for m in part] == msgs
    assert all(len(part) <= 8 for part in parts)
    assert split_batch([], 10) == []


@pytest.mark.parametrize(
    ("msg", "text"),
    [
        (Message("T", b""), "length is zero"),
        (Message("", b"x"), "blank"),
        (Message("a" * 128, b"x"), "longer than"),
        (Message("bad/topic", b"x"), "illegal characters"),
        (Message("T", b"x" * 11), "over max value"),
    ],
)
def test_bad_messages_are_refused(msg: Message, text: str) -> None:
    with pytest.raises(ClientError, match=text) as err:
        validate_message(msg, 10)
    assert err.value.code == ResponseCode.MESSAGE_ILLEGAL


def test_user_properties_cannot_shadow_system_ones() -> None:
    msg = Message("T", b"x")
    with pytest.raises(ValueError, match="used by system"):
        msg.put_user_property("TAGS", "x")


def test_local_offset_file_is_javas_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROCKETMQ_CLIENT_LOCAL_OFFSET_STORE_DIR", str(tmp_path))
    store = LocalOffsetStore("127.0.0.1@1", "G")
    mq = MessageQueue("T", "broker-a", 1)
    store.update(mq, 42, False)
    store.update(mq, 40, True)  # increase-only never goes back
    asyncio.run(store.persist_all({mq}))
    path = tmp_path / "127.0.0.1@1" / "G" / "offsets.json"
    assert (
        path.read_text() == '{"offsetTable":{{"brokerName":"broker-a","queueId":1,"topic":"T"}:42}}'
    )
    # What Java's fastjson writes (pretty, object keys) reads back too.
    path.write_text('{\n\t"offsetTable":{{\n\t\t\t"brokerName":"broker-a",\n\t\t\t"queueId":1,'
                    '\n\t\t\t"topic":"T"\n\t\t}:7\n\t}\n}')  # fmt: skip
    again = LocalOffsetStore("127.0.0.1@1", "G")
    again.load()
    assert asyncio.run(again.read(mq, ReadOffsetType.MEMORY)) == 7
    assert asyncio.run(again.read(MessageQueue("T", "broker-a", 2), ReadOffsetType.STORE)) == -1
