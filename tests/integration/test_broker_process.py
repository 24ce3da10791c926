"""A real rmq-broker (with a real rmq-namesrv) on loopback, driven through the protocol."""

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from rmq.common import fastjson
from rmq.common.codes import RequestCode, ResponseCode
from rmq.common.message import decode_records
from rmq.common.message_id import decode_offset_msg_id
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import RemotingCommand, request
from rmq.remoting.connection import Connection
from rmq.remoting.dispatch import Dispatcher
from tests.harness.broker_requests import batch_request, pull_request, send_request
from tests.harness.processes import (
    BIN,
    ServerProcess,
    free_port,
    running_broker,
    start_broker,
    start_process,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def broker(tmp_path: Path, namesrv: ServerProcess) -> Iterator[ServerProcess]:
    with running_broker(tmp_path / "broker-home", namesrv.addr) as server:
        yield server


def test_boot_line_names_broker_address_and_namesrv(
    broker: ServerProcess, namesrv: ServerProcess
) -> None:
    expected = (
        f"The broker[broker-t, 127.0.0.1:{broker.port}] boot success. "
        f"serializeType=JSON and name server is {namesrv.addr}"
    )
    assert expected in broker.output
    assert "broker started" in broker.log_tail("broker.log")


async def test_send_modes_round_trip_through_pull(
    broker: ServerProcess, namesrv: ServerProcess, bc: RemotingClient
) -> None:
    props = {"TAGS": "TagA", "KEYS": "k1 k2", "UNIQ_KEY": "AABBCC", "user": "v"}
    v2 = await bc.invoke(broker.addr, send_request("RoundTrip", b"v2 body", properties=props))
    assert v2.code == ResponseCode.SUCCESS, v2.remark
    assert v2.ext_fields is not None
    assert v2.ext_fields["queueOffset"] == "0"
    assert v2.ext_fields["MSG_REGION"] == "DefaultRegion"
    assert v2.ext_fields["TRACE_ON"] == "true"
    host, phy = decode_offset_msg_id(v2.ext_fields["msgId"])
    assert host == broker.addr
    assert phy == 0
    v1 = await bc.invoke(broker.addr, send_request("RoundTrip", b"v1 body", v2=False))
    assert v1.code == ResponseCode.SUCCESS, v1.remark
    batch = await bc.invoke(broker.addr, batch_request("RoundTrip", [b"b0", b"b1", b"b2"]))
    assert batch.code == ResponseCode.SUCCESS, batch.remark
    assert batch.ext_fields is not None
    assert len(batch.ext_fields["msgId"].split(",")) == 3
    assert batch.ext_fields["queueOffset"] == "2"

    pulled = await bc.invoke(broker.addr, pull_request("G", "RoundTrip", 0, 0))
    assert pulled.code == ResponseCode.SUCCESS
    assert pulled.remark == "FOUND"
    assert pulled.ext_fields is not None
    assert pulled.ext_fields["nextBeginOffset"] == "5"
    assert pulled.ext_fields["maxOffset"] == "5"
    assert pulled.ext_fields["suggestWhichBrokerId"] == "0"
    messages = decode_records(pulled.body or b"")
    assert [m.body for m in messages] == [b"v2 body", b"v1 body", b"b0", b"b1", b"b2"]
    first = messages[0].properties
    assert first["UNIQ_KEY"] == "AABBCC"
    assert first["KEYS"] == "k1 k2"
    assert first["user"] == "v"
    assert first["CLUSTER"] == "TestCluster"
    assert "WAIT" not in first
    batched = messages[3].properties
    assert (batched["KEYS"], batched["TAGS"], batched["CLUSTER"]) == (
        "batch-1",
        "TagB",
        "TestCluster",
    )
    assert "WAIT" not in batched

    # The auto-created topic is registered with the NameServer at once.
    route = await bc.invoke(
        namesrv.addr, request(RequestCode.GET_ROUTEINFO_BY_TOPIC, {"topic": "RoundTrip"})
    )
    assert route.code == ResponseCode.SUCCESS
    data = orjson.loads(route.body or b"")
    assert data["queueDatas"][0]["writeQueueNums"] == 4
    assert data["brokerDatas"][0]["brokerAddrs"] == {"0": broker.addr}


async def test_tag_filter_by_pull_subscription(broker: ServerProcess, bc: RemotingClient) -> None:
    for i, tag in enumerate(["TagA", "TagB", "TagC", "TagA"]):
        reply = await bc.invoke(
            broker.addr, send_request("Tagged", f"m{i}".encode(), properties={"TAGS": tag})
        )
        assert reply.code == ResponseCode.SUCCESS
    pulled = await bc.invoke(
        broker.addr, pull_request("G", "Tagged", 0, 0, subscription="TagA || TagC")
    )
    assert pulled.code == ResponseCode.SUCCESS
    assert [m.body for m in decode_records(pulled.body or b"")] == [b"m0", b"m2", b"m3"]
    assert pulled.ext_fields is not None
    assert pulled.ext_fields["nextBeginOffset"] == "4"
    none = await bc.invoke(broker.addr, pull_request("G", "Tagged", 0, 0, subscription="Nope"))
    assert none.code == ResponseCode.PULL_RETRY_IMMEDIATELY
    assert none.remark == "NO_MATCHED_MESSAGE"


async def test_pull_offset_codes(broker: ServerProcess, bc: RemotingClient) -> None:
    await bc.invoke(broker.addr, send_request("Offsets", b"x"))
    caught_up = await bc.invoke(broker.addr, pull_request("G", "Offsets", 0, 1))
    assert caught_up.code == ResponseCode.PULL_NOT_FOUND
    assert caught_up.remark == "OFFSET_OVERFLOW_ONE"
    assert caught_up.ext_fields is not None
    assert set(caught_up.ext_fields) == {
        "suggestWhichBrokerId",
        "nextBeginOffset",
        "minOffset",
        "maxOffset",
    }
    beyond = await bc.invoke(broker.addr, pull_request("G", "Offsets", 0, 9))
    assert beyond.code == ResponseCode.PULL_OFFSET_MOVED
    assert beyond.ext_fields is not None
    # Java's correction: back to the minimum while the queue still starts at 0.
    assert beyond.ext_fields["nextBeginOffset"] == "0"
    # ... and a record of the correction in OFFSET_MOVED_EVENT, keyed by the group.
    events = await bc.invoke(broker.addr, pull_request("Ops", "OFFSET_MOVED_EVENT", 0, 0))
    assert events.code == ResponseCode.SUCCESS
    (event,) = decode_records(events.body or b"")
    assert event.properties["TAGS"] == event.properties["KEYS"] == "G"
    assert fastjson.loads(event.body) == {
        "consumerGroup": "G",
        "messageQueue": {"brokerName": "broker-t", "queueId": 0, "topic": "Offsets"},
        "offsetNew": 0,
        "offsetRequest": 9,
    }


async def test_long_polling_wakes_on_send_and_expires(
    broker: ServerProcess, bc: RemotingClient
) -> None:
    await bc.invoke(broker.addr, send_request("Held", b"first"))
    started = time.monotonic()
    held = asyncio.ensure_future(
        bc.invoke(broker.addr, pull_request("G", "Held", 0, 1, suspend_ms=15000))
    )
    await asyncio.sleep(0.3)
    assert not held.done()
    await bc.invoke(broker.addr, send_request("Held", b"second"))
    woken = await held
    # Well before the 15 s suspend time: the send itself released the held pull.
    assert time.monotonic() - started < 10
    assert woken.code == ResponseCode.SUCCESS
    assert [m.body for m in decode_records(woken.body or b"")] == [b"second"]

    started = time.monotonic()
    expired = await bc.invoke(broker.addr, pull_request("G", "Held", 0, 2, suspend_ms=800))
    assert time.monotonic() - started >= 0.75
    assert expired.code == ResponseCode.PULL_NOT_FOUND
    assert expired.ext_fields is not None
    assert expired.ext_fields["maxOffset"] == "2"


async def test_bad_requests_get_codes_and_keep_the_connection(
    broker: ServerProcess, bc: RemotingClient
) -> None:
    missing = send_request("Bad", b"x")
    assert missing.ext_fields is not None
    del missing.ext_fields["b"]
    reply = await bc.invoke(broker.addr, missing)
    assert reply.code == ResponseCode.SYSTEM_ERROR
    assert "topic" in (reply.remark or "")

    reply = await bc.invoke(broker.addr, send_request("bad topic!", b"x"))
    assert reply.code == ResponseCode.SYSTEM_ERROR
    assert "illegal characters" in (reply.remark or "")

    reply = await bc.invoke(broker.addr, send_request("SCHEDULE_TOPIC_XXXX", b"x"))
    assert reply.code == ResponseCode.NO_PERMISSION

    reply = await bc.invoke(broker.addr, send_request("Bad", b"x", queue_id=99))
    assert reply.code == ResponseCode.SYSTEM_ERROR
    assert "queueId[99]" in (reply.remark or "")

    reply = await bc.invoke(broker.addr, send_request("Bad", b"x" * (4 * 1024 * 1024 + 1)))
    assert reply.code == ResponseCode.MESSAGE_ILLEGAL

    bad_int = send_request("Bad", b"x")
    assert bad_int.ext_fields is not None
    bad_int.ext_fields["e"] = "zero"
    reply = await bc.invoke(broker.addr, bad_int)
    assert reply.code == ResponseCode.SYSTEM_ERROR
    assert "queueId" in (reply.remark or "")

    good = batch_request("Bad", [b"b0", b"b1"])
    body = good.body or b""
    one = len(body) // 2
    bad_utf8 = bytearray(body)
    bad_utf8[one - 1] = 0xFF  # the first element's last property byte
    for broken, why in [
        (b"", "holds no message"),
        (body[:-3], "bad size"),
        (body[: one + 10], "cut short"),
        (bytes(bad_utf8), "not UTF-8"),
    ]:
        good.body = broken
        reply = await bc.invoke(broker.addr, good)
        assert reply.code == ResponseCode.MESSAGE_ILLEGAL, broken
        assert why in (reply.remark or ""), reply.remark

    reply = await bc.invoke(broker.addr, request(9999))
    assert reply.code == ResponseCode.REQUEST_CODE_NOT_SUPPORTED

    reply = await bc.invoke(broker.addr, pull_request("G", "Missing", 0, 0))
    assert reply.code == ResponseCode.TOPIC_NOT_EXIST

    # Nothing above was stored; the same connection still works.
    ok = await bc.invoke(broker.addr, send_request("Bad", b"fine"))
    assert ok.code == ResponseCode.SUCCESS
    assert ok.ext_fields is not None
    assert ok.ext_fields["queueOffset"] == "0"


async def test_heartbeat_membership_and_notification(
    broker: ServerProcess, bc: RemotingClient
) -> None:
    notified: list[RemotingCommand] = []

    def on_notify(conn: Connection, req: RemotingCommand) -> None:
        notified.append(req)

    dispatcher = Dispatcher()
    dispatcher.register(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, on_notify)
    first = RemotingClient(dispatcher=dispatcher)
    second = RemotingClient()

    def heartbeat(client_id: str) -> RemotingCommand:
        body = {
            "clientID": client_id,
            "consumerDataSet": [
                {
                    "consumeFromWhere": "CONSUME_FROM_LAST_OFFSET",
                    "consumeType": "CONSUME_PASSIVELY",
                    "groupName": "HBGroup",
                    "messageModel": "CLUSTERING",
                    "unitMode": False,
                    "subscriptionDataSet": [
                        {
                            "classFilterMode": False,
                            "codeSet": [],
                            "expressionType": "TAG",
                            "subString": "*",
                            "subVersion": 1,
                            "tagsSet": [],
                            "topic": "HBTopic",
                        }
                    ],
                }
            ],
            "producerDataSet": [{"groupName": "CLIENT_INNER_PRODUCER"}],
        }
        return request(RequestCode.HEART_BEAT, body=fastjson.dumps(body))

    try:
        reply = await first.invoke(broker.addr, heartbeat("127.0.0.1@one"))
        assert reply.code == ResponseCode.SUCCESS
        assert reply.version >= 232
        assert (await second.invoke(broker.addr, heartbeat("127.0.0.1@two"))).code == 0
        listing = await bc.invoke(
            broker.addr,
            request(RequestCode.GET_CONSUMER_LIST_BY_GROUP, {"consumerGroup": "HBGroup"}),
        )
        assert listing.code == ResponseCode.SUCCESS
        ids = orjson.loads(listing.body or b"")["consumerIdList"]
        assert sorted(ids) == ["127.0.0.1@one", "127.0.0.1@two"]
        for _ in range(100):
            if notified:
                break
            await asyncio.sleep(0.02)
        assert notified
        assert notified[0].field("consumerGroup") == "HBGroup"
        # The retry topic of the group exists now, and push pulls use the heartbeat's
        # subscription (no SUBSCRIPTION flag).
        pull = pull_request("HBGroup", "%RETRY%HBGroup", 0, 0)
        pull.ext_fields = {**(pull.ext_fields or {}), "sysFlag": "0"}
        reply = await first.invoke(broker.addr, pull)
        assert reply.code == ResponseCode.SUBSCRIPTION_NOT_EXIST
        await second.close()
        for _ in range(100):
            listing = await bc.invoke(
                broker.addr,
                request(RequestCode.GET_CONSUMER_LIST_BY_GROUP, {"consumerGroup": "HBGroup"}),
            )
            if orjson.loads(listing.body or b"{}").get("consumerIdList") == ["127.0.0.1@one"]:
                break
            await asyncio.sleep(0.02)
        assert orjson.loads(listing.body or b"")["consumerIdList"] == ["127.0.0.1@one"]
    finally:
        await first.close()
        await second.close()


async def test_offsets_and_config_survive_restart(tmp_path: Path, namesrv: ServerProcess) -> None:
    home = tmp_path / "restart"
    port = free_port()
    client = RemotingClient(timeout=10.0)
    try:
        with running_broker(home, namesrv.addr, port=port) as server:
            for i in range(3):
                await client.invoke(server.addr, send_request("Durable", f"d{i}".encode()))
            update = request(
                RequestCode.UPDATE_CONSUMER_OFFSET,
                {"consumerGroup": "DG", "topic": "Durable", "queueId": "0", "commitOffset": "2"},
            )
            assert (await client.invoke(server.addr, update)).code == ResponseCode.SUCCESS
            await client.close()
        assert (home / "store" / "config" / "consumerOffset.json").exists()
        assert "Durable" in (home / "store" / "config" / "topics.json").read_text()
        client = RemotingClient(timeout=10.0)
        with running_broker(home, namesrv.addr, port=port) as server:
            query = request(
                RequestCode.QUERY_CONSUMER_OFFSET,
                {"consumerGroup": "DG", "topic": "Durable", "queueId": "0"},
            )
            reply = await client.invoke(server.addr, query)
            assert reply.code == ResponseCode.SUCCESS
            assert reply.field("offset") == "2"
            high = await client.invoke(
                server.addr,
                request(RequestCode.GET_MAX_OFFSET, {"topic": "Durable", "queueId": "0"}),
            )
            assert high.field("offset") == "3"
    finally:
        await client.close()


async def test_sigkill_under_sync_flush_loses_no_acknowledged_message(
    tmp_path: Path, namesrv: ServerProcess
) -> None:
    home = tmp_path / "crash"
    port = free_port()
    extra = {"flushDiskType": "SYNC_FLUSH"}
    acked: list[bytes] = []
    server = start_broker(home, namesrv.addr, extra, port=port)
    client = RemotingClient(timeout=10.0)
    try:
        for i in range(200):
            body = f"sync-{i}".encode()
            reply = await client.invoke(server.addr, send_request("Crash", body))
            if reply.code == ResponseCode.SUCCESS:
                acked.append(body)
    finally:
        await client.close()
        server.stop(signal.SIGKILL)
    assert len(acked) == 200
    client = RemotingClient(timeout=10.0)
    try:
        with running_broker(home, namesrv.addr, extra, port=port) as again:
            got: list[bytes] = []
            offset = 0
            while True:
                reply = await client.invoke(again.addr, pull_request("C", "Crash", 0, offset))
                if reply.code != ResponseCode.SUCCESS:
                    break
                got.extend(m.body for m in decode_records(reply.body or b""))
                offset = int(reply.field("nextBeginOffset") or 0)
            assert got == acked
    finally:
        await client.close()


async def test_update_broker_config_refuses_unsafe_keys(
    broker: ServerProcess, bc: RemotingClient
) -> None:
    unsafe = request(RequestCode.UPDATE_BROKER_CONFIG, body=b"rocketmqHome=/tmp/evil\n")
    reply = await bc.invoke(broker.addr, unsafe)
    assert reply.code == ResponseCode.NO_PERMISSION
    assert "rocketmqHome" in (reply.remark or "")
    safe = request(RequestCode.UPDATE_BROKER_CONFIG, body=b"defaultTopicQueueNums=2\n")
    assert (await bc.invoke(broker.addr, safe)).code == ResponseCode.SUCCESS
    config = await bc.invoke(broker.addr, request(RequestCode.GET_BROKER_CONFIG))
    text = (config.body or b"").decode()
    assert "defaultTopicQueueNums=2" in text
    assert "rocketmqHome=/tmp/evil" not in text


async def test_standalone_serves_namesrv_broker_and_console(tmp_path: Path) -> None:
    namesrv_port, broker_port, console_port = free_port(), free_port(), free_port()
    command = [str(BIN / "rmq-standalone"), "-n", str(namesrv_port), "-b", str(broker_port),
               "--consolePort", str(console_port)]  # fmt: skip
    server = start_process(command, tmp_path, namesrv_port, "The rmq console boot success")
    client = RemotingClient(timeout=10.0)
    try:
        assert "The Name Server boot success. serializeType=JSON" in server.output
        broker_addr = f"127.0.0.1:{broker_port}"
        reply = await client.invoke(broker_addr, send_request("Standalone", b"hello"))
        assert reply.code == ResponseCode.SUCCESS
        # The broker registers a topic it auto-created right after answering the send (Apache
        # does it before answering), so the route can lag the reply by a moment.
        route = None
        for _ in range(100):
            route = await client.invoke(
                server.addr, request(RequestCode.GET_ROUTEINFO_BY_TOPIC, {"topic": "Standalone"})
            )
            if route.code == ResponseCode.SUCCESS:
                break
            await asyncio.sleep(0.05)
        assert route is not None
        assert route.code == ResponseCode.SUCCESS
        # The default store root is ~/store, as Apache RocketMQ's.
        assert (tmp_path / "store" / "commitlog").is_dir()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{console_port}") as web:
            cluster = (await web.get("/api/cluster")).json()
        assert [(r["broker_name"], r["addr"]) for r in cluster] == [("broker-a", broker_addr)]
    finally:
        await client.close()
        assert server.stop() == 0


async def test_send_that_waited_too_long_is_refused_as_busy(
    tmp_path: Path, namesrv: ServerProcess
) -> None:
    # A zero budget makes every send "too late": the flow-control path without overload.
    with running_broker(tmp_path / "busy", namesrv.addr, {"waitTimeMillsInSendQueue": "0"}) as b:
        client = RemotingClient(timeout=10.0)
        try:
            reply = await client.invoke(b.addr, send_request("Busy", b"x"))
            assert reply.code == ResponseCode.SYSTEM_BUSY
            assert (reply.remark or "").startswith("[TIMEOUT_CLEAN_QUEUE]broker busy")
            high = await client.invoke(
                b.addr, request(RequestCode.GET_MAX_OFFSET, {"topic": "Busy", "queueId": "0"})
            )
            assert high.field("offset") == "0"
        finally:
            await client.close()


async def test_config_update_is_written_back_and_the_file_still_boots(
    tmp_path: Path, namesrv: ServerProcess
) -> None:
    home = tmp_path / "rewrite"
    port = free_port()
    client = RemotingClient(timeout=10.0)
    try:
        with running_broker(home, namesrv.addr, port=port) as server:
            update = request(RequestCode.UPDATE_BROKER_CONFIG, body=b"fileReservedTime=48\n")
            assert (await client.invoke(server.addr, update)).code == ResponseCode.SUCCESS
        await client.close()
        text = (home / "broker.properties").read_text()
        assert "fileReservedTime=48" in text
        with running_broker(home, namesrv.addr, port=port, reuse_config=True) as again:
            client = RemotingClient(timeout=10.0)
            config = await client.invoke(again.addr, request(RequestCode.GET_BROKER_CONFIG))
            assert "fileReservedTime=48" in (config.body or b"").decode()
    finally:
        await client.close()


async def test_admin_calls_are_forwarded_to_the_consumer(
    broker: ServerProcess, bc: RemotingClient
) -> None:
    def running_info(conn: Connection, req: RemotingCommand) -> RemotingCommand:
        assert req.field("clientId") == "127.0.0.1@fw"
        return req.answer(body=b'{"properties":{"answeredBy":"the consumer"}}')

    dispatcher = Dispatcher()
    dispatcher.register(RequestCode.GET_CONSUMER_RUNNING_INFO, running_info)
    consumer = RemotingClient(dispatcher=dispatcher)
    body = {
        "clientID": "127.0.0.1@fw",
        "consumerDataSet": [
            {"consumeFromWhere": "CONSUME_FROM_LAST_OFFSET", "consumeType": "CONSUME_PASSIVELY",
             "groupName": "FwGroup", "messageModel": "CLUSTERING", "subscriptionDataSet": []}
        ],
        "producerDataSet": [],
    }  # fmt: skip
    try:
        hb = request(RequestCode.HEART_BEAT, body=fastjson.dumps(body))
        assert (await consumer.invoke(broker.addr, hb)).code == ResponseCode.SUCCESS
        ask = request(
            RequestCode.GET_CONSUMER_RUNNING_INFO,
            {"consumerGroup": "FwGroup", "clientId": "127.0.0.1@fw", "jstackEnable": "false"},
        )
        reply = await bc.invoke(broker.addr, ask)
        assert reply.code == ResponseCode.SUCCESS
        assert b"the consumer" in (reply.body or b"")
        ask.ext_fields = {**(ask.ext_fields or {}), "clientId": "nobody"}
        ask.opaque += 100000
        missing = await bc.invoke(broker.addr, ask)
        assert missing.code == ResponseCode.SYSTEM_ERROR
        assert "not online" in (missing.remark or "")
    finally:
        await consumer.close()


async def test_clone_group_offset_and_consume_time_span(
    broker: ServerProcess, bc: RemotingClient
) -> None:
    for i in range(3):
        await bc.invoke(broker.addr, send_request("Span", f"s{i}".encode()))
    commit = request(
        RequestCode.UPDATE_CONSUMER_OFFSET,
        {"consumerGroup": "Src", "topic": "Span", "queueId": "0", "commitOffset": "2"},
    )
    assert (await bc.invoke(broker.addr, commit)).code == ResponseCode.SUCCESS
    clone = request(
        RequestCode.CLONE_GROUP_OFFSET,
        {"srcGroup": "Src", "destGroup": "Dest", "topic": "Span", "offline": "true"},
    )
    assert (await bc.invoke(broker.addr, clone)).code == ResponseCode.SUCCESS
    query = request(
        RequestCode.QUERY_CONSUMER_OFFSET,
        {"consumerGroup": "Dest", "topic": "Span", "queueId": "0"},
    )
    assert (await bc.invoke(broker.addr, query)).field("offset") == "2"
    span = await bc.invoke(
        broker.addr,
        request(RequestCode.QUERY_CONSUME_TIME_SPAN, {"topic": "Span", "group": "Src"}),
    )
    assert span.code == ResponseCode.SUCCESS
    first = orjson.loads(span.body or b"")["consumeTimeSpanSet"][0]
    assert first["messageQueue"]["queueId"] == 0
    assert first["minTimeStamp"] <= first["consumeTimeStamp"] <= first["maxTimeStamp"]
    assert first["delayTime"] >= 0


async def test_offsets_are_saved_periodically_without_a_shutdown(
    tmp_path: Path, namesrv: ServerProcess
) -> None:
    home = tmp_path / "periodic"
    extra = {"flushConsumerOffsetInterval": "200"}
    client = RemotingClient(timeout=10.0)
    try:
        with running_broker(home, namesrv.addr, extra) as server:
            await client.invoke(server.addr, send_request("Periodic", b"p"))
            commit = request(
                RequestCode.UPDATE_CONSUMER_OFFSET,
                {"consumerGroup": "PG", "topic": "Periodic", "queueId": "0", "commitOffset": "1"},
            )
            assert (await client.invoke(server.addr, commit)).code == ResponseCode.SUCCESS
            path = home / "store" / "config" / "consumerOffset.json"
            for _ in range(100):
                if path.exists() and "Periodic@PG" in path.read_text():
                    break
                await asyncio.sleep(0.05)
            saved = fastjson.loads(path.read_bytes())
            assert saved["offsetTable"]["Periodic@PG"] == {"0": 1}
    finally:
        await client.close()
