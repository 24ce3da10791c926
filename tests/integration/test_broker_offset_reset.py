"""Offset reset by time and skip-accumulated through the broker (INVOKE_BROKER_TO_RESET_OFFSET)
and consumer status collection, with a consumer connection that answers as a client."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rmq.common import fastjson
from rmq.common.codes import RequestCode, ResponseCode
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import RemotingCommand, request
from rmq.remoting.connection import Connection
from rmq.remoting.dispatch import Dispatcher
from tests.harness.broker_requests import consumer_heartbeat, send_request
from tests.harness.processes import ServerProcess, running_broker

pytestmark = pytest.mark.integration

TOPIC, GROUP = "Reset", "ResetG"


@pytest.fixture
def broker(tmp_path: Path, namesrv: ServerProcess) -> Iterator[ServerProcess]:
    # One queue keeps the offsets easy to read.
    with running_broker(tmp_path / "reset", namesrv.addr, {"defaultTopicQueueNums": "1"}) as b:
        yield b


def reset_request(timestamp: int, force: bool = True) -> RemotingCommand:
    return request(
        RequestCode.INVOKE_BROKER_TO_RESET_OFFSET,
        {
            "topic": TOPIC,
            "group": GROUP,
            "timestamp": str(timestamp),
            "isForce": "true" if force else "false",
        },
    )


def offsets_of(body: bytes | None) -> dict[int, int]:
    table = fastjson.loads(body or b"{}")["offsetTable"]
    return {key.as_dict()["queueId"]: offset for key, offset in table.items()}


async def prepare(bc: RemotingClient, addr: str) -> int:
    """Four messages before a recorded moment, four after; the group has consumed all.
    RocketMQ resolves a time to the queue offset of the message stored nearest to it, so
    the moment sits much closer to the fifth message than to the fourth."""
    for i in range(4):
        assert (await bc.invoke(addr, send_request(TOPIC, b"old%d" % i))).code == 0
    await asyncio.sleep(0.3)
    middle = int(time.time() * 1000)
    await asyncio.sleep(0.01)
    for i in range(4):
        assert (await bc.invoke(addr, send_request(TOPIC, b"new%d" % i))).code == 0
    commit = request(
        RequestCode.UPDATE_CONSUMER_OFFSET,
        {"consumerGroup": GROUP, "topic": TOPIC, "queueId": "0", "commitOffset": "8"},
    )
    assert (await bc.invoke(addr, commit)).code == ResponseCode.SUCCESS
    return middle


async def test_reset_with_nobody_online_says_consumer_not_online(
    broker: ServerProcess, bc: RemotingClient
) -> None:
    middle = await prepare(bc, broker.addr)
    reply = await bc.invoke(broker.addr, reset_request(middle))
    assert reply.code == ResponseCode.CONSUMER_NOT_ONLINE
    assert "Consumer not online" in (reply.remark or "")


async def test_reset_unknown_group_or_topic_is_refused(
    broker: ServerProcess, bc: RemotingClient
) -> None:
    await bc.invoke(broker.addr, send_request(TOPIC, b"x"))
    reply = await bc.invoke(broker.addr, reset_request(0))
    assert reply.code == ResponseCode.SYSTEM_ERROR
    assert f"<{GROUP}> not exist" in (reply.remark or "")
    missing = reset_request(0)
    missing.ext_fields = {**(missing.ext_fields or {}), "topic": "NoSuchTopic"}
    reply = await bc.invoke(broker.addr, missing)
    assert reply.code == ResponseCode.SYSTEM_ERROR
    assert "no topic in this broker" in (reply.remark or "")


async def test_reset_by_time_and_skip_accumulated_reach_online_consumers(
    broker: ServerProcess, bc: RemotingClient
) -> None:
    pushed: asyncio.Queue[RemotingCommand] = asyncio.Queue()

    def on_reset(conn: Connection, req: RemotingCommand) -> None:
        pushed.put_nowait(req)

    def on_status(conn: Connection, req: RemotingCommand) -> RemotingCommand:
        mq = {"brokerName": "broker-a", "queueId": 0, "topic": TOPIC}
        return req.answer(body=b'{"messageQueueTable":' + fastjson.dumps_object_keyed([(mq, 6)])
                          + b"}")  # fmt: skip

    dispatcher = Dispatcher()
    dispatcher.register(RequestCode.RESET_CONSUMER_CLIENT_OFFSET, on_reset)
    dispatcher.register(RequestCode.GET_CONSUMER_STATUS_FROM_CLIENT, on_status)
    consumer = RemotingClient(dispatcher=dispatcher)
    try:
        middle = await prepare(bc, broker.addr)
        hb = consumer_heartbeat("127.0.0.1@rs", GROUP, [(TOPIC, "*", "TAG")])
        assert (await consumer.invoke(broker.addr, hb)).code == ResponseCode.SUCCESS

        reply = await bc.invoke(broker.addr, reset_request(middle))
        assert reply.code == ResponseCode.SUCCESS
        assert offsets_of(reply.body) == {0: 4}
        push = await asyncio.wait_for(pushed.get(), 10)
        assert push.field("group") == GROUP
        assert push.field("timestamp") == str(middle)
        assert offsets_of(push.body) == {0: 4}

        # Not forced: a target past the consumer's position keeps the position.
        commit = request(
            RequestCode.UPDATE_CONSUMER_OFFSET,
            {"consumerGroup": GROUP, "topic": TOPIC, "queueId": "0", "commitOffset": "2"},
        )
        assert (await bc.invoke(broker.addr, commit)).code == ResponseCode.SUCCESS
        reply = await bc.invoke(broker.addr, reset_request(middle, force=False))
        assert offsets_of(reply.body) == {0: 2}
        await asyncio.wait_for(pushed.get(), 10)

        # skipAccumulatedMessage is a reset to timestamp -1: the end of each queue.
        reply = await bc.invoke(broker.addr, reset_request(-1))
        assert offsets_of(reply.body) == {0: 8}
        await asyncio.wait_for(pushed.get(), 10)

        status = await bc.invoke(
            broker.addr,
            request(
                RequestCode.INVOKE_BROKER_TO_GET_CONSUMER_STATUS, {"topic": TOPIC, "group": GROUP}
            ),
        )
        assert status.code == ResponseCode.SUCCESS
        table = fastjson.loads(status.body or b"{}")["consumerTable"]
        [(client_id, queues)] = table.items()
        assert client_id == "127.0.0.1@rs"
        assert [(k.as_dict()["queueId"], v) for k, v in queues.items()] == [(0, 6)]
    finally:
        await consumer.close()
