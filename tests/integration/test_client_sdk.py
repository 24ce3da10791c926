"""rmq.client against real servers: every send mode, push consumers (concurrently, orderly,
broadcasting, filters, retries, dead letters), rebalance as consumers join and leave, flow
control, transactions, lite pull and plain pull. Each test runs twice: against rmq-namesrv
and rmq-broker, and against Apache RocketMQ 4.9.7's own NameServer and broker (from Maven
Central), so the client is proven against the reference and not only against our server."""

import asyncio
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from rmq.client import (
    BROADCASTING,
    CONSUME_FROM_FIRST_OFFSET,
    ClientError,
    LitePullConsumer,
    LocalTransactionState,
    Message,
    MessageExt,
    MessageQueue,
    Producer,
    PullConsumer,
    PullStatus,
    PushConsumer,
    SendResult,
    SendStatus,
    TransactionProducer,
    blocking,
)
from rmq.common.codes import ResponseCode
from tests.harness.pair import start_pair
from tests.harness.processes import running_broker, running_namesrv
from tests.harness.py_client import Inbox, OrderlyInbox, fast_config

pytestmark = [pytest.mark.integration]

#: Every delay level 1 s, so retries come back fast; checks of half messages after 1 s.
BROKER_EXTRA = {
    "messageDelayLevel": " ".join(["1s"] * 18),
    "enablePropertyFilter": "true",
    "transactionTimeOut": "1000",
    "transactionCheckInterval": "1000",
}


class Cluster(NamedTuple):
    system: str
    namesrv: str
    broker: str
    home: Path
    broker_name: str = "broker-t"


@pytest.fixture(scope="module", params=["rmq", pytest.param("apache", marks=pytest.mark.compat)])
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Cluster]:  # fmt: skip
    home = tmp_path_factory.mktemp(f"sdk-{request.param}")
    if request.param == "apache":
        small = {"mappedFileSizeCommitLog": str(16 * 1024 * 1024),
                 "mappedFileSizeConsumeQueue": str(20 * 30000)}  # fmt: skip
        pair = start_pair("apache", home, "ASYNC_FLUSH", {**small, **BROKER_EXTRA}, pin=False,
                          broker_name="broker-t")  # fmt: skip
        try:
            yield Cluster("apache", pair.namesrv, pair.broker_addr, home)
        finally:
            pair.stop()
        return
    with running_namesrv(home / "ns") as ns, running_broker(home / "b", ns.addr, BROKER_EXTRA) as b:
        yield Cluster("rmq", ns.addr, b.addr, home)


def push(cluster: Cluster, group: str, topic: str, expression: str = "*",
         expression_type: str = "TAG", **options: Any) -> PushConsumer:  # fmt: skip
    consumer = PushConsumer(group, config=fast_config(cluster.namesrv),
                            consume_from_where=CONSUME_FROM_FIRST_OFFSET, **options)  # fmt: skip
    consumer.subscribe(topic, expression, expression_type)
    return consumer


async def test_send_modes_reach_a_push_consumer_intact(cluster: Cluster) -> None:
    topic = "SdkSendModes"
    callbacks: list[Any] = []

    class Callback:
        def on_success(self, result: SendResult) -> None:
            callbacks.append(result)

        def on_exception(self, exc: BaseException) -> None:
            callbacks.append(exc)

    async with Producer("sdk-send", config=fast_config(cluster.namesrv)) as producer:
        first = Message(topic, b"sync", tags="TagA", keys=["k1", "k2"])
        first.put_user_property("color", "red")
        sync = await producer.send(first)
        assert sync.send_status is SendStatus.SEND_OK
        assert sync.msg_id == first.unique_key
        assert len(sync.offset_msg_id) == 32
        queues = await producer.fetch_publish_message_queues(topic)
        assert len(queues) == 4
        to_queue = await producer.send(Message(topic, b"queue", tags="TagB"), queues[2])
        assert to_queue.message_queue == queues[2]
        selected = await producer.send(Message(topic, b"selected"),
                                       selector=lambda qs, m, arg: qs[arg], arg=1)  # fmt: skip
        assert selected.message_queue.queue_id == 1
        awaited = await producer.send_async(Message(topic, b"async"))
        assert awaited.send_status is SendStatus.SEND_OK
        _ = producer.send_async(Message(topic, b"callback"), Callback())
        await producer.send_oneway(Message(topic, b"oneway"))
        batch = await producer.send_batch([Message(topic, f"batch{i}".encode()) for i in range(3)])
        assert len(batch.msg_id.split(",")) == 3
        assert len(batch.offset_msg_id.split(",")) == 3
        big = await producer.send(Message(topic, b"z" * 20_000))  # compressed on the wire
        assert big.send_status is SendStatus.SEND_OK
        for _ in range(100):
            if callbacks:
                break
            await asyncio.sleep(0.05)
        assert isinstance(callbacks[0], SendResult)
    inbox = Inbox()
    consumer = push(cluster, "sdk-send-c", topic)
    consumer.register_message_listener(inbox)
    async with consumer:
        assert await inbox.wait_count(10)
    got = {m.body: m for m in inbox.msgs}
    assert set(got) == {b"sync", b"queue", b"selected", b"async", b"callback", b"oneway",
                        b"batch0", b"batch1", b"batch2", b"z" * 20_000}  # fmt: skip
    msg = got[b"sync"]
    assert (msg.tags, msg.keys, msg.user_property("color")) == ("TagA", "k1 k2", "red")
    assert msg.msg_id == sync.msg_id
    assert msg.offset_msg_id == sync.offset_msg_id
    assert got[b"queue"].queue_id == 2
    batch_offsets = sorted(got[f"batch{i}".encode()].queue_offset for i in range(3))
    assert batch_offsets == list(range(batch.queue_offset, batch.queue_offset + 3))


async def test_bad_messages_are_refused_before_sending(cluster: Cluster) -> None:
    async with Producer("sdk-bad", config=fast_config(cluster.namesrv),
                        max_message_size=1024) as producer:  # fmt: skip
        for msg, text in [
            (Message("SdkBad", b""), "body length is zero"),
            (Message("bad topic!", b"x"), "illegal characters"),
            (Message("SdkBad", b"x" * 2048), "over max value"),
        ]:
            with pytest.raises(ClientError, match=text) as err:
                await producer.send(msg)
            assert err.value.code == ResponseCode.MESSAGE_ILLEGAL
        with pytest.raises(ClientError, match="forbidden"):
            await producer.send(Message("SCHEDULE_TOPIC_XXXX", b"x"))
    with pytest.raises(ClientError, match="start"):
        await Producer("sdk-never-started").send(Message("SdkBad", b"x"))


async def test_failed_messages_are_retried_then_dead_lettered(cluster: Cluster) -> None:
    topic = "SdkRetry"
    async with Producer("sdk-retry-p", config=fast_config(cluster.namesrv)) as producer:
        await producer.send(Message(topic, b"retry-once", tags="T"))
        await producer.send(Message(topic, b"always-fails", tags="T"))
    inbox = Inbox(fail=lambda m: m.body == b"always-fails"
                  or (m.body == b"retry-once" and m.reconsume_times == 0))  # fmt: skip
    consumer = push(cluster, "sdk-retry-c", topic, max_reconsume_times=2)
    consumer.register_message_listener(inbox)
    async with consumer:
        assert await inbox.wait_for(
            lambda ms: (
                sum(m.body == b"always-fails" for m in ms) >= 3
                and sum(m.body == b"retry-once" for m in ms) >= 2
            )
        )
    once = [m for m in inbox.msgs if m.body == b"retry-once"]
    assert [n for body, n in inbox.deliveries if body == b"retry-once"][:2] == [0, 1]
    # A redelivered message shows its own topic and keeps its id.
    assert {m.topic for m in inbox.msgs} == {topic}
    assert len({m.msg_id for m in once}) == 1
    fails = [n for body, n in inbox.deliveries if body == b"always-fails"]
    assert fails[:3] == [0, 1, 2]
    async with PullConsumer("sdk-dlq-reader", config=fast_config(cluster.namesrv)) as reader:
        dlq = MessageQueue("%DLQ%sdk-retry-c", cluster.broker_name, 0)
        result = None
        for _ in range(100):
            result = await reader.pull(dlq, "*", 0, 32)
            if result.pull_status is PullStatus.FOUND:
                break
            await asyncio.sleep(0.1)
        assert result is not None
        assert result.pull_status is PullStatus.FOUND
        assert [m.body for m in result.messages] == [b"always-fails"]


async def test_orderly_consumer_sees_each_key_in_order_and_suspends_in_place(
    cluster: Cluster,
) -> None:
    topic = "SdkOrderly"
    async with Producer("sdk-order-p", config=fast_config(cluster.namesrv)) as producer:
        for step in range(10):
            for key in range(6):
                await producer.send(Message(topic, f"{key}:{step}".encode(), keys=str(key)),
                                    selector=lambda qs, m, k: qs[k % len(qs)], arg=key)  # fmt: skip
    suspended: set[bytes] = set()

    def suspend_once(msg: MessageExt) -> bool:
        if msg.body == b"3:4" and msg.body not in suspended:
            suspended.add(msg.body)
            return True
        return False

    inbox = OrderlyInbox(suspend=suspend_once)
    consumer = push(cluster, "sdk-order-c", topic)
    consumer.register_message_listener_orderly(inbox.orderly)
    async with consumer:
        assert await inbox.wait_count(61)
    steps: dict[str, list[int]] = {}
    for m in inbox.msgs:
        order, number = m.body.decode().split(":")
        steps.setdefault(order, []).append(int(number))
    for order, seen in steps.items():
        if order == "3":
            # The suspended message comes again, before anything after it.
            assert seen == [0, 1, 2, 3, 4, 4, 5, 6, 7, 8, 9]
        else:
            assert seen == list(range(10)), order
    assert [n for body, n in inbox.deliveries if body == b"3:4"] == [0, 1]


async def test_broadcasting_consumers_each_get_everything_and_keep_local_offsets(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROCKETMQ_CLIENT_LOCAL_OFFSET_STORE_DIR", str(tmp_path / "offsets"))
    topic = "SdkBroadcast"
    async with Producer("sdk-bc-p", config=fast_config(cluster.namesrv)) as producer:
        for i in range(20):
            await producer.send(Message(topic, f"b{i}".encode()))
    inboxes = [Inbox(), Inbox()]
    consumers = []
    for n, inbox in enumerate(inboxes):
        consumer = push(cluster, "sdk-bc-c", topic, message_model=BROADCASTING)
        # Broadcasting consumers keep their instance name (Java too): one per process.
        consumer.config.instance_name = f"bc{n}"
        consumer.register_message_listener(inbox)
        await consumer.start()
        consumers.append(consumer)
    try:
        for inbox in inboxes:
            assert await inbox.wait_count(20)
    finally:
        for consumer in consumers:
            await consumer.shutdown()
    for inbox in inboxes:
        assert sorted(inbox.bodies()) == sorted(f"b{i}".encode() for i in range(20))
    files = list((tmp_path / "offsets").glob("*/sdk-bc-c/offsets.json"))
    assert len(files) == 2
    text = files[0].read_text()
    assert text.startswith('{"offsetTable":{{"brokerName":"broker-t"')
    assert sum(int(part.split(":")[-1].rstrip("}")) for part in text.split("},")[1:]) >= 0


async def test_tag_and_sql92_subscriptions_filter(cluster: Cluster) -> None:
    topic = "SdkFilter"
    async with Producer("sdk-filter-p", config=fast_config(cluster.namesrv)) as producer:
        for i in range(12):
            msg = Message(topic, f"f{i}".encode(), tags=("TagA", "TagB", "TagC")[i % 3])
            msg.put_user_property("a", str(i))
            await producer.send(msg)
    tags, sql = Inbox(), Inbox()
    by_tag = push(cluster, "sdk-filter-tag", topic, "TagA || TagC")
    by_tag.register_message_listener(tags)
    by_sql = push(cluster, "sdk-filter-sql", topic, "a between 3 and 7 and TAGS <> 'TagB'",
                  expression_type="SQL92")  # fmt: skip
    by_sql.register_message_listener(sql)
    async with by_tag, by_sql:
        assert await tags.wait_count(8)
        assert await sql.wait_count(3)
        await asyncio.sleep(0.5)
    assert sorted(tags.bodies()) == sorted(f"f{i}".encode() for i in range(12) if i % 3 != 1)
    assert sorted(sql.bodies()) == [b"f3", b"f5", b"f6"]


async def test_rebalance_splits_queues_as_consumers_join_and_leave(cluster: Cluster) -> None:
    topic, group = "SdkRebalance", "sdk-rebalance-c"
    async with Producer("sdk-rb-p", config=fast_config(cluster.namesrv)) as producer:
        await producer.send(Message(topic, b"warmup"))
        first_inbox, second_inbox = Inbox(), Inbox()
        first = push(cluster, group, topic)
        first.register_message_listener(first_inbox)
        await first.start()
        second = push(cluster, group, topic)
        second.register_message_listener(second_inbox)
        try:
            assert await first_inbox.wait_count(1)

            def held(c: PushConsumer) -> set[int]:
                return {q.queue_id for q in c.rebalance.process_queues if q.topic == topic}

            # A rebalance takes its queues one at a time (each asks the broker for its start
            # offset), so the first message can arrive before the last queue is taken.
            for _ in range(200):
                if held(first) == {0, 1, 2, 3}:
                    break
                await asyncio.sleep(0.05)
            assert held(first) == {0, 1, 2, 3}
            await second.start()
            for _ in range(200):
                if held(first) | held(second) == {0, 1, 2, 3} and len(held(second)) == 2:
                    break
                await asyncio.sleep(0.05)
            assert len(held(first)) == 2
            assert len(held(second)) == 2
            assert not held(first) & held(second)
            for i in range(40):
                await producer.send(Message(topic, f"r{i}".encode()))
            assert await first_inbox.wait_for(
                lambda _: len(first_inbox.msgs) + len(second_inbox.msgs) >= 41
            )
            assert first_inbox.msgs[1:]
            assert second_inbox.msgs
            await second.shutdown()
            for _ in range(200):
                if held(first) == {0, 1, 2, 3}:
                    break
                await asyncio.sleep(0.05)
            assert held(first) == {0, 1, 2, 3}
            for i in range(40, 60):
                await producer.send(Message(topic, f"r{i}".encode()))
            want = {f"r{i}".encode() for i in range(60)}
            assert await first_inbox.wait_for(
                lambda _: want <= set(first_inbox.bodies()) | set(second_inbox.bodies())
            )
        finally:
            await first.shutdown()
            await second.shutdown()


async def test_flow_control_caps_cached_messages(cluster: Cluster) -> None:
    topic = "SdkFlow"
    async with Producer("sdk-flow-p", config=fast_config(cluster.namesrv)) as producer:
        queue = (await producer.fetch_publish_message_queues(topic))[0]
        for i in range(10):
            await producer.send_batch([Message(topic, f"x{i}-{j}".encode()) for j in range(30)],
                                      queue)  # fmt: skip
    inbox = Inbox(delay=0.01)
    consumer = push(cluster, "sdk-flow-c", topic, pull_threshold_for_queue=20, pull_batch_size=8,
                    consume_thread_max=1)  # fmt: skip
    consumer.register_message_listener(inbox)
    peak = 0
    async with consumer:
        for _ in range(600):
            for mq, pq in consumer.rebalance.process_queues.items():
                if mq.topic == topic:
                    peak = max(peak, pq.msg_count)
            if len(inbox.msgs) >= 300:
                break
            await asyncio.sleep(0.01)
    assert len(inbox.msgs) >= 300
    # Pulls stop once more than 20 are cached; one pull in flight adds at most 8.
    assert 0 < peak <= 28


class TxListener:
    def __init__(self) -> None:
        self.checked: list[str] = []

    def execute_local_transaction(self, msg: Message, arg: Any) -> LocalTransactionState:
        return LocalTransactionState(arg)

    async def check_local_transaction(self, msg: MessageExt) -> LocalTransactionState:
        self.checked.append(msg.body.decode())
        return LocalTransactionState.COMMIT_MESSAGE


async def test_transactions_commit_rollback_and_check_back(cluster: Cluster) -> None:
    topic = "SdkTx"
    listener = TxListener()
    async with TransactionProducer("sdk-tx-p", listener, config=fast_config(cluster.namesrv)) as p:
        for body, state in [("commit", "COMMIT_MESSAGE"), ("rollback", "ROLLBACK_MESSAGE"),
                            ("unknown", "UNKNOW")]:  # fmt: skip
            result = await p.send_message_in_transaction(Message(topic, body.encode()), state)
            assert result.send_status is SendStatus.SEND_OK
            assert result.local_transaction_state.value == state
        inbox = Inbox()
        consumer = push(cluster, "sdk-tx-c", topic)
        consumer.register_message_listener(inbox)
        async with consumer:
            assert await inbox.wait_count(2, timeout=40)
            await asyncio.sleep(1.5)
    assert sorted(inbox.bodies()) == [b"commit", b"unknown"]
    assert "unknown" in listener.checked
    assert "rollback" not in listener.checked


async def test_lite_pull_subscribe_assign_seek_and_commit(cluster: Cluster) -> None:
    topic = "SdkLite"
    async with Producer("sdk-lite-p", config=fast_config(cluster.namesrv)) as producer:
        queue = (await producer.fetch_publish_message_queues(topic))[1]
        for i in range(15):
            await producer.send(Message(topic, f"l{i}".encode()), queue)
    lite = LitePullConsumer("sdk-lite-c", config=fast_config(cluster.namesrv), auto_commit=False,
                            consume_from_where=CONSUME_FROM_FIRST_OFFSET)  # fmt: skip
    lite.subscribe(topic, "*")
    got: list[bytes] = []
    async with lite:
        while len(got) < 15:
            batch = await lite.poll(10_000)
            assert batch, f"nothing polled after {len(got)}"
            got.extend(m.body for m in batch)
        assert got == [f"l{i}".encode() for i in range(15)]
        await lite.commit_sync()
        assert await lite.committed(queue) == 15
        lite.seek(queue, 5)
        again = await lite.poll(10_000)
        assert again[0].body == b"l5"
    assign = LitePullConsumer("sdk-lite-assign", config=fast_config(cluster.namesrv),
                              consume_from_where=CONSUME_FROM_FIRST_OFFSET)  # fmt: skip
    assign.assign([queue])
    with pytest.raises(ClientError, match="mutually exclusive"):
        assign.subscribe(topic)
    async with assign:
        first = await assign.poll(10_000)
        assert first[0].body == b"l0"


async def test_pull_consumer_reads_by_offset_and_stores_offsets(cluster: Cluster) -> None:
    topic = "SdkPull"
    async with Producer("sdk-pull-p", config=fast_config(cluster.namesrv)) as producer:
        queue = (await producer.fetch_publish_message_queues(topic))[0]
        for i in range(5):
            await producer.send(Message(topic, f"p{i}".encode(), tags="A" if i % 2 else "B"), queue)
    async with PullConsumer("sdk-pull-c", config=fast_config(cluster.namesrv)) as consumer:
        assert queue in await consumer.fetch_subscribe_message_queues(topic)
        result = await consumer.pull(queue, "*", 0, 3)
        assert result.pull_status is PullStatus.FOUND
        assert [m.body for m in result.messages] == [b"p0", b"p1", b"p2"]
        assert result.next_begin_offset == 3
        assert result.max_offset == 5
        tagged = await consumer.pull(queue, "A", 0, 32)
        assert [m.body for m in tagged.messages] == [b"p1", b"p3"]
        none = await consumer.pull(queue, "*", 5, 32)
        assert none.pull_status is PullStatus.NO_NEW_MSG
        assert await consumer.max_offset(queue) == 5
        await consumer.update_consume_offset(queue, 3)
        await consumer.persist_offsets(oneway=False)
        assert await consumer.fetch_consume_offset(queue, from_store=True) == 3


async def test_delayed_message_arrives_after_its_level(cluster: Cluster) -> None:
    topic = "SdkDelay"
    inbox = Inbox()
    consumer = push(cluster, "sdk-delay-c", topic)
    consumer.register_message_listener(inbox)
    async with Producer("sdk-delay-p", config=fast_config(cluster.namesrv)) as producer:
        await producer.send(Message(topic, b"warm"))
        async with consumer:
            assert await inbox.wait_count(1)
            sent = await producer.send(Message(topic, b"later", delay_time_level=2))
            assert await inbox.wait_count(2)
    later = inbox.msgs[1]
    assert later.body == b"later"
    assert later.msg_id == sent.msg_id
    assert later.store_timestamp - later.born_timestamp >= 900


def test_blocking_facade_sends_and_consumes(cluster: Cluster) -> None:
    topic = "SdkBlocking"
    received: list[bytes] = []

    def listener(msgs: list[MessageExt], ctx: Any) -> Any:
        from rmq.client import ConsumeConcurrentlyStatus

        received.extend(m.body for m in msgs)
        return ConsumeConcurrentlyStatus.CONSUME_SUCCESS

    with blocking.Producer("sdk-blocking-p", config=fast_config(cluster.namesrv)) as producer:
        results = [producer.send(Message(topic, f"s{i}".encode())) for i in range(3)]
        assert all(r.send_status is SendStatus.SEND_OK for r in results)
        assert producer.send_async(Message(topic, b"s3")).result(10).queue_offset >= 0
    consumer = blocking.PushConsumer("sdk-blocking-c", config=fast_config(cluster.namesrv),
                                     consume_from_where=CONSUME_FROM_FIRST_OFFSET)  # fmt: skip
    consumer.subscribe(topic, "*")
    consumer.register_message_listener(listener)  # a plain function: runs on the pool
    with consumer:
        for _ in range(300):
            if len(received) >= 4:
                break
            import time

            time.sleep(0.05)
    assert sorted(received) == [b"s0", b"s1", b"s2", b"s3"]


def test_quickstart_examples_send_and_receive_1000(cluster: Cluster) -> None:
    env = {**os.environ, "NAMESRV_ADDR": cluster.namesrv}
    sent = subprocess.run([sys.executable, "-m", "rmq.examples.quickstart.producer"], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert sent.returncode == 0, sent.stderr[-2000:]
    lines = [ln for ln in sent.stdout.splitlines() if ln.startswith("SendResult [sendStatus=")]
    assert len(lines) == 1000
    assert all("SEND_OK" in ln for ln in lines)
    got = subprocess.run(
        [sys.executable, "-m", "rmq.examples.quickstart.consumer", "--count", "1000",
         "--seconds", "90"], env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert got.returncode == 0, got.stderr[-2000:]
    bodies = {ln.rsplit("body=", 1)[1] for ln in got.stdout.splitlines() if "body=" in ln}
    assert bodies == {f"Hello RocketMQ {i}" for i in range(1000)}


async def test_namesrv_address_from_a_lookup_url(cluster: Cluster) -> None:
    seen: list[str] = []

    class Lookup(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            body = cluster.namesrv.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.HTTPServer(("127.0.0.1", 0), Lookup)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        config = fast_config(cluster.namesrv)
        config.namesrv_addr = None
        config.namesrv_domain = f"127.0.0.1:{server.server_address[1]}"
        async with Producer("sdk-lookup-p", config=config) as producer:
            result = await producer.send(Message("SdkLookup", b"found"))
            assert result.send_status is SendStatus.SEND_OK
        assert seen == ["/rocketmq/nsaddr"]
    finally:
        server.shutdown()
        server.server_close()
