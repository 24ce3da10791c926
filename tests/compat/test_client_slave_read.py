"""rmq.client reading from a slave, with every pairing of master and slave: Apache RocketMQ
4.9.7 and rmq, each as the ASYNC_MASTER and as the SLAVE (the HA port speaks the same
frames). With the master stopped, the route names only the slave, and a consumer still
reads every message from it, offsets included, as the Java client does."""

import asyncio
import time
from pathlib import Path

import pytest

from rmq.client import CONSUME_FROM_FIRST_OFFSET, Message, Producer, PushConsumer
from rmq.client.message import MessageQueue
from rmq.common.codes import RequestCode
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import request
from tests.harness.java import classpath, java_env
from tests.harness.pair import BROKER_JVM, spawn, start_pair, stop
from tests.harness.processes import BIN, free_broker_port, write_properties
from tests.harness.py_client import Inbox, fast_config

pytestmark = [pytest.mark.compat, pytest.mark.slow]


async def _slave_has_topic(addr: str, topic: str) -> bool:
    """The slave copied the topic's config from its master (Java: every 10 s)."""
    remoting = RemotingClient(timeout=5.0)
    try:
        reply = await remoting.invoke(addr, request(RequestCode.GET_ALL_TOPIC_CONFIG))
        return f'"{topic}"'.encode() in (reply.body or b"")
    finally:
        await remoting.close()


async def _slave_max_offsets(addr: str, topic: str) -> int:
    remoting = RemotingClient(timeout=5.0)
    try:
        total = 0
        for queue_id in range(4):
            header = {"topic": topic, "queueId": str(queue_id)}
            reply = await remoting.invoke(addr, request(RequestCode.GET_MAX_OFFSET, header))
            total += int(reply.field("offset") or 0)
        return total
    finally:
        await remoting.close()


@pytest.mark.parametrize(
    ("master_system", "slave_system"),
    [("apache", "apache"), ("rmq", "rmq"), ("apache", "rmq"), ("rmq", "apache")],
)
async def test_consumer_reads_from_the_slave_when_the_master_is_gone(
    tmp_path: Path, master_system: str, slave_system: str
) -> None:
    topic = "SdkSlaveRead"
    small = {"mappedFileSizeCommitLog": str(16 * 1024 * 1024),
             "mappedFileSizeConsumeQueue": str(20 * 30000)}  # fmt: skip
    (tmp_path / "master").mkdir()
    pair = start_pair(master_system, tmp_path / "master", "ASYNC_FLUSH",
                      {**small, "brokerRole": "ASYNC_MASTER"}, pin=False,
                      broker_name="broker-ha")  # fmt: skip
    slave_port = free_broker_port()
    slave_conf = write_properties(tmp_path / "slave.properties", {
        "brokerClusterName": "BenchCluster", "brokerName": "broker-ha", "brokerId": "1",
        "brokerRole": "SLAVE", "brokerIP1": "127.0.0.1", "listenPort": str(slave_port),
        "haListenPort": str(slave_port + 1), "namesrvAddr": pair.namesrv,
        "storePathRootDir": str(tmp_path / "slave" / "store"), **small,
    })  # fmt: skip
    if slave_system == "rmq":
        command = [str(BIN / "rmq-broker"), "-c", str(slave_conf)]
        env = {**pair.env, "HOME": str(tmp_path / "slave")}
    else:
        command = ["java", *BROKER_JVM, f"-Duser.home={tmp_path / 'slave'}", "-cp",
                   classpath(), "org.apache.rocketmq.broker.BrokerStartup", "-c",
                   str(slave_conf)]  # fmt: skip
        env = java_env(tmp_path / "slave")
    slave, _ = await asyncio.to_thread(spawn, command, env, False)
    slave_addr = f"127.0.0.1:{slave_port}"
    try:
        async with Producer("sdk-slave-p", config=fast_config(pair.namesrv)) as producer:
            queues = await producer.fetch_publish_message_queues(topic)
            for i in range(20):
                await producer.send(Message(topic, f"s{i}".encode()), queues[i % 4])
        deadline = time.monotonic() + 60
        while await _slave_max_offsets(slave_addr, topic) < 20 or not await _slave_has_topic(
            slave_addr, topic
        ):
            assert time.monotonic() < deadline, (
                "the slave never caught up: "
                f"{await _slave_max_offsets(slave_addr, topic)} messages, topic known: "
                f"{await _slave_has_topic(slave_addr, topic)}"
            )
            await asyncio.sleep(0.5)
        await asyncio.to_thread(pair.stop_broker)
        inbox = Inbox()
        consumer = PushConsumer("sdk-slave-c", config=fast_config(pair.namesrv),
                                consume_from_where=CONSUME_FROM_FIRST_OFFSET)  # fmt: skip
        consumer.subscribe(topic, "*")
        consumer.register_message_listener(inbox)
        async with consumer:
            assert await inbox.wait_count(20, timeout=60)
            held = set(consumer.rebalance.process_queues)
        assert sorted(inbox.bodies()) == sorted(f"s{i}".encode() for i in range(20))
        assert held == {MessageQueue(topic, "broker-ha", i) for i in range(4)}
    finally:
        stop(slave)
        pair.stop()
