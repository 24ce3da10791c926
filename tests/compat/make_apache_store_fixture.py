"""Write tests/fixtures/apache-store: a small store written by Apache RocketMQ 4.9.7 itself.

Starts the reference NameServer and broker (jars from `make compat-deps`) on loopback with
tiny segment sizes, sends 300 messages with the official producer, stops the broker
cleanly and copies the commitlog, the topic's consume queues, the index and the checkpoint.
Run by hand when the fixture must change: `python -m tests.compat.make_apache_store_fixture`.
"""

import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.harness.java import java_command, java_env
from tests.harness.processes import free_port, write_properties

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "apache-store"
TOPIC = "FixtureTopic"
COUNT = 300
#: The store settings the fixture was written with; tests open it with the same.
SETTINGS = {
    "mappedFileSizeCommitLog": "65536",
    "mappedFileSizeConsumeQueue": "6000",
    "maxHashSlotNum": "100",
    "maxIndexNum": "400",
}


def start(command: list[str], home: Path, marker: str) -> "subprocess.Popen[str]":
    env = java_env(home)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)  # fmt: skip
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        if marker in line:
            return proc
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise RuntimeError(f"{command[-3:]} did not boot")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="apache-fixture-") as tmp:
        home = Path(tmp)
        ns_port, broker_port = free_port(), free_port()
        ns_conf = write_properties(home / "namesrv.conf", {"listenPort": str(ns_port)})
        namesrv = start(
            java_command("org.apache.rocketmq.namesrv.NamesrvStartup", "-c", str(ns_conf)),
            home,
            "boot success",
        )
        store = home / "store"
        broker_conf = write_properties(
            home / "broker.conf",
            {
                "brokerClusterName": "FixtureCluster",
                "brokerName": "broker-fixture",
                "brokerIP1": "127.0.0.1",
                "listenPort": str(broker_port),
                "namesrvAddr": f"127.0.0.1:{ns_port}",
                "storePathRootDir": str(store),
                "flushDiskType": "SYNC_FLUSH",
                **SETTINGS,
            },
        )
        broker = start(
            java_command("org.apache.rocketmq.broker.BrokerStartup", "-c", str(broker_conf)),
            home,
            "boot success",
        )
        try:
            produced = subprocess.run(
                java_command("dev.rmq.compat.RmqCompat", "produce", f"127.0.0.1:{ns_port}",
                             TOPIC, str(COUNT)),
                capture_output=True, text=True, env=java_env(home), timeout=300, check=True,
            )  # fmt: skip
        finally:
            broker.send_signal(signal.SIGTERM)
            broker.wait(60)
            namesrv.send_signal(signal.SIGTERM)
            namesrv.wait(60)
        sent = [line for line in produced.stdout.splitlines() if line.startswith("SENT ")]
        assert len(sent) == COUNT, produced.stderr[-2000:]
        if FIXTURE.exists():
            shutil.rmtree(FIXTURE)
        FIXTURE.mkdir(parents=True)
        shutil.copytree(store / "commitlog", FIXTURE / "commitlog")
        shutil.copytree(store / "consumequeue" / TOPIC, FIXTURE / "consumequeue" / TOPIC)
        shutil.copytree(store / "index", FIXTURE / "index")
        shutil.copy(store / "checkpoint", FIXTURE / "checkpoint")
        (FIXTURE / "sent.txt").write_text("\n".join(sent) + "\n")
        print(f"wrote {FIXTURE}")


if __name__ == "__main__":
    main()
