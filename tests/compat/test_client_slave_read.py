"""rmq.client reading from a slave: Apache RocketMQ 4.9.7 as an ASYNC_MASTER and its SLAVE
(rmq's own replication is issue 9). With the master stopped, the route names only the
slave, and a consumer still reads every message from it, offsets included, as the Java
client does."""

import asyncio
import time
from pathlib import Path

import pytest

from rmq.client import CONSUME_FROM_FIRST_OFFSET, Message, Producer, PushConsumer
from rmq.client.message import MessageQueue
from rmq.common.codes import RequestCode
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import request
from tests.harness.java import classpath
from tests.harness.pair import BROKER_JVM, spawn, start_pair, stop
from tests.harness.processes import free_broker_port, write_properties
from tests.harness.py_client import Inbox, fast_config

pytestmark = [pytest.mark.compat, pytest.mark.slow]


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


async def test_consumer_reads_from_the_slave_when_the_master_is_gone(tmp_path: Path) -> None:
    topic = "SdkSlaveRead"
    small = {"mappedFileSizeCommitLog": str(16 * 1024 * 1024),
             "mappedFileSizeConsumeQueue": str(20 * 30000)}  # fmt: skip
    (tmp_path / "master").mkdir()
    pair = start_pair("apache", tmp_path / "master", "ASYNC_FLUSH",
                      {**small, "brokerRole": "ASYNC_MASTER"}, pin=False,
                      broker_name="broker-ha")  # fmt: skip
    slave_port = free_broker_port()
    slave_conf = write_properties(tmp_path / "slave.properties", {
        "brokerClusterName": "BenchCluster", "brokerName": "broker-ha", "brokerId": "1",
        "brokerRole": "SLAVE", "brokerIP1": "127.0.0.1", "listenPort": str(slave_port),
        "haListenPort": str(slave_port + 1), "namesrvAddr": pair.namesrv,
        "storePathRootDir": str(tmp_path / "slave" / "store"), **small,
    })  # fmt: skip
    command = ["java", *BROKER_JVM, f"-Duser.home={tmp_path / 'slave'}", "-cp", classpath(),
               "org.apache.rocketmq.broker.BrokerStartup", "-c", str(slave_conf)]  # fmt: skip
    slave, _ = await asyncio.to_thread(spawn, command, pair.env, False)
    slave_addr = f"127.0.0.1:{slave_port}"
    try:
        async with Producer("sdk-slave-p", config=fast_config(pair.namesrv)) as producer:
            queues = await producer.fetch_publish_message_queues(topic)
            for i in range(20):
                await producer.send(Message(topic, f"s{i}".encode()), queues[i % 4])
        deadline = time.monotonic() + 60
        while await _slave_max_offsets(slave_addr, topic) < 20:
            assert time.monotonic() < deadline, "the slave never caught up"
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
