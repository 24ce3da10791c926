"""The official Apache RocketMQ 4.9.7 Java client and mqadmin against real rmq processes.

One NameServer and one broker serve the whole module; each test uses its own topic and
groups so the order of tests does not matter."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.java import mqadmin
from tests.harness.java_client import Cluster, admin, expected_body, java, received, send
from tests.harness.processes import running_broker, running_namesrv

pytestmark = pytest.mark.compat

#: Delay levels in seconds and quick transaction checks, so retries and check-backs come
#: back within a test's time.
FAST_SEMANTICS = {
    "messageDelayLevel": "1s 1s 1s 1s 1s",
    "transactionCheckInterval": "1000",
    "transactionTimeOut": "1000",
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    home: Path = tmp_path_factory.mktemp("broker-compat")
    with (
        running_namesrv(home / "namesrv") as namesrv,
        running_broker(home / "broker", namesrv.addr, FAST_SEMANTICS) as broker,
    ):
        yield Cluster(namesrv, broker)


def test_every_send_mode_is_consumed_by_a_push_consumer(cluster: Cluster) -> None:
    topic = "CompatSendModes"
    per_mode = 6
    for mode in ("sync", "async", "oneway", "batch"):
        out = send(cluster, topic, mode, per_mode)
        if mode == "batch":
            assert "SENT batch SEND_OK" in out, out
        elif mode == "oneway":
            assert out.count("SENT") == per_mode
        else:
            assert out.count("SEND_OK") == per_mode, out
    out = java("push", cluster.namesrv.addr, topic, "CompatPushAll", "CLUSTERING", "*",
               str(4 * per_mode), "60")  # fmt: skip
    assert out.rstrip().endswith("DONE"), out
    got = received(out)
    assert len(got) == 4 * per_mode
    seen = {(r.keys, r.body, r.tags, r.idx) for r in got}
    for mode in ("sync", "async", "oneway", "batch"):
        for i in range(per_mode):
            tag = "TagA" if i % 2 == 0 else "TagB"
            assert (f"{mode}-key-{i}", expected_body(mode, i), tag, str(i)) in seen


def test_tag_subscription_and_broadcasting(cluster: Cluster) -> None:
    topic = "CompatTags"
    send(cluster, topic, "sync", 8)
    out = java("push", cluster.namesrv.addr, topic, "CompatBroadcast", "BROADCASTING",
               "TagA", "4", "60")  # fmt: skip
    assert out.rstrip().endswith("DONE"), out
    got = received(out)
    assert {r.tags for r in got} == {"TagA"}
    assert sorted(int(r.idx) for r in got) == [0, 2, 4, 6]


def test_lite_pull_and_pull_consumers(cluster: Cluster) -> None:
    topic = "CompatPull"
    send(cluster, topic, "sync", 10)
    out = java("litepull", cluster.namesrv.addr, topic, "CompatLite", "10", "60")
    assert out.rstrip().endswith("DONE"), out
    assert sorted(int(r.idx) for r in received(out)) == list(range(10))
    out = java("pull", cluster.namesrv.addr, topic, "CompatPullGroup", "10")
    assert out.rstrip().endswith("DONE"), out
    got = received(out)
    assert sorted(int(r.idx) for r in got) == list(range(10))
    assert all(r.body == expected_body("sync", int(r.idx)) for r in got)
    assert "NO_NEW_MSG" in out


def test_failed_consumption_is_retried_through_the_retry_topic(cluster: Cluster) -> None:
    topic = "CompatRetry"
    send(cluster, topic, "sync", 3)
    out = java("pushretry", cluster.namesrv.addr, topic, "CompatRetryGroup", "3", "90")
    assert out.rstrip().endswith("DONE"), out
    got = received(out)
    # Each message comes once, is refused, and comes back (restored to its own topic)
    # with reconsumeTimes 1.
    assert sorted((r.idx, r.reconsume_times) for r in got if r.reconsume_times <= 1) == sorted(
        [(str(i), 0) for i in range(3)] + [(str(i), 1) for i in range(3)]
    )
    assert {r.topic for r in got} == {topic}


def test_transaction_producer_commit_rollback_and_check_back(cluster: Cluster) -> None:
    topic = "CompatTx"
    out = java("tx", cluster.namesrv.addr, topic, "6", "60")
    assert out.rstrip().endswith("DONE"), out
    assert out.count("SEND_OK") == 6
    checked = {line.split()[1] for line in out.splitlines() if line.startswith("CHECKED ")}
    assert checked == {"2", "5"}
    assert all(f"CHECKED {i} {topic}" in out for i in (2, 5))
    got = received(java("push", cluster.namesrv.addr, topic, "CompatTxConsumer", "CLUSTERING",
                        "*", "4", "60"))  # fmt: skip
    # Committed (0, 3) and committed after the check (2, 5); rolled back (1, 4) never shows.
    assert sorted(int(r.idx) for r in got) == [0, 2, 3, 5]


def test_mqadmin_broker_commands(cluster: Cluster) -> None:
    broker = cluster.broker.addr
    out = admin(cluster, "updateTopic", "-b", broker, "-t", "CompatAdmin", "-r", "3", "-w", "3")
    assert "success" in out
    assert "readQueueNums=3" in out
    sent = send(cluster, "CompatAdmin", "sync", 3)
    ids = next(line.split()[3:5] for line in sent.splitlines() if line.startswith("SENT 1 "))
    uniq_key, offset_msg_id = ids

    status = admin(cluster, "topicStatus", "-t", "CompatAdmin")
    rows = [line.split() for line in status.splitlines() if line.startswith("broker-t")]
    assert len(rows) == 3
    assert sum(int(r[3]) for r in rows) == 3

    info = admin(cluster, "brokerStatus", "-b", broker)
    assert "brokerVersionDesc               : V4_9_7" in info
    assert "msgPutTotalTodayNow" in info

    java("push", cluster.namesrv.addr, "CompatAdmin", "CompatAdminGroup", "CLUSTERING", "*",
         "3", "60")  # fmt: skip
    progress = admin(cluster, "consumerProgress", "-g", "CompatAdminGroup")
    lines = [line.split() for line in progress.splitlines() if line.startswith("CompatAdmin ")]
    assert len(lines) == 3
    assert sum(int(r[3]) for r in lines) == 3
    assert sum(int(r[4]) for r in lines) == 3

    by_key = admin(cluster, "queryMsgByKey", "-t", "CompatAdmin", "-k", "sync-key-1")
    assert uniq_key in by_key  # the key query lists client msgIds (UNIQ_KEY)

    by_id = admin(cluster, "queryMsgById", "-i", offset_msg_id)
    assert "Topic:               CompatAdmin" in by_id
    assert "Keys:                [sync-key-1]" in by_id

    by_uniq = admin(cluster, "queryMsgByUniqueKey", "-i", uniq_key, "-t", "CompatAdmin")
    assert "Keys:                [sync-key-1]" in by_uniq

    by_offset = admin(cluster, "queryMsgByOffset", "-t", "CompatAdmin", "-b", "broker-t",
                      "-i", "0", "-o", "0")  # fmt: skip
    assert "Topic:               CompatAdmin" in by_offset

    config = admin(cluster, "getBrokerConfig", "-b", broker)
    assert "brokerClusterName" in config
    assert "TestCluster" in config

    refused = mqadmin("updateBrokerConfig", "-n", cluster.namesrv.addr, "-b", broker,
                      "-k", "rocketmqHome", "-v", "/tmp/evil")  # fmt: skip
    assert "CODE: 16" in refused.stdout + refused.stderr, refused.stdout + refused.stderr
    accepted = admin(cluster, "updateBrokerConfig", "-b", broker, "-k", "traceOn", "-v", "false")
    assert "update broker config success" in accepted

    listing = admin(cluster, "clusterList")
    assert "TestCluster" in listing
    assert broker in listing
