"""Delay levels and retry/dead-letter handling on a real broker, with time compressed by
configuration (messageDelayLevel), never by long sleeps."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rmq.common import fastjson
from rmq.common.codes import RequestCode, ResponseCode
from rmq.common.message import StoredMessage, decode_records
from rmq.common.message_id import decode_offset_msg_id
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import RemotingCommand, request
from tests.harness.broker_requests import pull_request, send_request
from tests.harness.processes import ServerProcess, free_port, running_broker

pytestmark = pytest.mark.integration

LEVELS = {"messageDelayLevel": "1s 2s 3s"}


@pytest.fixture
def broker(tmp_path: Path, namesrv: ServerProcess) -> Iterator[ServerProcess]:
    with running_broker(tmp_path / "semantics", namesrv.addr, LEVELS) as server:
        yield server


async def pull_all(client: RemotingClient, addr: str, topic: str, queue_id: int = 0,
                   offset: int = 0, suspend_ms: int = 0) -> list[StoredMessage]:  # fmt: skip
    reply = await client.invoke(
        addr, pull_request("SemG", topic, queue_id, offset, suspend_ms=suspend_ms)
    )
    if reply.code != ResponseCode.SUCCESS:
        return []
    return decode_records(reply.body or b"")


async def test_delayed_message_arrives_when_due_and_not_before(
    broker: ServerProcess, bc: RemotingClient
) -> None:
    sent_at = time.monotonic()
    reply = await bc.invoke(
        broker.addr, send_request("Later", b"delayed", properties={"DELAY": "3", "TAGS": "T"})
    )
    assert reply.code == ResponseCode.SUCCESS
    assert reply.field("queueId") == "0"
    assert await pull_all(bc, broker.addr, "Later") == []
    # A held pull is answered by the delivery itself.
    got = await pull_all(bc, broker.addr, "Later", suspend_ms=15000)
    elapsed = time.monotonic() - sent_at
    assert [m.body for m in got] == [b"delayed"]
    assert elapsed >= 2.9  # level 3 is 3 s here
    props = got[0].properties
    assert "DELAY" not in props
    assert props["REAL_TOPIC"] == "Later"
    assert props["REAL_QID"] == "0"
    assert props["TAGS"] == "T"


async def test_levels_above_the_maximum_are_clamped(
    broker: ServerProcess, bc: RemotingClient
) -> None:
    reply = await bc.invoke(broker.addr, send_request("Clamped", b"x", properties={"DELAY": "18"}))
    assert reply.code == ResponseCode.SUCCESS
    got = await pull_all(bc, broker.addr, "Clamped", suspend_ms=15000)
    assert [m.body for m in got] == [b"x"]


async def test_delay_progress_survives_restart(tmp_path: Path, namesrv: ServerProcess) -> None:
    home, port = tmp_path / "delay-restart", free_port()
    client = RemotingClient(timeout=20.0)
    try:
        with running_broker(home, namesrv.addr, LEVELS, port=port) as server:
            for i in range(3):
                props = {"DELAY": "1"}
                await client.invoke(server.addr, send_request("Resume", f"r{i}".encode(),
                                                              properties=props))  # fmt: skip
            got: list[StoredMessage] = []
            for _ in range(40):
                got += await pull_all(client, server.addr, "Resume", offset=len(got))
                if len(got) == 3:
                    break
                await asyncio.sleep(0.1)
            assert len(got) == 3
            await client.invoke(
                server.addr, send_request("Resume", b"late", properties={"DELAY": "3"})
            )
        await client.close()
        saved = fastjson.loads((home / "store" / "config" / "delayOffset.json").read_bytes())
        assert int(saved["offsetTable"]["1"]) == 3
        client = RemotingClient(timeout=20.0)
        with running_broker(home, namesrv.addr, LEVELS, port=port) as server:
            late = await pull_all(client, server.addr, "Resume", offset=3, suspend_ms=15000)
            assert [m.body for m in late] == [b"late"]
            # Nothing delivered before the restart comes again.
            everything = await pull_all(client, server.addr, "Resume")
            assert [m.body for m in everything] == [b"r0", b"r1", b"r2", b"late"]
    finally:
        await client.close()


async def test_send_back_climbs_the_retry_ladder_into_the_dead_letter_queue(
    broker: ServerProcess, bc: RemotingClient
) -> None:
    group = {"groupName": "Ladder", "retryMaxTimes": 2, "retryQueueNums": 1}
    reply = await bc.invoke(
        broker.addr,
        request(RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, body=fastjson.dumps(group)),
    )
    assert reply.code == ResponseCode.SUCCESS
    sent = await bc.invoke(broker.addr, send_request("Work", b"job", properties={"KEYS": "k"}))
    first_id = sent.field("msgId") or ""
    _, offset = decode_offset_msg_id(first_id)

    def back(phy: int) -> RemotingCommand:
        return request(
            RequestCode.CONSUMER_SEND_MSG_BACK,
            {"offset": str(phy), "group": "Ladder", "delayLevel": "0",
             "originMsgId": first_id, "originTopic": "Work", "maxReconsumeTimes": "2"},
        )  # fmt: skip

    retried: list[StoredMessage] = []
    for attempt in (1, 2):
        reply = await bc.invoke(broker.addr, back(offset))
        assert reply.code == ResponseCode.SUCCESS, reply.remark
        retried = await pull_all(bc, broker.addr, "%RETRY%Ladder", offset=attempt - 1,
                                 suspend_ms=15000)  # fmt: skip
        assert len(retried) == 1
        msg = retried[0]
        assert msg.body == b"job"
        assert msg.reconsume_times == attempt
        assert msg.properties["RETRY_TOPIC"] == "Work"
        assert msg.properties["ORIGIN_MESSAGE_ID"] == first_id
        assert msg.properties["KEYS"] == "k"
        offset = msg.phy_offset
    reply = await bc.invoke(broker.addr, back(offset))
    assert reply.code == ResponseCode.SUCCESS
    dead = await pull_all(bc, broker.addr, "%DLQ%Ladder")
    assert [m.body for m in dead] == [b"job"]
    assert dead[0].reconsume_times == 3
    assert dead[0].properties["ORIGIN_MESSAGE_ID"] == first_id
    assert "DELAY" not in dead[0].properties


async def test_retry_topic_send_past_max_reconsume_goes_to_dlq_at_once(
    broker: ServerProcess, bc: RemotingClient
) -> None:
    """What an orderly consumer does after its last local retry: send to %RETRY% with its
    reconsume count; the broker dead-letters it without parking it for the delay."""
    retry = await bc.invoke(
        broker.addr,
        send_request(
            "%RETRY%OrderG", b"poison", properties={"DELAY": "5", "idx": "7"},
            extra_headers={"reconsumeTimes": "2", "maxReconsumeTimes": "2"},
        ),
    )  # fmt: skip
    assert retry.code == ResponseCode.SUCCESS
    [dead] = await pull_all(bc, broker.addr, "%DLQ%OrderG")
    assert dead.body == b"poison"
    assert dead.properties["DELAY"] == "0"

    below = await bc.invoke(
        broker.addr,
        send_request(
            "%RETRY%OrderG", b"again", properties={"DELAY": "1"},
            extra_headers={"reconsumeTimes": "1", "maxReconsumeTimes": "2"},
        ),
    )  # fmt: skip
    assert below.code == ResponseCode.SUCCESS
    assert [m.body for m in await pull_all(bc, broker.addr, "%DLQ%OrderG")] == [b"poison"]


async def test_send_back_of_an_unknown_offset_is_an_error(
    broker: ServerProcess, bc: RemotingClient
) -> None:
    reply = await bc.invoke(
        broker.addr,
        request(
            RequestCode.CONSUMER_SEND_MSG_BACK,
            {"offset": "99999999", "group": "G", "delayLevel": "0"},
        ),
    )
    assert reply.code == ResponseCode.SYSTEM_ERROR
    assert "look message by offset failed" in (reply.remark or "")


def test_a_bad_delay_level_setting_stops_the_broker(tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError, match="messageDelayLevel"),
        running_broker(tmp_path, None, {"messageDelayLevel": "1s 5x"}),
    ):
        pass
