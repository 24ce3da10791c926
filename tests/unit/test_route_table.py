"""NameServer route policy, without sockets: registration, slaves, liveness, permissions."""

from typing import Any

import orjson

from rmq.common.route import DataVersion, TopicConfig
from rmq.namesrv.route_table import RegisterResult, RouteTable


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def register(table: RouteTable, addr: str, name: str = "broker-a", broker_id: int = 0,
             topics: tuple[str, ...] = ("T",), version: int = 1, channel: object = None,
             cluster: str = "C") -> RegisterResult:  # fmt: skip
    return table.register_broker(
        cluster, addr, name, broker_id, addr.replace("10911", "10912"),
        DataVersion(version, version), {t: TopicConfig(t, 4, 4, 6) for t in topics}, [], channel,
    )  # fmt: skip


def route(table: RouteTable, topic: str) -> Any:
    body = table.route_body(topic)
    return None if body is None else orjson.loads(body)


def test_master_registration_publishes_its_topics() -> None:
    table = RouteTable(Clock())
    register(table, "10.0.0.1:10911", topics=("T1", "T2"))
    data = route(table, "T1")
    assert data == {
        "brokerDatas": [
            {"brokerAddrs": {"0": "10.0.0.1:10911"}, "brokerName": "broker-a", "cluster": "C"}
        ],
        "filterServerTable": {},
        "queueDatas": [
            {"brokerName": "broker-a", "perm": 6, "readQueueNums": 4, "topicSysFlag": 0,
             "writeQueueNums": 4}
        ],
    }  # fmt: skip
    assert sorted(table.all_topics()) == ["T1", "T2"]


def test_slave_learns_master_and_ha_address_but_does_not_change_topics() -> None:
    table = RouteTable(Clock())
    register(table, "10.0.0.1:10911")
    result = register(table, "10.0.0.2:10911", broker_id=1, topics=("OnlyOnSlave",))
    assert result.master_addr == "10.0.0.1:10911"
    assert result.ha_server_addr == "10.0.0.1:10912"
    assert route(table, "OnlyOnSlave") is None
    data = route(table, "T")
    assert data is not None
    assert data["brokerDatas"][0]["brokerAddrs"] == {"0": "10.0.0.1:10911", "1": "10.0.0.2:10911"}


def test_unchanged_data_version_does_not_rewrite_queue_data() -> None:
    table = RouteTable(Clock())
    register(table, "10.0.0.1:10911", topics=("T",), version=1)
    table.wipe_write_perm("broker-a")
    register(table, "10.0.0.1:10911", topics=("T",), version=1)
    data = route(table, "T")
    assert data is not None
    assert data["queueDatas"][0]["perm"] == 4
    register(table, "10.0.0.1:10911", topics=("T",), version=2)
    data = route(table, "T")
    assert data is not None
    assert data["queueDatas"][0]["perm"] == 6


def test_promoted_slave_address_keeps_one_id() -> None:
    table = RouteTable(Clock())
    register(table, "10.0.0.2:10911", broker_id=1)
    register(table, "10.0.0.2:10911", broker_id=0)
    assert table.broker_addr_table["broker-a"].broker_addrs == {0: "10.0.0.2:10911"}


def test_broker_not_heard_from_expires_and_takes_its_routes() -> None:
    clock = Clock()
    table = RouteTable(clock)
    register(table, "10.0.0.1:10911", topics=("T",))
    register(table, "10.0.0.3:10911", name="broker-b", topics=("T",))
    clock.now += 100
    table.touch("10.0.0.3:10911")
    clock.now += 30
    assert table.scan_not_active(120) == ["10.0.0.1:10911"]
    data = route(table, "T")
    assert data is not None
    assert [q["brokerName"] for q in data["queueDatas"]] == ["broker-b"]
    assert "broker-a" not in table.broker_addr_table
    assert table.cluster_addr_table == {"C": {"broker-b"}}


def test_closed_channel_drops_its_broker_only() -> None:
    table = RouteTable(Clock())
    chan_a, chan_b = object(), object()
    register(table, "10.0.0.1:10911", channel=chan_a)
    register(table, "10.0.0.2:10911", broker_id=1, channel=chan_b)
    table.on_channel_destroy(chan_b)
    assert table.broker_addr_table["broker-a"].broker_addrs == {0: "10.0.0.1:10911"}
    table.on_channel_destroy(chan_a)
    assert route(table, "T") is None
    assert table.cluster_addr_table == {}


def test_unregister_last_address_removes_broker_name_and_queue_data() -> None:
    table = RouteTable(Clock())
    register(table, "10.0.0.1:10911")
    table.unregister_broker("C", "10.0.0.1:10911", "broker-a", 0)
    assert route(table, "T") is None
    assert table.broker_addr_table == {}


def test_wipe_and_add_write_perm_count_topics() -> None:
    table = RouteTable(Clock())
    register(table, "10.0.0.1:10911", topics=("T1", "T2"))
    assert table.wipe_write_perm("broker-a") == 2
    assert table.add_write_perm("broker-a") == 2
    assert table.wipe_write_perm("nobody") == 0


def test_delete_topic_in_one_cluster_keeps_the_others() -> None:
    table = RouteTable(Clock())
    register(table, "10.0.0.1:10911", cluster="C1")
    register(table, "10.0.0.2:10911", name="broker-b", cluster="C2")
    table.delete_topic("T", "C1")
    data = route(table, "T")
    assert data is not None
    assert [q["brokerName"] for q in data["queueDatas"]] == ["broker-b"]
    assert table.topics_by_cluster("C2") == ["T"]
    table.delete_topic("T")
    assert route(table, "T") is None


def test_system_topic_list_names_clusters_and_brokers() -> None:
    table = RouteTable(Clock())
    register(table, "10.0.0.1:10911")
    topics, addr = table.system_topics()
    assert topics == ["C", "broker-a"]
    assert addr == "10.0.0.1:10911"
