"""The broker's in-memory tables: subscriptions, client membership, queue locks, holds."""

import asyncio

import pytest

from rmq.broker.clients import CHANNEL_EXPIRED_SECONDS, ClientRegistry
from rmq.broker.locks import LOCK_MAX_LIVE_SECONDS, QueueLocks
from rmq.broker.long_polling import PullHolds
from rmq.broker.processors.send import with_broker_properties
from rmq.broker.subscription import Subscription, SubscriptionParseError
from rmq.common.message import decode_properties
from rmq.common.message_id import java_hash


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeConn:
    """Stands in for a client's connection (not one of our servers)."""

    def __init__(self, peer: str) -> None:
        self.peer = peer
        self.is_closed = False
        self.sent: list[object] = []

    def oneway(self, cmd: object) -> None:
        self.sent.append(cmd)


def test_tag_expression_parses_to_java_hash_codes() -> None:
    sub = Subscription.parse("T", " TagA || TagB ||", "TAG", 5)
    assert sub.tags == ("TagA", "TagB")
    assert sub.codes == {java_hash("TagA"), java_hash("TagB")}
    assert java_hash("TagA") == 2598919  # the value the Java client sends
    assert sub.tag_codes == {java_hash("TagA"), java_hash("TagB")}
    assert Subscription.parse("T", "*", None, 1).tag_codes is None
    assert Subscription.parse("T", "", None, 1).sub_string == "*"
    with pytest.raises(SubscriptionParseError):
        Subscription.parse("T", "a", "GROOVY", 1)


def test_subscription_json_round_trip() -> None:
    sub = Subscription.parse("T", "A||B", "TAG", 7)
    assert Subscription.from_json(sub.to_json()) == sub


def test_stored_properties_drop_wait_and_add_cluster() -> None:
    text = "WAIT\x01true\x02TAGS\x01A\x02KEYS\x01k"
    props = decode_properties(with_broker_properties(text, "C1"))
    assert props == {"TAGS": "A", "KEYS": "k", "CLUSTER": "C1"}
    assert decode_properties(with_broker_properties("TAGS\x01A\x02", "C1")) == {
        "TAGS": "A",
        "CLUSTER": "C1",
    }
    assert with_broker_properties("", "C1") == "CLUSTER\x01C1"
    for text in ("TAGS\x01A\x02WAIT\x01true", "NOWAIT\x01x\x02WAIT\x01false\x02K\x01v",
                 "WAIT\x01true", "AWAIT\x01x"):  # fmt: skip
        expected = decode_properties(text)
        expected.pop("WAIT", None)
        assert decode_properties(with_broker_properties(text, "C")) == {**expected, "CLUSTER": "C"}


def test_consumer_membership_changes_notify_the_group() -> None:
    clock = Clock()
    registry = ClientRegistry(clock=clock)
    a, b = FakeConn("1.1.1.1:1"), FakeConn("1.1.1.1:2")
    subs = [Subscription.parse("T", "*", "TAG", 1)]

    def join(conn: FakeConn, client_id: str) -> bool:
        return registry.register_consumer(
            "G", conn, client_id, 0, 407,  # type: ignore[arg-type]
            consume_type="CONSUME_PASSIVELY", message_model="CLUSTERING",
            consume_from_where="CONSUME_FROM_FIRST_OFFSET", subscriptions=subs,
        )  # fmt: skip

    assert join(a, "a") is True
    assert len(a.sent) == 1
    assert join(a, "a") is False  # a renewal is no change
    assert join(b, "b") is True
    assert len(a.sent) == 2
    assert len(b.sent) == 1
    info = registry.consumer_group("G")
    assert info is not None
    assert sorted(info.client_ids()) == ["a", "b"]
    registry.channel_closed(b)  # type: ignore[arg-type]
    assert len(a.sent) == 3
    clock.now += CHANNEL_EXPIRED_SECONDS + 1
    assert [c.peer for c in registry.scan_expired()] == [a.peer]
    assert registry.consumer_group("G") is None


def test_queue_locks_are_exclusive_and_expire() -> None:
    clock = Clock()
    locks = QueueLocks(clock)
    q0, q1 = ("T", "b", 0), ("T", "b", 1)
    assert locks.lock("G", "c1", [q0, q1]) == [q0, q1]
    assert locks.lock("G", "c2", [q0, q1]) == []
    assert locks.lock("OtherGroup", "c2", [q0]) == [q0]
    locks.unlock("G", "c1", [q1])
    assert locks.lock("G", "c2", [q0, q1]) == [q1]
    clock.now += LOCK_MAX_LIVE_SECONDS + 1
    assert locks.lock("G", "c2", [q0]) == [q0]


async def test_held_pull_wakes_on_notify_and_times_out() -> None:
    bounds = {("T", 0): 1}
    holds = PullHolds(lambda t, q: bounds.get((t, q), 0), list)
    assert await holds.hold("T", 0, 0, 5.0) is True  # already there: no wait
    task = asyncio.ensure_future(holds.hold("T", 0, 1, 5.0))
    await asyncio.sleep(0.01)
    assert len(holds) == 1
    holds.notify("T", 0, 1)  # nothing new yet
    await asyncio.sleep(0.01)
    assert not task.done()
    holds.notify("T", 0, 2)
    assert await task is True
    assert len(holds) == 0
    assert await holds.hold("T", 0, 5, 0.05) is False


async def test_a_check_wakes_only_pulls_on_queues_that_moved() -> None:
    bounds = {("T", 0): 1, ("T", 1): 1}
    moved: list[tuple[str, int, int]] = []

    def take() -> list[tuple[str, int, int]]:
        out = list(moved)
        moved.clear()
        return out

    holds = PullHolds(lambda t, q: bounds.get((t, q), 0), take)
    on_0 = asyncio.ensure_future(holds.hold("T", 0, 1, 5.0))
    on_1 = asyncio.ensure_future(holds.hold("T", 1, 1, 5.0))
    await asyncio.sleep(0.01)
    holds.check_moved()  # nothing moved
    moved.append(("T", 1, 2))
    holds.check_moved()
    assert await on_1 is True
    await asyncio.sleep(0.01)
    assert not on_0.done()
    moved.append(("T", 0, 2))
    holds.check_moved()
    assert await on_0 is True
    assert len(holds) == 0
