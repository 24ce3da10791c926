"""A real rmq-namesrv process on loopback, driven through the remoting protocol."""

import asyncio
import socket
import struct
import time
from pathlib import Path

import orjson
import pytest

from rmq.common.codes import RequestCode, ResponseCode
from rmq.common.route import DataVersion, RegisterBrokerBody, TopicConfig
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import RemotingCommand, SerializeType, request
from rmq.remoting.frame import encode
from tests.harness.processes import (
    ServerProcess,
    free_port,
    running_namesrv,
    start_namesrv,
)

pytestmark = pytest.mark.integration


def register_request(
    addr: str, name: str = "broker-a", broker_id: int = 0, topics: tuple[str, ...] = ("T",),
    serialize_type: SerializeType = SerializeType.JSON,
) -> RemotingCommand:  # fmt: skip
    body = RegisterBrokerBody(
        DataVersion(int(time.time() * 1000), 1),
        {t: TopicConfig(t, 4, 4, 6) for t in topics},
        [],
    )
    host, port = addr.rsplit(":", 1)
    return request(
        RequestCode.REGISTER_BROKER,
        {
            "brokerName": name,
            "brokerAddr": addr,
            "clusterName": "C",
            "haServerAddr": f"{host}:{int(port) + 1}",
            "brokerId": str(broker_id),
            "compressed": "false",
        },
        body.encode(),
        serialize_type=serialize_type,
    )


def test_boot_line_and_log_file(namesrv: ServerProcess) -> None:
    assert "The Name Server boot success. serializeType=JSON" in namesrv.output
    log = namesrv.home / "logs" / "rocketmqlogs" / "namesrv.log"
    assert "namesrv started" in log.read_text()


@pytest.mark.parametrize("serialize_type", list(SerializeType))
async def test_register_then_route_lookup(
    namesrv: ServerProcess, client: RemotingClient, serialize_type: SerializeType
) -> None:
    reply = await client.invoke(
        namesrv.addr, register_request("127.0.0.1:20911", topics=("TopicA",))
    )
    assert reply.code == ResponseCode.SUCCESS
    lookup = request(
        RequestCode.GET_ROUTEINFO_BY_TOPIC, {"topic": "TopicA"}, serialize_type=serialize_type
    )
    route = await client.invoke(namesrv.addr, lookup)
    assert route.serialize_type is serialize_type
    assert route.opaque == lookup.opaque
    assert route.code == ResponseCode.SUCCESS
    data = orjson.loads(route.body or b"")
    assert data["brokerDatas"][0]["brokerAddrs"] == {"0": "127.0.0.1:20911"}
    assert data["queueDatas"][0]["writeQueueNums"] == 4


async def test_unknown_topic_is_topic_not_exist(
    namesrv: ServerProcess, client: RemotingClient
) -> None:
    reply = await client.invoke(
        namesrv.addr, request(RequestCode.GET_ROUTEINFO_BY_TOPIC, {"topic": "Nope"})
    )
    assert reply.code == ResponseCode.TOPIC_NOT_EXIST
    assert reply.remark is not None
    assert "Nope" in reply.remark


async def test_slave_registration_returns_master_and_ha_address(
    namesrv: ServerProcess, client: RemotingClient
) -> None:
    await client.invoke(namesrv.addr, register_request("127.0.0.1:20911"))
    reply = await client.invoke(namesrv.addr, register_request("127.0.0.1:21011", broker_id=1))
    assert reply.ext_fields == {"masterAddr": "127.0.0.1:20911", "haServerAddr": "127.0.0.1:20912"}


async def test_closing_the_broker_connection_drops_its_routes(namesrv: ServerProcess) -> None:
    broker = RemotingClient()
    await broker.invoke(namesrv.addr, register_request("127.0.0.1:20911", topics=("Gone",)))
    await broker.close()
    observer = RemotingClient()
    reply = None
    try:
        for _ in range(50):
            reply = await observer.invoke(
                namesrv.addr, request(RequestCode.GET_ROUTEINFO_BY_TOPIC, {"topic": "Gone"})
            )
            if reply.code == ResponseCode.TOPIC_NOT_EXIST:
                break
            await asyncio.sleep(0.05)
        assert reply is not None
        assert reply.code == ResponseCode.TOPIC_NOT_EXIST
    finally:
        await observer.close()


async def test_silent_broker_expires(tmp_path: Path) -> None:
    extra = {"brokerChannelExpiredTime": "600", "scanNotActiveBrokerInterval": "100"}
    with running_namesrv(tmp_path, extra) as server:
        client = RemotingClient()
        try:
            await client.invoke(server.addr, register_request("127.0.0.1:20911"))
            cluster = await client.invoke(server.addr, request(RequestCode.GET_BROKER_CLUSTER_INFO))
            assert "broker-a" in orjson.loads(cluster.body or b"")["brokerAddrTable"]
            await asyncio.sleep(1.5)
            cluster = await client.invoke(server.addr, request(RequestCode.GET_BROKER_CLUSTER_INFO))
            assert orjson.loads(cluster.body or b"")["brokerAddrTable"] == {}
        finally:
            await client.close()
        assert "not active" in server.log_tail("namesrv.log")


async def test_kv_config_is_persisted_and_survives_restart(tmp_path: Path) -> None:
    port = free_port()
    with running_namesrv(tmp_path, port=port) as server:
        client = RemotingClient()
        put = {"namespace": "ORDER_TOPIC_CONFIG", "key": "T", "value": "broker-a:4"}
        assert (await client.invoke(server.addr, request(RequestCode.PUT_KV_CONFIG, put))).code == 0
        await client.invoke(server.addr, request(RequestCode.PUT_KV_CONFIG, {**put, "key": "U"}))
        gone = {"namespace": "ORDER_TOPIC_CONFIG", "key": "U"}
        await client.invoke(server.addr, request(RequestCode.DELETE_KV_CONFIG, gone))
        await client.close()
    stored = orjson.loads((tmp_path / "namesrv" / "kvConfig.json").read_bytes())
    assert stored == {"configTable": {"ORDER_TOPIC_CONFIG": {"T": "broker-a:4"}}}
    with running_namesrv(tmp_path, port=port) as server:
        client = RemotingClient()
        try:
            got = await client.invoke(
                server.addr,
                request(RequestCode.GET_KV_CONFIG, {"namespace": "ORDER_TOPIC_CONFIG", "key": "T"}),
            )
            assert got.ext_fields == {"value": "broker-a:4"}
            missing = await client.invoke(server.addr, request(RequestCode.GET_KV_CONFIG, gone))
            assert missing.code == ResponseCode.QUERY_NOT_FOUND
            listed = await client.invoke(
                server.addr,
                request(RequestCode.GET_KVLIST_BY_NAMESPACE, {"namespace": "ORDER_TOPIC_CONFIG"}),
            )
            assert orjson.loads(listed.body or b"") == {"table": {"T": "broker-a:4"}}
        finally:
            await client.close()


async def test_update_namesrv_config_refuses_paths_and_accepts_allowed_keys(
    namesrv: ServerProcess, client: RemotingClient
) -> None:
    evil = b"kvConfigPath=/tmp/evil\nconfigStorePath=/etc/cron.d/x\n"
    refused = await client.invoke(
        namesrv.addr, request(RequestCode.UPDATE_NAMESRV_CONFIG, body=evil)
    )
    assert refused.code == ResponseCode.NO_PERMISSION
    assert refused.remark is not None
    assert "configStorePath, kvConfigPath" in refused.remark
    ok = await client.invoke(
        namesrv.addr, request(RequestCode.UPDATE_NAMESRV_CONFIG, body=b"orderMessageEnable=true\n")
    )
    assert ok.code == ResponseCode.SUCCESS
    got = await client.invoke(namesrv.addr, request(RequestCode.GET_NAMESRV_CONFIG))
    text = (got.body or b"").decode()
    assert "orderMessageEnable=true" in text.splitlines()
    assert "kvConfigPath=/tmp/evil" not in text
    assert "orderMessageEnable=true" in (namesrv.home / "namesrv.properties").read_text()


async def test_missing_header_field_is_answered_with_its_name(
    namesrv: ServerProcess, client: RemotingClient
) -> None:
    reply = await client.invoke(namesrv.addr, request(RequestCode.GET_ROUTEINFO_BY_TOPIC))
    assert reply.code == ResponseCode.SYSTEM_ERROR
    assert reply.remark == "the header field topic is missing"
    bad = register_request("127.0.0.1:20911")
    assert bad.ext_fields is not None
    bad.ext_fields["brokerId"] = "zero"
    reply = await client.invoke(namesrv.addr, bad)
    assert reply.code == ResponseCode.SYSTEM_ERROR
    assert reply.remark is not None
    assert "brokerId" in reply.remark


async def test_bad_register_body_and_crc_are_refused(
    namesrv: ServerProcess, client: RemotingClient
) -> None:
    bad = register_request("127.0.0.1:20911")
    bad.body = b"{not json"
    reply = await client.invoke(namesrv.addr, bad)
    assert reply.code == ResponseCode.SYSTEM_ERROR
    assert reply.remark is not None
    assert "RegisterBrokerBody" in reply.remark
    crc = register_request("127.0.0.1:20911")
    assert crc.ext_fields is not None
    crc.ext_fields["bodyCrc32"] = "12345"
    assert (await client.invoke(namesrv.addr, crc)).remark == "crc32 not match"


async def test_unknown_code_is_not_supported_in_both_encodings(
    namesrv: ServerProcess, client: RemotingClient
) -> None:
    for serialize_type in SerializeType:
        reply = await client.invoke(namesrv.addr, request(4242, serialize_type=serialize_type))
        assert reply.code == ResponseCode.REQUEST_CODE_NOT_SUPPORTED
        assert reply.remark == " request type 4242 not supported"


async def test_oneway_request_gets_no_answer_but_takes_effect(
    namesrv: ServerProcess, client: RemotingClient
) -> None:
    put = {"namespace": "ns", "key": "k", "value": "v"}
    await client.invoke_oneway(namesrv.addr, request(RequestCode.PUT_KV_CONFIG, put, oneway=True))
    got = await client.invoke(
        namesrv.addr, request(RequestCode.GET_KV_CONFIG, {"namespace": "ns", "key": "k"})
    )
    assert got.ext_fields == {"value": "v"}


def raw_exchange(addr: str, payload: bytes) -> bytes:
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(payload)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (struct.pack(">i", -5), "frame length -5"),
        (struct.pack(">i", 64 * 1024 * 1024), "frame length 67108864"),
        (struct.pack(">ii", 10, 6) + b"{nope}", "does not parse"),
        (struct.pack(">ii", 6, (7 << 24) | 2) + b"{}", "serialize type 7"),
    ],
)
async def test_malformed_frame_closes_only_that_connection(
    namesrv: ServerProcess, client: RemotingClient, payload: bytes, reason: str
) -> None:
    await client.invoke(namesrv.addr, register_request("127.0.0.1:20911"))
    assert await asyncio.to_thread(raw_exchange, namesrv.addr, payload) == b""
    still = await client.invoke(
        namesrv.addr, request(RequestCode.GET_ROUTEINFO_BY_TOPIC, {"topic": "T"})
    )
    assert still.code == ResponseCode.SUCCESS
    assert reason in namesrv.log_tail("namesrv.log")


async def test_truncated_frame_is_logged_when_the_peer_goes(
    namesrv: ServerProcess, client: RemotingClient
) -> None:
    frame = encode(request(RequestCode.GET_BROKER_CLUSTER_INFO))
    host, port = namesrv.addr.rsplit(":", 1)
    _reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(frame[:-3])
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    reply = await client.invoke(namesrv.addr, request(RequestCode.GET_BROKER_CLUSTER_INFO))
    assert reply.code == ResponseCode.SUCCESS
    for _ in range(50):
        if "closed mid-frame" in namesrv.log_tail("namesrv.log"):
            break
        await asyncio.sleep(0.05)
    assert "closed mid-frame" in namesrv.log_tail("namesrv.log")


async def test_topic_lists_and_write_perm(namesrv: ServerProcess, client: RemotingClient) -> None:
    await client.invoke(namesrv.addr, register_request("127.0.0.1:20911", topics=("A", "B")))
    listed = await client.invoke(
        namesrv.addr, request(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER)
    )
    assert sorted(orjson.loads(listed.body or b"")["topicList"]) == ["A", "B"]
    by_cluster = await client.invoke(
        namesrv.addr, request(RequestCode.GET_TOPICS_BY_CLUSTER, {"cluster": "C"})
    )
    assert sorted(orjson.loads(by_cluster.body or b"")["topicList"]) == ["A", "B"]
    wiped = await client.invoke(
        namesrv.addr, request(RequestCode.WIPE_WRITE_PERM_OF_BROKER, {"brokerName": "broker-a"})
    )
    assert wiped.ext_fields == {"wipeTopicCount": "2"}
    route = await client.invoke(
        namesrv.addr, request(RequestCode.GET_ROUTEINFO_BY_TOPIC, {"topic": "A"})
    )
    assert orjson.loads(route.body or b"")["queueDatas"][0]["perm"] == 4
    await client.invoke(namesrv.addr, request(RequestCode.DELETE_TOPIC_IN_NAMESRV, {"topic": "A"}))
    gone = await client.invoke(
        namesrv.addr, request(RequestCode.GET_ROUTEINFO_BY_TOPIC, {"topic": "A"})
    )
    assert gone.code == ResponseCode.TOPIC_NOT_EXIST


def test_sigterm_stops_cleanly(tmp_path: Path) -> None:
    server = start_namesrv(tmp_path)
    assert server.stop() == 0
    assert "namesrv stopped" in server.log_tail("namesrv.log")


def test_bad_config_exits_before_binding(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(RuntimeError, match="orderMessageEnable"):
        start_namesrv(tmp_path, {"orderMessageEnable": "perhaps"}, port=port)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # still free: nothing was bound


def test_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(RuntimeError, match="startup failed"):
            start_namesrv(tmp_path, port=port)
