"""SQL92 property filters on a real broker: only matching messages are delivered, offsets
move past skipped ones, bad expressions and a broker without enablePropertyFilter answer
with Apache RocketMQ's codes."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from rmq.common import fastjson
from rmq.common.codes import RequestCode, ResponseCode
from rmq.common.message import decode_records
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import request
from tests.harness.broker_requests import consumer_heartbeat, pull_request, send_request
from tests.harness.processes import ServerProcess, running_broker

pytestmark = pytest.mark.integration

SQL = "SQL92"


@pytest.fixture
def broker(tmp_path: Path, namesrv: ServerProcess) -> Iterator[ServerProcess]:
    with running_broker(tmp_path / "sql", namesrv.addr, {"enablePropertyFilter": "true"}) as b:
        yield b


async def send_numbered(bc: RemotingClient, addr: str, topic: str, count: int) -> None:
    for n in range(count):
        props = {"n": str(n), "TAGS": "even" if n % 2 == 0 else "odd"}
        reply = await bc.invoke(addr, send_request(topic, f"m{n}".encode(), properties=props))
        assert reply.code == ResponseCode.SUCCESS


async def test_pull_delivers_only_matching_messages(
    broker: ServerProcess, bc: RemotingClient
) -> None:
    await send_numbered(bc, broker.addr, "Sql", 20)
    expression = "n >= 10 AND TAGS = 'even'"
    reply = await bc.invoke(
        broker.addr,
        pull_request("SqlG", "Sql", 0, 0, subscription=expression, expression_type=SQL),
    )
    assert reply.code == ResponseCode.SUCCESS
    got = decode_records(reply.body or b"")
    assert [m.properties["n"] for m in got] == ["10", "12", "14", "16", "18"]
    assert reply.field("nextBeginOffset") == "20"

    # A batch limit stops right after the last message it kept.
    reply = await bc.invoke(
        broker.addr,
        pull_request("SqlG", "Sql", 0, 0, max_nums=2, subscription=expression, expression_type=SQL),
    )
    assert [m.properties["n"] for m in decode_records(reply.body or b"")] == ["10", "12"]
    assert reply.field("nextBeginOffset") == "13"


async def test_nothing_matching_moves_the_consumer_past_the_scan(
    broker: ServerProcess, bc: RemotingClient
) -> None:
    await send_numbered(bc, broker.addr, "SqlNone", 5)
    reply = await bc.invoke(
        broker.addr,
        pull_request("SqlG", "SqlNone", 0, 0, subscription="n > 100", expression_type=SQL),
    )
    assert reply.code == ResponseCode.PULL_RETRY_IMMEDIATELY
    assert reply.remark == "NO_MATCHED_MESSAGE"
    assert reply.field("nextBeginOffset") == "5"


async def test_unknown_property_and_bad_values_do_not_match(
    broker: ServerProcess, bc: RemotingClient
) -> None:
    for props in ({"price": "12"}, {"price": "cheap"}, {}):
        reply = await bc.invoke(broker.addr, send_request("SqlVal", b"x", properties=props))
        assert reply.code == ResponseCode.SUCCESS
    reply = await bc.invoke(
        broker.addr,
        pull_request("SqlG", "SqlVal", 0, 0, subscription="price > 10", expression_type=SQL),
    )
    assert [m.properties.get("price") for m in decode_records(reply.body or b"")] == ["12"]


@pytest.mark.parametrize("expression", ["a >", "a = NULL", "a in (1)", "a ! 1", ""])
async def test_bad_expression_is_subscription_parse_failed(
    broker: ServerProcess, bc: RemotingClient, expression: str
) -> None:
    reply = await bc.invoke(
        broker.addr,
        pull_request("SqlG", "TBW102", 0, 0, subscription=expression, expression_type=SQL),
    )
    assert reply.code == ResponseCode.SUBSCRIPTION_PARSE_FAILED
    check = request(
        RequestCode.CHECK_CLIENT_CONFIG,
        body=fastjson.dumps(
            {
                "clientId": "127.0.0.1@c",
                "group": "SqlG",
                "subscriptionData": {
                    "topic": "Sql",
                    "subString": expression,
                    "expressionType": SQL,
                },
            }
        ),
    )
    reply = await bc.invoke(broker.addr, check)
    assert reply.code == ResponseCode.SUBSCRIPTION_PARSE_FAILED
    assert "Invalid MessageSelector" in (reply.remark or "")


async def test_heartbeat_subscription_filters_and_bad_one_has_no_filter_data(
    broker: ServerProcess, bc: RemotingClient
) -> None:
    await send_numbered(bc, broker.addr, "SqlHb", 6)
    reply = await bc.invoke(
        broker.addr, consumer_heartbeat("127.0.0.1@hb", "SqlHbG", [("SqlHb", "n < 2", SQL)])
    )
    assert reply.code == ResponseCode.SUCCESS
    reply = await bc.invoke(
        broker.addr, pull_request("SqlHbG", "SqlHb", 0, 0, with_subscription=False, sub_version=0)
    )
    assert [m.properties["n"] for m in decode_records(reply.body or b"")] == ["0", "1"]

    reply = await bc.invoke(
        broker.addr, consumer_heartbeat("127.0.0.1@bad", "SqlBadG", [("SqlHb", "n <", SQL)])
    )
    assert reply.code == ResponseCode.SUCCESS
    reply = await bc.invoke(
        broker.addr, pull_request("SqlBadG", "SqlHb", 0, 0, with_subscription=False, sub_version=0)
    )
    assert reply.code == ResponseCode.FILTER_DATA_NOT_EXIST


async def test_broker_without_property_filter_refuses_sql(
    tmp_path: Path, namesrv: ServerProcess, bc: RemotingClient
) -> None:
    with running_broker(tmp_path / "nosql", namesrv.addr) as plain:
        reply = await bc.invoke(
            plain.addr,
            pull_request("SqlG", "TBW102", 0, 0, subscription="a = 1", expression_type=SQL),
        )
        assert reply.code == ResponseCode.SYSTEM_ERROR
        assert "does not support consumer to filter message by SQL92" in (reply.remark or "")
