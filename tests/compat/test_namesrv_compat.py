"""The official Apache RocketMQ 4.9.7 libraries and mqadmin against a real rmq-namesrv.

A broker is played by the official ``BrokerOuterAPI`` (the code a Java broker registers
with), so registration bodies, both plain and compressed, are the reference's own bytes.
"""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.harness.java import java_command, java_env, mqadmin, run_java
from tests.harness.processes import ServerProcess

pytestmark = pytest.mark.compat

COMPAT_MAIN = "dev.rmq.compat.RmqCompat"


class JavaBroker:
    """A registration held open by the Java process until ``close``."""

    def __init__(self, namesrv: str, name: str, addr: str, broker_id: int, compressed: bool,
                 topics: list[str]) -> None:  # fmt: skip
        command = java_command(
            COMPAT_MAIN, "register", namesrv, "CompatCluster", name, addr, str(broker_id),
            "true" if compressed else "false", *topics,
        )  # fmt: skip
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=java_env(),
        )  # fmt: skip
        assert self.proc.stdout is not None
        self.lines: list[str] = []
        for line in self.proc.stdout:
            self.lines.append(line.strip())
            if line.startswith("RESULTS"):
                break
        assert self.lines, "the Java broker printed nothing"
        assert self.lines[-1] == "RESULTS 1", self.lines

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def brokers(namesrv: ServerProcess) -> Iterator[list[JavaBroker]]:
    held = [
        JavaBroker(namesrv.addr, "broker-a", "127.0.0.1:30911", 0, False, ["TopicA", "Shared"]),
        JavaBroker(namesrv.addr, "broker-b", "127.0.0.1:31911", 0, True, ["TopicB", "Shared"]),
        JavaBroker(namesrv.addr, "broker-a", "127.0.0.1:32911", 1, False, ["TopicA"]),
    ]
    yield held
    for broker in held:
        broker.close()


def test_java_slave_registration_learns_its_master(brokers: list[JavaBroker]) -> None:
    assert "REGISTERED masterAddr=127.0.0.1:30911 haServerAddr=127.0.0.1:30912" in brokers[2].lines


def test_mqadmin_cluster_list_shows_every_broker(
    namesrv: ServerProcess, brokers: list[JavaBroker]
) -> None:
    result = mqadmin("clusterList", "-n", namesrv.addr)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("CompatCluster")]
    assert sorted((r[1], r[2], r[3]) for r in rows) == [
        ("broker-a", "0", "127.0.0.1:30911"),
        ("broker-a", "1", "127.0.0.1:32911"),
        ("broker-b", "0", "127.0.0.1:31911"),
    ]


def test_mqadmin_topic_list(namesrv: ServerProcess, brokers: list[JavaBroker]) -> None:
    result = mqadmin("topicList", "-n", namesrv.addr)
    assert result.returncode == 0, result.stderr
    assert {"TopicA", "TopicB", "Shared"} <= set(result.stdout.split())


def test_mqadmin_topic_route_after_registration(
    namesrv: ServerProcess, brokers: list[JavaBroker]
) -> None:
    result = mqadmin("topicRoute", "-n", namesrv.addr, "-t", "Shared")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert '"brokerName":"broker-a"' in text
    assert '"brokerName":"broker-b"' in text
    assert "127.0.0.1:30911" in text
    assert "127.0.0.1:32911" in text


def test_mqadmin_kv_config_and_namesrv_config(namesrv: ServerProcess) -> None:
    put = mqadmin("updateKvConfig", "-n", namesrv.addr, "-s", "ns1", "-k", "k1", "-v", "v1")
    assert put.returncode == 0, put.stderr
    stored = orjson.loads((namesrv.home / "namesrv" / "kvConfig.json").read_bytes())
    assert stored["configTable"]["ns1"] == {"k1": "v1"}
    config = mqadmin("getNamesrvConfig", "-n", namesrv.addr)
    assert config.returncode == 0, config.stderr
    assert "kvConfigPath" in config.stdout
    assert "listenPort" in config.stdout
    delete = mqadmin("deleteKvConfig", "-n", namesrv.addr, "-s", "ns1", "-k", "k1")
    assert delete.returncode == 0, delete.stderr
    stored = orjson.loads((namesrv.home / "namesrv" / "kvConfig.json").read_bytes())
    assert stored["configTable"].get("ns1", {}) == {}


def test_mqadmin_update_namesrv_config_cannot_change_paths(namesrv: ServerProcess) -> None:
    result = mqadmin(
        "updateNamesrvConfig", "-n", namesrv.addr, "-k", "kvConfigPath", "-v", "/tmp/evil.json"
    )
    assert "Can not update config keys kvConfigPath" in result.stdout + result.stderr
    config = mqadmin("getNamesrvConfig", "-n", namesrv.addr)
    assert "/tmp/evil.json" not in config.stdout
    ok = mqadmin(
        "updateNamesrvConfig", "-n", namesrv.addr, "-k", "orderMessageEnable", "-v", "true"
    )
    assert ok.returncode == 0, ok.stderr
    assert "orderMessageEnable=true" in (namesrv.home / "namesrv.properties").read_text()


def test_java_client_route_lookup(namesrv: ServerProcess, brokers: list[JavaBroker]) -> None:
    result = run_java(COMPAT_MAIN, "route", namesrv.addr, "Shared")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    queues = sorted(line for line in lines if line.startswith("QUEUE "))
    assert queues == [f"QUEUE broker-{b} {q}" for b in "ab" for q in range(4)]


def test_java_client_route_miss_is_an_error(namesrv: ServerProcess) -> None:
    result = run_java(COMPAT_MAIN, "route", namesrv.addr, "NoSuchTopic")
    assert result.returncode != 0
    assert "No topic route info in name server for the topic: NoSuchTopic" in result.stderr


def test_recaptured_java_frames_match_the_committed_fixtures(tmp_path: Path) -> None:
    result = run_java(COMPAT_MAIN, "fixtures", str(tmp_path))
    assert result.returncode == 0, result.stderr
    committed = Path(__file__).resolve().parents[1] / "fixtures" / "remoting"
    names = sorted(p.name for p in committed.glob("*.bin"))
    assert names == sorted(p.name for p in tmp_path.glob("*.bin"))
    for name in names:
        assert (tmp_path / name).read_bytes() == (committed / name).read_bytes(), name
