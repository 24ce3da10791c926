"""rmq.client side by side with the official Java client and mqadmin on real rmq processes:
messages cross between the two clients with bodies, keys, tags and properties intact; a
Java and a Python consumer share one group's queues; mqadmin reads a Python consumer's
connection and running info and resets its offsets while it runs."""

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rmq.client import CONSUME_FROM_FIRST_OFFSET, Message, Producer, PushConsumer
from tests.harness.java_client import (
    Cluster,
    JavaClient,
    admin,
    expected_body,
    java,
    received,
    send,
)
from tests.harness.processes import running_broker, running_namesrv
from tests.harness.py_client import Inbox, fast_config

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    home: Path = tmp_path_factory.mktemp("client-mixed")
    with (
        running_namesrv(home / "namesrv") as namesrv,
        running_broker(home / "broker", namesrv.addr) as broker,
    ):
        yield Cluster(namesrv, broker)


def python_consumer(cluster: Cluster, group: str, topic: str, inbox: Inbox) -> PushConsumer:
    consumer = PushConsumer(group, config=fast_config(cluster.namesrv.addr),
                            consume_from_where=CONSUME_FROM_FIRST_OFFSET)  # fmt: skip
    consumer.subscribe(topic, "*")
    consumer.register_message_listener(inbox)
    return consumer


def java_style(topic: str, mode: str, i: int) -> Message:
    """The message RmqCompat's ``send`` builds, built with rmq.client."""
    body = f"{mode} body {i} {'y' * (i % 5 * 30)}".encode()
    msg = Message(topic, body, tags="TagA" if i % 2 == 0 else "TagB", keys=f"{mode}-key-{i}")
    msg.put_user_property("idx", str(i))
    return msg


async def test_java_producer_to_python_consumer(cluster: Cluster) -> None:
    topic = "MixedJavaToPy"
    assert send(cluster, topic, "sync", 10).count("SEND_OK") == 10
    inbox = Inbox()
    async with python_consumer(cluster, "MixedJavaToPyG", topic, inbox):
        assert await inbox.wait_count(10)
    by_idx = {int(m.user_property("idx") or -1): m for m in inbox.msgs}
    assert sorted(by_idx) == list(range(10))
    for i, m in by_idx.items():
        assert m.body.decode().replace(" ", "_") == expected_body("sync", i)
        assert m.tags == ("TagA" if i % 2 == 0 else "TagB")
        assert m.keys == f"sync-key-{i}"


async def test_python_producer_to_java_consumer(cluster: Cluster) -> None:
    topic = "MixedPyToJava"
    async with Producer("MixedPyToJavaP", config=fast_config(cluster.namesrv.addr)) as producer:
        for i in range(8):
            await producer.send(java_style(topic, "py", i))
        batch = [java_style(topic, "pybatch", i) for i in range(3)]
        await producer.send_batch(batch)
        big = java_style(topic, "pybig", 0)
        big.body = b"Z" * 6000  # over compress_msg_body_over_howmuch: sent compressed
        await producer.send(big)
    out = await asyncio.to_thread(java, "push", cluster.namesrv.addr, topic, "MixedPyToJavaG",
                                  "CLUSTERING", "*", "12", "60", "0", timeout=120)  # fmt: skip
    assert out.rstrip().endswith("DONE"), out
    got = {(r.keys, r.tags, r.idx, r.body) for r in received(out)}
    want = {(f"py-key-{i}", "TagA" if i % 2 == 0 else "TagB", str(i), expected_body("py", i))
            for i in range(8)}  # fmt: skip
    want |= {(f"pybatch-key-{i}", "TagA" if i % 2 == 0 else "TagB", str(i),
              expected_body("pybatch", i)) for i in range(3)}  # fmt: skip
    want.add(("pybig-key-0", "TagA", "0", "Z" * 6000))
    assert got == want


async def test_java_and_python_consumers_share_a_group(cluster: Cluster) -> None:
    topic, group = "MixedShared", "MixedSharedG"
    async with Producer("MixedSharedP", config=fast_config(cluster.namesrv.addr)) as producer:
        await producer.send(Message(topic, b"warmup"))
        inbox = Inbox()
        consumer = python_consumer(cluster, group, topic, inbox)
        async with consumer:
            assert await inbox.wait_count(1)
            with JavaClient("push", cluster.namesrv.addr, topic, group, "CLUSTERING", "*",
                            "1000", "25", "0") as java_consumer:  # fmt: skip
                assert await asyncio.to_thread(java_consumer.wait_for,
                                               lambda ls: "STARTED" in ls, 60)  # fmt: skip

                def held() -> set[int]:
                    return {q.queue_id for q in consumer.rebalance.process_queues
                            if q.topic == topic}  # fmt: skip

                for _ in range(400):
                    if len(held()) == 2:
                        break
                    await asyncio.sleep(0.1)
                # Both clients ran the same allocation: the Python one holds half.
                assert len(held()) == 2
                await asyncio.sleep(1.0)  # the Java side's rebalance runs on its own clock
                for i in range(40):
                    await producer.send(java_style(topic, "shared", i))
                out = await asyncio.to_thread(java_consumer.finish, 60)
            java_got = [int(r.idx) for r in received(out) if r.idx != "null"]
        python_got = [int(m.user_property("idx") or -1) for m in inbox.msgs[1:]]
    assert sorted(java_got + python_got) == list(range(40))
    assert java_got
    assert python_got


async def test_mqadmin_reads_and_resets_a_python_consumer(cluster: Cluster) -> None:
    topic, group = "MixedAdmin", "MixedAdminG"
    async with Producer("MixedAdminP", config=fast_config(cluster.namesrv.addr)) as producer:
        for i in range(10):
            await producer.send(java_style(topic, "adm", i))
    before = int(time.time() * 1000) - 60_000
    inbox = Inbox()
    consumer = python_consumer(cluster, group, topic, inbox)
    async with consumer:
        assert await inbox.wait_count(10)
        client_id = consumer.instance.client_id
        connection = await asyncio.to_thread(admin, cluster, "consumerConnection", "-g", group)
        assert client_id in connection
        assert "PYTHON" in connection
        assert "CLUSTERING" in connection
        status = await asyncio.to_thread(admin, cluster, "consumerStatus", "-g", group,
                                         "-i", client_id)  # fmt: skip
        assert "#Consumer Subscription#" in status
        assert re.search(rf"Topic: {topic}\s", status)
        assert "CONSUME_PASSIVELY" in status
        # Committed offsets reach the broker, then an online reset replays everything.
        await asyncio.sleep(1.5)
        reset = await asyncio.to_thread(admin, cluster, "resetOffsetByTime", "-g", group,
                                        "-t", topic, "-s", str(before))  # fmt: skip
        assert "rollback consumer offset by specified" in reset or topic in reset
        assert await inbox.wait_count(20)
    replayed = sorted(int(m.user_property("idx") or -1) for m in inbox.msgs[10:])
    assert replayed == list(range(10))


async def test_mqadmin_clone_group_offset_lets_a_new_group_start_where_another_is(
    cluster: Cluster,
) -> None:
    topic = "MixedClone"
    async with Producer("MixedCloneP", config=fast_config(cluster.namesrv.addr)) as producer:
        for i in range(10):
            await producer.send(java_style(topic, "old", i))
        source = Inbox()
        async with python_consumer(cluster, "MixedCloneSrc", topic, source):
            assert await source.wait_count(10)
            await asyncio.sleep(1.5)  # offsets committed
        args = ["-s", "MixedCloneSrc", "-d", "MixedCloneDst", "-t", topic, "-o", "false"]
        cloned = await asyncio.to_thread(admin, cluster, "cloneGroupOffset", *args)
        assert "success" in cloned.lower()
        for i in range(5):
            await producer.send(java_style(topic, "new", i))
        # CONSUME_FROM_FIRST_OFFSET only applies to a group with no offsets: the clone has
        # the source's, so only the new messages arrive.
        dest = Inbox()
        async with python_consumer(cluster, "MixedCloneDst", topic, dest):
            assert await dest.wait_count(5)
            await asyncio.sleep(1.0)
    assert sorted(m.keys or "" for m in dest.msgs) == [f"new-key-{i}" for i in range(5)]
