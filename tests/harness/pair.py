"""A NameServer + broker pair of either system: rmq's ``rmq-namesrv``/``rmq-broker`` or
Apache RocketMQ 4.9.7's from Maven Central, started and stopped by exact pid. Benchmarks
pin the pair to CPU 0 (``taskset``) and run their load on CPU 1; tests run unpinned."""

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness.java import JVM_FLAGS, classpath, java_env
from tests.harness.processes import BIN, free_broker_port, free_port, write_properties

BOOT = "boot success"
#: Apache's broker as its own runbroker.sh would size it on a small box (heap 1 GiB).
BROKER_JVM = [
    "-Xms1g",
    "-Xmx1g",
    "-XX:+UseG1GC",
    *JVM_FLAGS[3:],
    # Its recovery unmaps files through jdk.internal.ref.Cleaner.
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
]


def spawn(command: list[str], env: dict[str, str], pin: bool = True
          ) -> tuple["subprocess.Popen[bytes]", float]:  # fmt: skip
    began = time.monotonic()
    pinned = ["taskset", "-c", "0", *command] if pin else command
    proc = subprocess.Popen(pinned, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    assert proc.stdout is not None
    deadline = began + 90
    seen: list[bytes] = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen = [*seen[-20:], line]
        if BOOT.encode() in line:
            return proc, time.monotonic() - began
    proc.kill()
    tail = b"".join(seen).decode(errors="replace")
    raise RuntimeError(f"{command[:3]} did not boot: {tail}")


def stop(proc: "subprocess.Popen[bytes]") -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@dataclass
class Pair:
    system: str
    namesrv: str
    broker_addr: str
    broker_cmd: list[str]
    env: dict[str, str]
    procs: dict[str, "subprocess.Popen[bytes]"] = field(default_factory=dict)
    boot_s: float = 0.0
    pin: bool = True
    broker_name: str = "broker-bench"

    def stop_broker(self) -> None:
        """A graceful stop (SIGTERM): the broker persists its progress files."""
        stop(self.procs.pop("broker"))

    def start_broker(self) -> float:
        """Start the broker again on the same store; seconds to its boot line."""
        self.procs["broker"], boot = spawn(self.broker_cmd, self.env, self.pin)
        return boot

    def stop(self) -> None:
        for name in ("broker", "namesrv"):
            if name in self.procs:
                stop(self.procs.pop(name))


def start_pair(system: str, home: Path, flush: str, extra: dict[str, str] | None = None,
               *, pin: bool = True, broker_name: str = "broker-bench") -> Pair:  # fmt: skip
    ns_port = free_port()
    broker_port = free_broker_port(avoid=[ns_port])
    ns_conf = write_properties(home / "namesrv.properties", {"listenPort": str(ns_port)})
    namesrv = f"127.0.0.1:{ns_port}"
    broker_conf = write_properties(
        home / "broker.properties",
        {
            "brokerClusterName": "BenchCluster",
            "brokerName": broker_name,
            "brokerIP1": "127.0.0.1",
            "listenPort": str(broker_port),
            "namesrvAddr": namesrv,
            "storePathRootDir": str(home / "store"),
            "flushDiskType": flush,
            **(extra or {}),
        },
    )
    if system == "rmq":
        env = {**os.environ, "HOME": str(home)}
        ns_cmd = [str(BIN / "rmq-namesrv"), "-c", str(ns_conf)]
        broker_cmd = [str(BIN / "rmq-broker"), "-c", str(broker_conf)]
    else:
        env = java_env(home)
        home_flag = f"-Duser.home={home}"
        ns_cmd = ["java", *JVM_FLAGS, home_flag, "-cp", classpath(),
                  "org.apache.rocketmq.namesrv.NamesrvStartup", "-c", str(ns_conf)]  # fmt: skip
        broker_main = "org.apache.rocketmq.broker.BrokerStartup"
        broker_cmd = ["java", *BROKER_JVM, home_flag, "-cp", classpath(), broker_main,
                      "-c", str(broker_conf)]  # fmt: skip
    pair = Pair(system, namesrv, f"127.0.0.1:{broker_port}", broker_cmd, env, pin=pin,
                broker_name=broker_name)  # fmt: skip
    try:
        pair.procs["namesrv"], _ = spawn(ns_cmd, env, pin)
        pair.procs["broker"], pair.boot_s = spawn(broker_cmd, env, pin)
    except BaseException:
        pair.stop()
        raise
    return pair
