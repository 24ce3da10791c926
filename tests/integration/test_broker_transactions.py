"""Transactional messages on a real broker: commit, rollback, check-back of an unknown
transaction, a restart in the middle, and the check limit. Time is compressed by
configuration (transactionCheckInterval, transactionTimeOut)."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from rmq.common import fastjson
from rmq.common.codes import RequestCode, ResponseCode
from rmq.common.message import StoredMessage, decode_records
from rmq.common.message_id import decode_offset_msg_id
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import RemotingCommand, request
from rmq.remoting.connection import Connection
from rmq.remoting.dispatch import Dispatcher
from tests.harness.broker_requests import pull_request, send_request
from tests.harness.processes import ServerProcess, free_port, running_broker

pytestmark = pytest.mark.integration

FAST = {"transactionCheckInterval": "300", "transactionTimeOut": "400"}
GROUP = "TxGroup"


class Producer:
    """A transactional producer: heartbeats its group and records check-backs."""

    def __init__(self) -> None:
        self.checks: asyncio.Queue[RemotingCommand] = asyncio.Queue()
        dispatcher = Dispatcher()
        dispatcher.register(RequestCode.CHECK_TRANSACTION_STATE, self._on_check)
        self.client = RemotingClient(timeout=10.0, dispatcher=dispatcher)

    def _on_check(self, conn: Connection, req: RemotingCommand) -> None:
        self.checks.put_nowait(req)

    async def heartbeat(self, addr: str) -> None:
        body = {"clientID": "127.0.0.1@tx", "consumerDataSet": [],
                "producerDataSet": [{"groupName": GROUP}]}  # fmt: skip
        reply = await self.client.invoke(
            addr, request(RequestCode.HEART_BEAT, body=fastjson.dumps(body))
        )
        assert reply.code == ResponseCode.SUCCESS

    async def half(self, addr: str, topic: str, body: bytes) -> RemotingCommand:
        props = {"TRAN_MSG": "true", "PGROUP": GROUP, "UNIQ_KEY": body.hex().upper()}
        reply = await self.client.invoke(
            addr, send_request(topic, body, properties=props, sys_flag=0x4, group=GROUP)
        )
        assert reply.code == ResponseCode.SUCCESS, reply.remark
        return reply

    async def end(self, addr: str, table_offset: str, commit_log_offset: int, decision: int,
                  *, from_check: bool = False) -> RemotingCommand:  # fmt: skip
        header = {
            "producerGroup": GROUP,
            "tranStateTableOffset": table_offset,
            "commitLogOffset": str(commit_log_offset),
            "commitOrRollback": str(decision),
            "fromTransactionCheck": "true" if from_check else "false",
            "msgId": "id",
        }
        return await self.client.invoke(addr, request(RequestCode.END_TRANSACTION, header))

    async def close(self) -> None:
        await self.client.close()


@pytest.fixture
def broker(tmp_path: Path, namesrv: ServerProcess) -> Iterator[ServerProcess]:
    with running_broker(tmp_path / "tx", namesrv.addr, FAST) as server:
        yield server


@pytest.fixture
async def producer() -> AsyncIterator[Producer]:
    p = Producer()
    yield p
    await p.close()


async def pull(client: RemotingClient, addr: str, topic: str,
               suspend_ms: int = 0) -> list[StoredMessage]:  # fmt: skip
    reply = await client.invoke(addr, pull_request("TxC", topic, 0, 0, suspend_ms=suspend_ms))
    return decode_records(reply.body or b"") if reply.code == ResponseCode.SUCCESS else []


async def test_commit_makes_the_half_message_visible(
    broker: ServerProcess, producer: Producer
) -> None:
    sent = await producer.half(broker.addr, "TxTopic", b"commit-me")
    assert await pull(producer.client, broker.addr, "TxTopic") == []
    _, phy = decode_offset_msg_id(sent.field("msgId") or "")
    wrong = await producer.end(broker.addr, "99", phy, 8)
    assert wrong.code == ResponseCode.SYSTEM_ERROR
    assert "state table offset" in (wrong.remark or "")
    ok = await producer.end(broker.addr, sent.field("queueOffset") or "", phy, 8)
    assert ok.code == ResponseCode.SUCCESS, ok.remark
    got = await pull(producer.client, broker.addr, "TxTopic")
    assert [m.body for m in got] == [b"commit-me"]
    assert got[0].sys_flag & 0xC == 0x8
    assert got[0].prepared_transaction_offset == phy
    assert "TRAN_MSG" not in got[0].properties
    assert "REAL_TOPIC" not in got[0].properties
    # Finished: never checked back, even once old enough.
    await producer.heartbeat(broker.addr)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(1.5):
            await producer.checks.get()


async def test_rollback_discards_the_half_message(
    broker: ServerProcess, producer: Producer
) -> None:
    sent = await producer.half(broker.addr, "TxRollback", b"roll-me-back")
    _, phy = decode_offset_msg_id(sent.field("msgId") or "")
    reply = await producer.end(broker.addr, sent.field("queueOffset") or "", phy, 12)
    assert reply.code == ResponseCode.SUCCESS
    await producer.heartbeat(broker.addr)
    await asyncio.sleep(1.2)
    assert producer.checks.empty()
    assert await pull(producer.client, broker.addr, "TxRollback") == []


async def test_unknown_transaction_is_checked_back_and_committed(
    broker: ServerProcess, producer: Producer
) -> None:
    await producer.heartbeat(broker.addr)
    await producer.half(broker.addr, "TxCheck", b"ask-me")
    async with asyncio.timeout(15):
        check = await producer.checks.get()
    assert check.field("msgId") == b"ask-me".hex().upper()
    (shown,) = decode_records(check.body or b"")
    assert shown.topic == "TxCheck"
    assert shown.properties["TRANSACTION_CHECK_TIMES"] == "1"
    reply = await producer.end(
        broker.addr, check.field("tranStateTableOffset") or "",
        int(check.field("commitLogOffset") or -1), 8, from_check=True,
    )  # fmt: skip
    assert reply.code == ResponseCode.SUCCESS, reply.remark
    got = await pull(producer.client, broker.addr, "TxCheck", suspend_ms=5000)
    assert [m.body for m in got] == [b"ask-me"]


async def test_restart_in_the_middle_of_a_transaction(
    tmp_path: Path, namesrv: ServerProcess
) -> None:
    home, port = tmp_path / "tx-restart", free_port()
    producer = Producer()
    try:
        slow = {**FAST, "transactionCheckInterval": "60000"}
        with running_broker(home, namesrv.addr, slow, port=port) as server:
            await producer.half(server.addr, "TxRestart", b"survivor")
        await producer.close()
        producer = Producer()
        with running_broker(home, namesrv.addr, FAST, port=port) as server:
            await producer.heartbeat(server.addr)
            async with asyncio.timeout(15):
                check = await producer.checks.get()
            reply = await producer.end(
                server.addr, check.field("tranStateTableOffset") or "",
                int(check.field("commitLogOffset") or -1), 8, from_check=True,
            )  # fmt: skip
            assert reply.code == ResponseCode.SUCCESS
            got = await pull(producer.client, server.addr, "TxRestart", suspend_ms=5000)
            assert [m.body for m in got] == [b"survivor"]
    finally:
        await producer.close()


async def test_half_message_checked_too_often_is_moved_aside(
    tmp_path: Path, namesrv: ServerProcess
) -> None:
    producer = Producer()
    try:
        extra = {**FAST, "transactionCheckMax": "2"}
        with running_broker(tmp_path / "tx-max", namesrv.addr, extra) as server:
            await producer.heartbeat(server.addr)
            await producer.half(server.addr, "TxMax", b"never-answered")
            async with asyncio.timeout(20):
                for _ in range(2):
                    await producer.checks.get()
            moved: list[StoredMessage] = []
            for _ in range(50):
                moved = await pull(producer.client, server.addr, "TRANS_CHECK_MAX_TIME_TOPIC")
                if moved:
                    break
                await asyncio.sleep(0.2)
            assert [m.body for m in moved] == [b"never-answered"]
            assert moved[0].properties["TRANSACTION_CHECK_TIMES"] == "2"
            assert await pull(producer.client, server.addr, "TxMax") == []
    finally:
        await producer.close()


async def test_each_pass_checks_an_open_transaction_once(
    tmp_path: Path, namesrv: ServerProcess
) -> None:
    producer = Producer()
    try:
        extra = {"transactionCheckInterval": "1500", "transactionTimeOut": "200"}
        with running_broker(tmp_path / "tx-once", namesrv.addr, extra) as server:
            await producer.heartbeat(server.addr)
            await producer.half(server.addr, "TxOnce", b"slow-answer")
            async with asyncio.timeout(15):
                await producer.checks.get()
            await asyncio.sleep(0.5)  # well inside one interval: no second check yet
            assert producer.checks.empty()
    finally:
        await producer.close()
