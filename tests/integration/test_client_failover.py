"""rmq.client with two masters (broker-a, broker-b, one cluster, real rmq processes): a topic
spreads over both, and when one is killed outright (its route still in the NameServer)
sends keep succeeding by retrying on the other broker, with and without latency fault
tolerance, while a consumer goes on reading the surviving broker."""

import asyncio
import signal
from pathlib import Path

import pytest

from rmq.client import Message, Producer, PushConsumer, SendStatus
from rmq.common.codes import RequestCode, ResponseCode
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import request
from tests.harness.processes import running_namesrv, start_broker
from tests.harness.py_client import Inbox, fast_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.parametrize("fault_tolerance", [False, True])
async def test_sends_fail_over_to_the_surviving_master(tmp_path: Path,
                                                       fault_tolerance: bool) -> None:  # fmt: skip
    topic = "SdkFailover"
    with running_namesrv(tmp_path / "ns") as ns:
        brokers = {
            name: start_broker(tmp_path / name, ns.addr, {"brokerName": name})
            for name in ("broker-a", "broker-b")
        }
        try:
            # As mqadmin updateTopic -c does: the topic on every master of the cluster.
            admin = RemotingClient(timeout=10.0)
            try:
                for broker in brokers.values():
                    header = {"topic": topic, "readQueueNums": "4", "writeQueueNums": "4",
                              "perm": "6", "topicFilterType": "SINGLE_TAG"}  # fmt: skip
                    reply = await admin.invoke(
                        broker.addr, request(RequestCode.UPDATE_AND_CREATE_TOPIC, header)
                    )
                    assert reply.code == ResponseCode.SUCCESS, reply.remark
            finally:
                await admin.close()
            async with Producer("sdk-failover-p", config=fast_config(ns.addr),
                                send_latency_fault_enable=fault_tolerance) as producer:  # fmt: skip
                for _ in range(100):
                    queues = await producer.fetch_publish_message_queues(topic)
                    if {q.broker_name for q in queues} == {"broker-a", "broker-b"}:
                        break
                    await asyncio.sleep(0.1)
                placed = set()
                for i in range(16):
                    result = await producer.send(Message(topic, f"warm{i}".encode()))
                    placed.add(result.message_queue.broker_name)
                assert placed == {"broker-a", "broker-b"}
                inbox = Inbox()
                consumer = PushConsumer("sdk-failover-c", config=fast_config(ns.addr))
                consumer.subscribe(topic, "*")
                consumer.register_message_listener(inbox)
                async with consumer:
                    await asyncio.sleep(1.0)
                    brokers["broker-a"].stop(signal.SIGKILL)
                    sent = []
                    for i in range(60):
                        result = await producer.send(Message(topic, f"after{i}".encode()))
                        assert result.send_status is SendStatus.SEND_OK
                        sent.append(result)
                    assert {r.message_queue.broker_name for r in sent} == {"broker-b"}
                    want = {f"after{i}".encode() for i in range(60)}
                    assert await inbox.wait_for(lambda _: want <= set(inbox.bodies()), 30)
        finally:
            for broker in brokers.values():
                broker.stop()
