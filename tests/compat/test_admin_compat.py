"""rmq-admin against the official mqadmin (rocketmq-tools 4.9.7 from Maven Central): both
run the same commands on the same scenario, against rmq and against Apache RocketMQ's own
NameServer and broker, and their outputs must have the same column headers and the same
rows once values that legitimately differ (rates, timestamps, paths) are normalised."""

import asyncio
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from rmq.client import CONSUME_FROM_FIRST_OFFSET, Message, Producer, PushConsumer
from rmq.common import fastjson
from tests.harness.java import mqadmin, mqadmin_batch
from tests.harness.java_client import java
from tests.harness.pair import start_pair
from tests.harness.processes import BIN, running_broker, running_namesrv
from tests.harness.py_client import Inbox, fast_config

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


def both(cluster: Cluster, *commands: tuple[str, ...]) -> list[tuple[str, str]]:
    """(rmq-admin's output, mqadmin's output) per command: rmq-admin runs them all, then
    mqadmin runs them all in one JVM from the same starting state (each sequence below
    undoes its own changes, so both see the same thing)."""
    ours = [rmq_admin(cluster, *args) for args in commands]
    theirs = mqadmin_batch([[*args, "-n", cluster.namesrv] for args in commands])
    for args, text in zip(commands, theirs, strict=True):
        assert "command failed" not in text, (args, text)
    return list(zip(ours, theirs, strict=True))


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def scenario(cluster: Cluster) -> Cluster:
    """A topic made with rmq-admin on 3 queues and ten messages in it."""
    # Apache's broker fails GET_BROKER_RUNTIME_INFO until its first stats sample (a second
    # or so after boot); both tools would print that failure differently.
    for _ in range(100):
        command = [str(BIN / "rmq-admin"), "brokerStatus", "-b", cluster.broker,
                   "-n", cluster.namesrv]  # fmt: skip
        probe = subprocess.run(command, capture_output=True, timeout=30)
        if probe.returncode == 0:
            break
        time.sleep(0.2)
    rmq_admin(cluster, "updateTopic", "-c", cluster.cluster, "-t", TOPIC, "-r", "3", "-w", "3")

    async def produce() -> None:
        async with Producer("AdminGoldenP", config=fast_config(cluster.namesrv)) as producer:
            queues = await producer.fetch_publish_message_queues(TOPIC)
            for i in range(10):
                await producer.send(Message(TOPIC, f"m{i}".encode()), queues[i % len(queues)])

    asyncio.run(produce())
    return cluster


def test_cluster_and_topic_commands_match_mqadmin(scenario: Cluster) -> None:
    (base, more, tlist, tlist_c, route_l, status, clusters, route, broker, config,
     ns_config, allocation) = both(
        scenario, ("clusterList",), ("clusterList", "-m"), ("topicList",), ("topicList", "-c"),
        ("topicRoute", "-t", TOPIC, "-l"), ("topicStatus", "-t", TOPIC),
        ("topicClusterList", "-t", TOPIC), ("topicRoute", "-t", TOPIC),
        ("brokerStatus", "-b", scenario.broker), ("getBrokerConfig", "-b", scenario.broker),
        ("getNamesrvConfig",), ("allocateMQ", "-t", TOPIC, "-i", "10.0.0.1,10.0.0.2,10.0.0.3"),
    )  # fmt: skip
    ours, theirs = (rows(t) for t in base)
    assert ours[0] == theirs[0]
    # Cluster, broker, id, address and version agree; rates, hours and space may not.
    assert [r[:5] for r in ours[1:]] == [r[:5] for r in theirs[1:]]
    ours, theirs = (rows(t) for t in more)
    assert ours[0] == theirs[0]
    assert [r[:2] for r in ours[1:]] == [r[:2] for r in theirs[1:]]
    assert set(tlist[0].split()) == set(tlist[1].split())
    ours, theirs = (rows(t) for t in tlist_c)
    assert ours[0] == theirs[0]
    assert sorted(map(tuple, ours[1:])) == sorted(map(tuple, theirs[1:]))
    assert rows(route_l[0]) == rows(route_l[1])
    ours, theirs = (rows(t) for t in status)
    assert ours[0] == theirs[0]
    # Broker, queue id, min and max offset; the last-updated time is printed the same way.
    assert [r[:4] for r in ours[1:]] == [r[:4] for r in theirs[1:]]
    assert [len(r) for r in ours[1:]] == [len(r) for r in theirs[1:]]
    assert clusters[0] == clusters[1]
    assert fastjson.loads(route[0]) == fastjson.loads(route[1])
    assert route[0] == route[1]

    def keys(text: str, sep: str) -> set[str]:
        return {line.split(sep)[0].strip() for line in text.splitlines() if sep in line}

    assert keys(broker[0], ":") == keys(broker[1], ":")
    # Java's hash-set order of the queues decides who gets which; ours follows it.
    assert allocation[0] == allocation[1]
    for ours_text, theirs_text in (config, ns_config):
        assert ours_text.splitlines()[0] == theirs_text.splitlines()[0]
        assert keys(ours_text, "=  ") == keys(theirs_text, "=  ")


def test_changing_commands_print_what_mqadmin_prints(scenario: Cluster) -> None:
    commands = [
        ("updateKvConfig", "-s", "AdminNs", "-k", "k1", "-v", "v1"),
        ("deleteKvConfig", "-s", "AdminNs", "-k", "k1"),
        ("wipeWritePerm", "-b", scenario.broker_name),
        ("addWritePerm", "-b", scenario.broker_name),
        ("updateTopic", "-b", scenario.broker, "-t", "AdminGolden2", "-r", "2", "-w", "2"),
        ("updateTopicPerm", "-b", scenario.broker, "-t", "AdminGolden2", "-p", "4"),
        ("updateTopicPerm", "-b", scenario.broker, "-t", "AdminGolden2", "-p", "6"),
        ("updateBrokerConfig", "-b", scenario.broker, "-k", "defaultQueryMaxNum", "-v", "64"),
        ("deleteTopic", "-c", scenario.cluster, "-t", "AdminGolden2"),
        ("updateOrderConf", "-t", "AdminOrder", "-m", "put", "-v", f"{scenario.broker_name}:4"),
        ("updateOrderConf", "-t", "AdminOrder", "-m", "get"),
        ("updateOrderConf", "-t", "AdminOrder", "-m", "delete"),
        ("cleanExpiredCQ", "-c", scenario.cluster),
        ("cleanUnusedTopic", "-c", scenario.cluster),
    ]
    if scenario.system == "apache":  # rmq's broker has no DELETE_EXPIRED_COMMITLOG yet
        commands.append(("deleteExpiredCommitLog", "-c", scenario.cluster))
    for args, (ours, theirs) in zip(commands, both(scenario, *commands), strict=True):
        # The count of topics a perm change touched is each run's own; the text is not.
        ours, theirs = (re.sub(r"OK, \d+", "OK, N", t) for t in (ours, theirs))
        assert ours == theirs, args


GROUP = "AdminGoldenG"


async def _consume_some(cluster: Cluster, group: str, count: int) -> None:
    """A push consumer of ``group`` reads ``count`` messages of TOPIC and stops."""
    inbox = Inbox()
    consumer = PushConsumer(group, config=fast_config(cluster.namesrv),
                            consume_from_where=CONSUME_FROM_FIRST_OFFSET,
                            pull_batch_size=1, consume_thread_max=1)  # fmt: skip
    consumer.subscribe(TOPIC, "*")
    consumer.register_message_listener(inbox)
    async with consumer:
        assert await inbox.wait_count(count)
        await asyncio.sleep(1.5)  # offsets committed


async def test_group_commands_match_mqadmin(scenario: Cluster) -> None:
    await _consume_some(scenario, GROUP, 10)
    progress, overview, update, config, clone, delete = await asyncio.to_thread(
        both, scenario, ("consumerProgress", "-g", GROUP), ("consumerProgress",),
        ("updateSubGroup", "-c", scenario.cluster, "-g", "AdminSub", "-r", "5", "-q", "2"),
        ("getConsumerConfig", "-g", "AdminSub"),
        ("cloneGroupOffset", "-s", GROUP, "-d", "AdminClone", "-t", TOPIC),
        ("deleteSubGroup", "-b", scenario.broker, "-g", "AdminSub"),
    )  # fmt: skip
    ours, theirs = (rows(t) for t in progress)
    assert ours[0] == theirs[0]
    # topic, broker, queue, broker offset, consumer offset, diff; then the totals.
    assert [r[:6] for r in ours[1:-2]] == [r[:6] for r in theirs[1:-2]]
    assert ours[-1] == theirs[-1]
    ours, theirs = (rows(t) for t in overview)
    assert ours[0] == theirs[0]
    # All but the TPS column: a rate the broker samples, so each run reads its own value.
    assert sorted((*r[:-2], r[-1]) for r in ours[1:]) == sorted(
        (*r[:-2], r[-1]) for r in theirs[1:])  # fmt: skip
    for pair in (update, config, clone, delete):
        assert pair[0] == pair[1]
    # Nobody online: both rewrite the stored offsets and print the rollback table. mqadmin
    # runs second and sees the consumer offsets rmq-admin just set: that column differs.
    resets = (("resetOffsetByTime", "-g", GROUP, "-t", TOPIC, "-s", "0"),
              ("skipAccumulatedMessage", "-g", GROUP, "-t", TOPIC))  # fmt: skip
    for pair in await asyncio.to_thread(both, scenario, *resets):
        tables = [sorted((*r[:3], *r[4:]) for r in rows(t)) for t in pair]
        assert tables[0] == tables[1]


async def test_connection_commands_match_mqadmin(scenario: Cluster) -> None:
    inbox = Inbox()
    consumer = PushConsumer("AdminConnG", config=fast_config(scenario.namesrv))
    consumer.subscribe(TOPIC, "TagA || TagB")
    consumer.register_message_listener(inbox)
    async with Producer("AdminConnP", config=fast_config(scenario.namesrv)) as producer:
        await producer.send(Message(TOPIC, b"hello", tags="TagA"))
        async with consumer:
            await asyncio.sleep(1.5)  # heartbeats reached the broker
            pairs = await asyncio.to_thread(
                both, scenario, ("consumerConnection", "-g", "AdminConnG"),
                ("producerConnection", "-g", "AdminConnP", "-t", TOPIC),
            )  # fmt: skip
    for ours, theirs in pairs:
        # Java prints the subscription map in its hash order; the lines agree.
        assert sorted(ours.splitlines()) == sorted(theirs.splitlines())
        assert ours.splitlines()[0] == theirs.splitlines()[0]


async def test_message_commands_match_mqadmin(scenario: Cluster) -> None:
    async with Producer("AdminMsgP", config=fast_config(scenario.namesrv)) as producer:
        sent = await producer.send(Message(TOPIC, b"findme", tags="TagK", keys="AdminKey1"))

    def fields(text: str) -> dict[str, str]:
        """The printMsg block as label -> value, minus the per-run body path."""
        head, _, _ = text.partition("Message Body Path:")
        out = {}
        for line in head.splitlines():
            label, sep, value = line.partition(":")
            if sep and label:
                out[label.strip()] = value.strip()
        props = out.pop("Properties", "")
        out["Properties"] = ",".join(sorted(props.strip("{}").split(", ")))
        return out

    def tracks(text: str) -> set[tuple[str, str]]:
        """(group, track type) of each MessageTrack; Java's exception texts are its own."""
        return set(re.findall(r"MessageTrack \[consumerGroup=([^,]+), trackType=(\w+)", text))

    where = ("-b", scenario.broker_name, "-i", str(sent.message_queue.queue_id),
             "-o", str(sent.queue_offset))  # fmt: skip
    by_key, by_id, by_unique, by_offset = await asyncio.to_thread(
        both, scenario, ("queryMsgByKey", "-t", TOPIC, "-k", "AdminKey1"),
        ("queryMsgById", "-i", sent.offset_msg_id),
        ("queryMsgByUniqueKey", "-i", sent.msg_id, "-t", TOPIC),
        ("queryMsgByOffset", "-t", TOPIC, *where),
    )  # fmt: skip
    # Apart: a send moves the queue's max offset, which the queries above print.
    (send,) = await asyncio.to_thread(
        both, scenario, ("sendMessage", "-t", TOPIC, "-p", "from admin", "-c", "TagS", "-b",
                         scenario.broker_name, "-i", "1"),
    )  # fmt: skip
    assert rows(by_key[0]) == rows(by_key[1])
    assert sent.msg_id in by_key[0]
    for ours, theirs in (by_id, by_unique, by_offset):
        assert fields(ours) == fields(theirs)
        assert tracks(ours) == tracks(theirs)
        assert fields(ours)["Keys"] == "[AdminKey1]"
    sent_rows = [rows(t) for t in send]
    assert sent_rows[0][0] == sent_rows[1][0]
    assert [r[:3] for r in sent_rows[0][1:]] == [r[:3] for r in sent_rows[1][1:]]


def inbox_consumer(cluster: Cluster, group: str, expression: str) -> tuple[PushConsumer, Inbox]:
    """A push consumer of TOPIC from its first offset, collecting into an Inbox."""
    inbox = Inbox()
    consumer = PushConsumer(group, config=fast_config(cluster.namesrv),
                            consume_from_where=CONSUME_FROM_FIRST_OFFSET)  # fmt: skip
    consumer.subscribe(TOPIC, expression)
    consumer.register_message_listener(inbox)
    return consumer, inbox


async def test_print_and_queue_commands_match_mqadmin(scenario: Cluster) -> None:
    """Commands that print messages as Java's MessageExt.toString() and raw queue data:
    byte for byte what mqadmin prints against the same broker."""
    group = "AdminPrintG"
    consumer, inbox = inbox_consumer(scenario, group, "*")
    async with consumer:
        assert await inbox.wait_count(10)
    outputs = await asyncio.to_thread(
        both, scenario,
        ("printMsg", "-t", TOPIC),
        ("printMsg", "-t", TOPIC, "-d", "false", "-s", "TagK"),
        ("printMsgByQueue", "-t", TOPIC, "-a", scenario.broker_name, "-i", "1", "-p", "true",
         "-d", "true", "-f", "true"),
        ("consumeMessage", "-t", TOPIC, "-c", "4"),
        ("queryCq", "-t", TOPIC, "-q", "0", "-i", "1", "-c", "3", "-b", scenario.broker),
        ("brokerConsumeStats", "-b", scenario.broker),
    )  # fmt: skip
    # Java's tool in one JVM cannot start a second pull consumer of its group at once.
    outputs += await asyncio.to_thread(
        both, scenario,
        ("consumeMessage", "-t", TOPIC, "-b", scenario.broker_name, "-i", "2", "-o", "1"),
    )  # fmt: skip
    for ours, theirs in outputs:
        assert ours == theirs
    assert "Consume ok" in outputs[3][0]
    assert f"{group}" in outputs[5][0]


def test_query_msg_trace_matches_mqadmin(scenario: Cluster) -> None:
    """A Java producer with message trace on: its Pub record, found through the trace
    topic's index, printed as mqadmin prints it."""
    sent = java("send", scenario.namesrv, TOPIC, "traced", "1")
    match = re.search(r"^SENT 0 SEND_OK (\S+) ", sent, re.M)
    assert match, sent
    msg_id = match.group(1)
    # The trace is sent in the background, its topic created and routed, then indexed.
    command = [str(BIN / "rmq-admin"), "queryMsgTraceById", "-i", msg_id, "-n", scenario.namesrv]
    for _ in range(150):
        probe = subprocess.run(command, capture_output=True, text=True, timeout=30)
        if "Pub" in probe.stdout:
            break
        time.sleep(0.2)
    ((ours, theirs),) = both(scenario, ("queryMsgTraceById", "-i", msg_id))
    assert ours == theirs
    assert ours.splitlines()[1].split()[:2] == ["Pub", "compat_send_traced"]


def masked(text: str) -> str:
    """Digits blanked and runs of spaces made one: timestamps, rates and round-trip times
    differ run to run, and so do their widths."""
    return re.sub(r" +", " ", re.sub(r"-?\d+(\.\d+)?", "0", text))


async def test_status_and_traffic_commands_match_mqadmin(scenario: Cluster) -> None:
    """Commands whose figures move between two runs (times, rates, new sends): the same
    layout, headers and rows as mqadmin, digits aside."""
    group = "AdminStatusG"
    consumer, inbox = inbox_consumer(scenario, group, "*")
    async with consumer:
        assert await inbox.wait_count(10)
        for _ in range(100):  # the retry topic's queue joins once its route is known
            if any(q.topic.startswith("%RETRY%") for q in consumer.rebalance.process_queues):
                break
            await asyncio.sleep(0.1)
        client_id = consumer.instance.client_id
        status, listing, stats, send_status, rt, producers = await asyncio.to_thread(
            both, scenario,
            ("consumerStatus", "-g", group, "-i", client_id),
            ("consumerStatus", "-g", group),
            ("statsAll", "-t", TOPIC),
            ("sendMsgStatus", "-b", scenario.broker_name, "-c", "3"),
            ("checkMsgSendRT", "-t", TOPIC, "-a", "3"),
            ("producer", "-b", scenario.broker),
        )  # fmt: skip
    assert masked(status[0]) == masked(status[1])
    assert TOPIC in status[0]
    assert "#Consumer MQ Detail#" in status[0]
    assert rows(listing[0])[0] == rows(listing[1])[0]
    assert [r[1] for r in rows(listing[0])[1:2]] == [client_id]
    assert masked(stats[0]) == masked(stats[1])
    assert [TOPIC, group] in [r[:2] for r in rows(stats[0])[1:]]
    for ours, theirs in (send_status, rt):
        assert len(ours.splitlines()) == len(theirs.splitlines())
    assert all("sendStatus=SEND_OK" in line for line in send_status[0].splitlines())
    assert rows(rt[0])[0] == rows(rt[1])[0]
    assert [r[:3] for r in rows(rt[0])[1:4]] == [r[:3] for r in rows(rt[1])[1:4]]
    assert producers[0].count("producer group (") == producers[1].count("producer group (")


def test_export_commands_match_mqadmin(scenario: Cluster, tmp_path: Path) -> None:
    """exportMetadata/exportConfigs/exportMetrics: the files both tools write hold the same
    JSON (export time, rates and client lists aside)."""
    commands = []
    for tool in ("ours", "theirs"):
        base = str(tmp_path / tool)
        commands.append([
            ("exportMetadata", "-c", scenario.cluster, "-f", base),
            ("exportMetadata", "-b", scenario.broker, "-t", "-f", base + "/b"),
            ("exportConfigs", "-c", scenario.cluster, "-f", base),
            ("exportMetrics", "-c", scenario.cluster, "-f", base),
        ])  # fmt: skip
    ours = [rmq_admin(scenario, *args) for args in commands[0]]
    theirs = mqadmin_batch([[*args, "-n", scenario.namesrv] for args in commands[1]])
    for mine, java_out in zip(ours, theirs, strict=True):
        assert mine.replace("/ours/", "/x/") == java_out.replace("/theirs/", "/x/")

    def load(tool: str, name: str) -> Any:
        return fastjson.loads((tmp_path / tool / name).read_bytes())

    for name in ("metadata.json", "b/topic.json", "configs.json"):
        a, b = load("ours", name), load("theirs", name)
        a.pop("exportTime", None), b.pop("exportTime", None)
        a.pop("dataVersion", None), b.pop("dataVersion", None)
        assert a == b, name
    a, b = load("ours", "metrics.json"), load("theirs", "metrics.json")
    assert a["evaluateReport"].keys() == b["evaluateReport"].keys()
    for broker, report in a["evaluateReport"].items():
        theirs_quota = b["evaluateReport"][broker]["runtimeQuota"]
        assert report["runtimeQuota"].keys() == theirs_quota.keys()
        assert report["runtimeQuota"]["topicSize"] == theirs_quota["topicSize"]
        assert report["runtimeQuota"]["groupSize"] == theirs_quota["groupSize"]
    assert a["totalData"].keys() == b["totalData"].keys()


@pytest.mark.parametrize(
    "name",
    [
        "updateTopic",
        "printMsgByQueue",
        "consumeMessage",
        "resetOffsetByTime",
        "exportMetadata",
        "clusterRT",
    ],
)
def test_command_help_matches_mqadmin(name: str) -> None:
    """Usage lines wrapped as commons-cli wraps them, required groups, long names with
    Java's stray spaces. (Each mqadmin -h is its own JVM: a sample, not all 57.)"""
    ours = subprocess.run([str(BIN / "rmq-admin"), name, "-h"], capture_output=True,
                          text=True, timeout=30).stdout  # fmt: skip
    assert ours == mqadmin(name, "-h").stdout


def _first_lines(cluster: Cluster, args: list[str], until: str, env: dict[str, str] | None = None,
                 timeout: float = 60.0) -> list[str]:  # fmt: skip
    """Output lines of a command that runs until stopped, up to the one containing
    ``until``; then it is stopped."""
    command = [str(BIN / "rmq-admin"), *args, "-n", cluster.namesrv]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})})  # fmt: skip
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if until in line or time.monotonic() > deadline:
                break
    finally:
        proc.kill()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    return lines


def test_long_running_commands_report(scenario: Cluster) -> None:
    """clusterRT times sends to every broker each interval; startMonitoring logs a round of
    backlog checks (both run until stopped, as mqadmin's do)."""
    rt = _first_lines(scenario, ["clusterRT", "-a", "3", "-i", "1"], scenario.broker_name)
    assert rt[0].split() == ["#Cluster", "Name", "#Broker", "Name", "#RT", "#successCount",
                             "#failCount"]  # fmt: skip
    row = rt[-1].split()
    assert row[:2] == [scenario.cluster, scenario.broker_name]
    assert row[3:] == ["3", "0"]
    quick = {"RMQ_MONITOR_DELAY_MS": "0", "RMQ_MONITOR_INTERVAL_MS": "1000"}
    monitor = _first_lines(scenario, ["startMonitoring"], "endRound", quick)
    assert any("[MONITOR] =========================================beginRound" in line
               for line in monitor)  # fmt: skip
    assert "endRound" in monitor[-1]


async def test_query_msg_by_id_pushes_and_resends_like_mqadmin(scenario: Cluster) -> None:
    """queryMsgById -g -d: the consumer consumes the message again on request; -s true:
    the message is sent again under its own message id."""
    async with Producer("AdminAgainP", config=fast_config(scenario.namesrv)) as producer:
        sent = await producer.send(Message(TOPIC, b"again", tags="TagAgain"))
    group = "AdminAgainG"
    consumer, inbox = inbox_consumer(scenario, group, "TagAgain")
    async with consumer:
        assert await inbox.wait_count(1)
        client_id = consumer.instance.client_id
        ((pushed, pushed_java), (resent, resent_java)) = await asyncio.to_thread(
            both, scenario,
            ("queryMsgById", "-i", sent.offset_msg_id, "-g", group, "-d", client_id),
            ("queryMsgById", "-i", sent.offset_msg_id, "-s", "true"),
        )  # fmt: skip
        # The listener saw it: first, once per direct consume (both tools), once per resend.
        assert await inbox.wait_count(5)
    assert masked(pushed) == masked(pushed_java)
    assert "consumeResult=CR_SUCCESS" in pushed
    head = f"prepare resend msg. originalMsgId={sent.offset_msg_id}SendResult [sendStatus=SEND_OK, "
    for text in (resent, resent_java):
        assert text.startswith(head + f"msgId={sent.msg_id}, ")
    assert [m.msg_id for m in inbox.msgs] == [sent.msg_id] * 5
