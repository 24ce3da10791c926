"""The official Java client's SQL92 MessageSelector, MessageListenerOrderly and broadcasting,
and mqadmin's offset resets, against real rmq processes (as in RocketMQ's own examples)."""

import asyncio
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rmq.common.codes import ResponseCode
from rmq.common.message import decode_records
from rmq.remoting.client import RemotingClient
from tests.harness.broker_requests import pull_request
from tests.harness.java import mqadmin
from tests.harness.java_client import Cluster, JavaClient, Received, admin, java, received, send
from tests.harness.processes import running_broker, running_namesrv

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    home: Path = tmp_path_factory.mktemp("semantics-compat")
    with (
        running_namesrv(home / "namesrv") as namesrv,
        running_broker(
            home / "broker",
            namesrv.addr,
            {
                "enablePropertyFilter": "true",
                # A crashed orderly consumer's queues free up after 10 s instead of 60 s.
                "rocketmq.broker.rebalance.lockMaxLiveTime": "10000",
            },
        ) as b,  # fmt: skip
    ):
        yield Cluster(namesrv, b)


def push(cluster: Cluster, topic: str, group: str, model: str, expr: str, count: int,
         seconds: int = 60, pause_ms: int = 0) -> str:  # fmt: skip
    out = java("push", cluster.namesrv.addr, topic, group, model, expr, str(count),
               str(seconds), str(pause_ms), timeout=seconds + 60)  # fmt: skip
    assert out.rstrip().endswith("DONE"), out
    return out


def test_sql92_message_selector(cluster: Cluster) -> None:
    topic = "CompatSql"
    send(cluster, topic, "sync", 12)
    # Messages carry idx=i and tag TagA for even i.
    out = push(cluster, topic, "CompatSqlG", "CLUSTERING",
               "SQL:idx BETWEEN 4 AND 9 AND TAGS = 'TagA'", 3)  # fmt: skip
    assert sorted(int(r.idx) for r in received(out)) == [4, 6, 8]


def test_two_broadcasting_consumers_each_get_everything(cluster: Cluster) -> None:
    topic = "CompatBroadcastTwo"
    send(cluster, topic, "sync", 6)
    with ThreadPoolExecutor(2) as pool:
        outs = list(
            pool.map(
                lambda _: push(cluster, topic, "CompatBroadcastTwoG", "BROADCASTING", "*", 6),
                range(2),
            )
        )
    for out in outs:
        assert sorted(int(r.idx) for r in received(out)) == list(range(6))


def test_orderly_consumption_keeps_queue_order_across_a_handover(cluster: Cluster) -> None:
    topic, group, total = "CompatOrderly", "CompatOrderlyG", 24
    sent = send(cluster, topic, "ordered", total)
    assert sent.count("SEND_OK") == total
    # The first consumer stops after a few messages (unlocking its queues and committing
    # its offsets); the second takes every queue over and finishes.
    first = received(push(cluster, topic, group, "ORDERLY", "*", 6, pause_ms=20))
    first_seen = {int(r.idx) for r in first}
    second = received(
        push(cluster, topic, group, "ORDERLY", "*", total - len(first_seen), seconds=90)
    )
    assert first_seen | {int(r.idx) for r in second} == set(range(total))
    assert_queue_order_kept(first, second)


def assert_queue_order_kept(first: list[Received], second: list[Received]) -> None:
    """Messages were sent to queue idx % 4. Within each consumer every queue goes in order,
    and on each queue the second consumer starts no later than the message after the last
    one the first took (a redelivery is allowed, a gap is not)."""
    for part in (first, second):
        per_queue: dict[int, list[int]] = defaultdict(list)
        for r in part:
            per_queue[r.queue_id].append(int(r.idx))
            assert int(r.idx) % 4 == r.queue_id % 4
        for indexes in per_queue.values():
            assert indexes == sorted(indexes), per_queue
    last_first: dict[int, int] = {}
    for r in first:
        last_first[r.queue_id] = max(last_first.get(r.queue_id, -4), int(r.idx))
    first_of_second: dict[int, int] = {}
    for r in second:
        first_of_second.setdefault(r.queue_id, int(r.idx))
    for queue_id, idx in first_of_second.items():
        assert idx <= last_first.get(queue_id, queue_id - 4) + 4, (queue_id, first, second)


def test_orderly_consumption_keeps_queue_order_across_a_consumer_crash(
    cluster: Cluster,
) -> None:
    """SIGKILL: no unlock, no offset commit. The queues stay locked to the dead client until
    lockMaxLiveTime (10 s here), then a new consumer resumes each queue in order."""
    topic, group, total = "CompatOrderlyCrash", "CompatOrderlyCrashG", 24
    assert send(cluster, topic, "ordered", total).count("SEND_OK") == total

    def recv_count(lines: list[str]) -> int:
        return sum(line.startswith("RECV ") for line in lines)

    with JavaClient("push", cluster.namesrv.addr, topic, group, "ORDERLY", "*", str(total),
                    "90", "150") as crashing:  # fmt: skip
        assert crashing.wait_for(lambda lines: recv_count(lines) >= 6, 60), crashing.lines
        crashing.proc.kill()
        crashing.proc.wait()
        first = received("\n".join(crashing.lines))
    seen = {int(r.idx) for r in first}
    assert len(seen) < total

    def complete(lines: list[str]) -> bool:
        return seen | {int(r.idx) for r in received("\n".join(lines))} == set(range(total))

    with JavaClient("push", cluster.namesrv.addr, topic, group, "ORDERLY", "*", str(total),
                    "120", "0") as restarted:  # fmt: skip
        assert restarted.wait_for(complete, 120), restarted.lines[-20:]
        second = received("\n".join(restarted.lines))
    assert_queue_order_kept(first, second)


def progress_rows(cluster: Cluster, group: str, topic: str) -> list[list[str]]:
    out = admin(cluster, "consumerProgress", "-g", group)
    return [line.split() for line in out.splitlines() if line.startswith(topic + " ")]


def test_mqadmin_reset_offset_and_skip_accumulated_for_an_offline_group(
    cluster: Cluster,
) -> None:
    topic, group = "CompatResetOff", "CompatResetOffG"
    send(cluster, topic, "sync", 8)
    push(cluster, topic, group, "CLUSTERING", "*", 8)
    assert sum(int(r[4]) for r in progress_rows(cluster, group, topic)) == 8  # consumer offset

    out = admin(cluster, "resetOffsetByTime", "-g", group, "-t", topic, "-s", "0")
    assert "rollback consumer offset" in out or "#rollbackOffset" in out, out
    assert sum(int(r[4]) for r in progress_rows(cluster, group, topic)) == 0
    again = received(push(cluster, topic, group, "CLUSTERING", "*", 8))
    assert sorted(int(r.idx) for r in again) == list(range(8))

    send(cluster, topic, "sync", 4)
    assert "rollback" in admin(cluster, "skipAccumulatedMessage", "-g", group, "-t", topic)
    rows = progress_rows(cluster, group, topic)
    assert sum(int(r[3]) for r in rows) == 12  # broker offset
    assert sum(int(r[4]) for r in rows) == 12  # nothing left to consume


def test_mqadmin_reset_offset_reaches_an_online_consumer(cluster: Cluster) -> None:
    topic, group = "CompatResetOn", "CompatResetOnG"
    send(cluster, topic, "sync", 5)
    with JavaClient("push", cluster.namesrv.addr, topic, group, "CLUSTERING", "*", "10",
                    "90") as consumer:  # fmt: skip
        assert consumer.wait_for(lambda lines: len(received("\n".join(lines))) >= 5, 60)
        # The broker resets only a group whose every queue has a committed offset; the
        # client commits every persistConsumerOffsetInterval (5 s).
        for _ in range(10):
            listing = mqadmin("consumerProgress", "-n", cluster.namesrv.addr, "-g", group)
            rows = [line.split() for line in listing.stdout.splitlines()
                    if line.startswith(topic + " ")]  # fmt: skip
            if sum(int(r[4]) for r in rows) == 5:
                break
            time.sleep(1)
        out = admin(cluster, "resetOffsetByTime", "-g", group, "-t", topic, "-s", "0")
        assert "rollback consumer offset by specified group" in out, out
        # The consumer drops its position and takes every message again.
        output = consumer.finish(60)
    assert output.rstrip().endswith("DONE"), output
    got = sorted(int(r.idx) for r in received(output))
    assert got == sorted(list(range(5)) * 2)


async def test_orderly_consumer_suspends_then_dead_letters(cluster: Cluster) -> None:
    topic, group, total = "CompatOrderlyFail", "CompatOrderlyFailG", 8
    send(cluster, topic, "ordered", total)
    out = java("orderlyfail", cluster.namesrv.addr, topic, group, "2", str(total), "90",
               timeout=150)  # fmt: skip
    assert out.rstrip().endswith("DONE"), out
    got = received(out)
    # Retried in place (reconsumeTimes 0, 1, 2), never out of order: idx 4 shares its queue.
    tries = [r.reconsume_times for r in got if r.idx == "0"]
    assert tries == [0, 1, 2]
    order = [int(r.idx) for r in got if r.queue_id == got[0].queue_id and r.idx != "0"]
    assert order == sorted(order)
    # Past maxReconsumeTimes the client sends it back and the broker dead-letters it.
    client = RemotingClient(timeout=20.0)
    try:
        dlq = f"%DLQ%{group}"
        reply = await client.invoke(cluster.broker.addr, pull_request(group, dlq, 0, 0))
        for _ in range(50):
            if reply.code == ResponseCode.SUCCESS:
                break
            await asyncio.sleep(0.2)
            reply = await client.invoke(cluster.broker.addr, pull_request(group, dlq, 0, 0))
        assert reply.code == ResponseCode.SUCCESS, (reply.code, reply.remark)
        [dead] = decode_records(reply.body or b"")
        assert dead.properties["idx"] == "0"
        assert dead.properties["ORIGIN_MESSAGE_ID"]
    finally:
        await client.close()
