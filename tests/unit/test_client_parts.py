"""rmq.client building blocks: messages, routes, client ids and message ids."""

import re

import pytest

from rmq.client.allocate import AllocateByConfig, AllocateByMachineRoom
from rmq.client.api import Subscription, send_header
from rmq.client.config import ClientConfig
from rmq.client.message import Message, MessageError, MessageQueue
from rmq.client.route import TopicRoute
from rmq.client.unique_id import UniqueIdGenerator
from rmq.common.message import decode_properties

ROUTE = {
    "brokerDatas": [
        {"brokerAddrs": {0: "127.0.0.1:10911", 1: "127.0.0.1:10921"}, "brokerName": "b-a",
         "cluster": "C"},
        {"brokerAddrs": {"1": "127.0.0.1:10931"}, "brokerName": "b-b", "cluster": "C"},
    ],
    "queueDatas": [
        {"brokerName": "b-b", "perm": 6, "readQueueNums": 2, "topicSysFlag": 0,
         "writeQueueNums": 2},
        {"brokerName": "b-a", "perm": 6, "readQueueNums": 3, "topicSysFlag": 0,
         "writeQueueNums": 2},
    ],
}  # fmt: skip


def test_route_publishes_only_to_brokers_with_a_master() -> None:
    route = TopicRoute.from_json("T", ROUTE)
    assert route.publish_queues() == [MessageQueue("T", "b-a", 0), MessageQueue("T", "b-a", 1)]
    assert len(route.subscribe_queues()) == 5
    assert route.broker("b-b") is not None
    assert route.broker("b-b").select_addr() == "127.0.0.1:10931"  # type: ignore[union-attr]


def test_order_topic_conf_names_the_queues() -> None:
    route = TopicRoute.from_json("T", {**ROUTE, "orderTopicConf": "b-a:2;b-b:1"})
    assert [(q.broker_name, q.queue_id) for q in route.publish_queues()] == [
        ("b-a", 0), ("b-a", 1), ("b-b", 0)
    ]  # fmt: skip


def test_message_properties_and_reserved_names() -> None:
    msg = Message("T", b"x", tags="TagA", keys=["k1", "k2"], delay_time_level=3)
    assert msg.properties == {"TAGS": "TagA", "KEYS": "k1 k2", "DELAY": "3"}
    msg.put_user_property("color", "red")
    with pytest.raises(MessageError, match="used by system"):
        msg.put_user_property("TAGS", "x")


def test_retry_topic_sends_carry_reconsume_counts_in_the_header() -> None:
    msg = Message("%RETRY%G", b"x", properties={"RECONSUME_TIME": "2", "MAX_RECONSUME_TIMES": "3"})
    header = send_header("P", msg, MessageQueue("%RETRY%G", "b", 0), 0)
    assert header["reconsumeTimes"] == "2"
    assert header["maxReconsumeTimes"] == "3"
    assert "RECONSUME_TIME" not in decode_properties(header["properties"])


def test_subscription_json_as_java_writes_it() -> None:
    sub = Subscription("T", "TagA || TagB", sub_version=7).to_json()
    assert sub["tagsSet"] == ["TagA", "TagB"]
    assert sub["codeSet"] == [2598919, 2598920]  # "TagA".hashCode(), "TagB".hashCode()
    assert Subscription("T", "a > 1", "SQL92").to_json()["subString"] == "a > 1"


def test_unique_ids_are_32_hex_digits_and_distinct() -> None:
    gen = UniqueIdGenerator("10.1.2.3")
    ids = {gen.next_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"[0-9A-F]{32}", i) for i in ids)
    assert next(iter(ids)).startswith("0A010203")


def test_client_id_and_instance_name() -> None:
    config = ClientConfig(namesrv_addr="a:1; b:2", client_ip="10.0.0.9", instance_name="DEFAULT")
    assert config.namesrv_list() == ["a:1", "b:2"]
    config.change_instance_name_to_pid()
    assert config.instance_name != "DEFAULT"
    config.unit_name = "u"
    assert re.fullmatch(r"10\.0\.0\.9@\d+#\d+@u", config.build_client_id())


def test_config_and_machine_room_strategies() -> None:
    mqs = [MessageQueue("T", f"{room}@b{i}", 0) for room in ("hz", "sh") for i in range(3)]
    assert AllocateByConfig(mqs[:2]).allocate("g", "c", mqs, ["c"]) == mqs[:2]
    rooms = AllocateByMachineRoom(["hz"])
    got = [rooms.allocate("g", c, mqs, ["c1", "c2"]) for c in ("c1", "c2")]
    assert got == [[mqs[0], mqs[2]], [mqs[1]]]
