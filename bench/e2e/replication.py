"""Replication, rmq against Apache RocketMQ 4.9.7 in the same topology on the same machine:
one NameServer, a SYNC_MASTER and its SLAVE (same implementation), the load from rmq.client
in this process so the client costs the same on both sides.

- sync: TASKS concurrent senders for SECONDS; TPS of SEND_OK answers and p50/p99 latency.
- catch-up: with the slave stopped, the master takes BACKLOG MiB; the slave is started and
  timed from its first answer until its commitlog max offset equals the master's: MB/s
  master to slave, also as a share of the disk's fsync'd sequential write bandwidth.

Usage: python -m bench.e2e.replication [--seconds 8] [--tasks 32] [--size 256]
       [--backlog 1024] [--reps 2] [--systems rmq,apache]
"""

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.e2e.results import save_report
from rmq.client import BrokerError, ClientError, Message, Producer, SendStatus
from rmq.common import fastjson
from rmq.common.codes import RequestCode
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import request
from rmq.remoting.errors import RemotingError
from tests.harness.java import classpath, java_env
from tests.harness.pair import BROKER_JVM, Pair, spawn, start_pair, stop
from tests.harness.processes import BIN, free_broker_port, write_properties
from tests.harness.py_client import fast_config

SMALL = {"mappedFileSizeCommitLog": str(1024 * 1024 * 1024)}
TOPIC = "BenchHa"


@dataclass
class Run:
    system: str
    rep: int
    sync_tps: float
    p50_ms: float
    p99_ms: float
    catchup_mb_s: float
    backlog_mb: float


class Slave:
    def __init__(self, system: str, home: Path, pair: Pair) -> None:
        self.port = free_broker_port()
        self.addr = f"127.0.0.1:{self.port}"
        conf = write_properties(home / "slave.properties", {
            "brokerClusterName": "BenchCluster", "brokerName": "broker-ha", "brokerId": "1",
            "brokerRole": "SLAVE", "brokerIP1": "127.0.0.1", "listenPort": str(self.port),
            "haListenPort": str(self.port + 1), "namesrvAddr": pair.namesrv,
            "storePathRootDir": str(home / "slave" / "store"), **SMALL,
        })  # fmt: skip
        if system == "rmq":
            self.command = [str(BIN / "rmq-broker"), "-c", str(conf)]
            self.env = {**pair.env, "HOME": str(home / "slave")}
        else:
            self.command = ["java", *BROKER_JVM, f"-Duser.home={home / 'slave'}", "-cp",
                            classpath(), "org.apache.rocketmq.broker.BrokerStartup", "-c",
                            str(conf)]  # fmt: skip
            self.env = java_env(home / "slave")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc, _ = spawn(self.command, self.env, False)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None


async def max_offset(remoting: RemotingClient, addr: str) -> int:
    reply = await remoting.invoke(addr, request(RequestCode.GET_BROKER_RUNTIME_INFO), 5.0)
    return int(fastjson.loads(reply.body or b"{}")["table"]["commitLogMaxOffset"])


async def until_replicating(namesrv: str, timeout: float = 90.0) -> None:
    """Until a SYNC_MASTER send comes back SEND_OK: the slave has booted, learned its
    master from the NameServer, connected and reported (Java's slave retries every 5 s)."""
    deadline = time.monotonic() + timeout
    async with Producer("bench-ha-ready", config=fast_config(namesrv)) as producer:
        while True:
            try:
                result = await producer.send(Message(TOPIC, b"ready"))
                if result.send_status is SendStatus.SEND_OK:
                    return
            except (RemotingError, ClientError, BrokerError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the slave never acknowledged a SYNC_MASTER send")
            await asyncio.sleep(0.5)


async def sync_phase(
    namesrv: str, seconds: float, tasks: int, size: int
) -> tuple[float, list[float]]:
    body = b"x" * size
    latencies: list[float] = []
    async with Producer("bench-ha-p", config=fast_config(namesrv)) as producer:
        await producer.send(Message(TOPIC, body))  # route and topic
        end = time.monotonic() + seconds

        async def sender() -> None:
            while time.monotonic() < end:
                t0 = time.perf_counter()
                result = await producer.send(Message(TOPIC, body))
                if result.send_status is SendStatus.SEND_OK:
                    latencies.append(time.perf_counter() - t0)

        start = time.monotonic()
        await asyncio.gather(*(sender() for _ in range(tasks)))
        elapsed = time.monotonic() - start
    return len(latencies) / elapsed, latencies


async def fill(namesrv: str, megabytes: int) -> None:
    # Random bytes: the client compresses bodies over 4 KiB, and a repeated byte would
    # shrink to almost nothing.
    body = os.urandom(64 * 1024)
    async with Producer("bench-ha-fill", config=fast_config(namesrv)) as producer:
        producer.retry_times_when_send_failed = 0
        sem = asyncio.Semaphore(32)

        async def one() -> None:
            async with sem:
                await producer.send(Message(TOPIC, body))

        await asyncio.gather(*(one() for _ in range(megabytes * 16)))


async def one_rep(system: str, rep: int, args: argparse.Namespace) -> Run:
    with tempfile.TemporaryDirectory(prefix=f"bench-ha-{system}-") as tmp:
        home = Path(tmp)
        (home / "master").mkdir()
        extra = {**SMALL, "brokerRole": "SYNC_MASTER", "maxMessageSize": str(128 * 1024)}
        pair = start_pair(system, home / "master", "ASYNC_FLUSH", extra, pin=False,
                          broker_name="broker-ha")  # fmt: skip
        slave = Slave(system, home, pair)
        remoting = RemotingClient(timeout=10.0)
        try:
            slave.start()
            await until_replicating(pair.namesrv)
            tps, latencies = await sync_phase(pair.namesrv, args.seconds, args.tasks, args.size)
            quantiles = statistics.quantiles(latencies, n=100)
            await asyncio.to_thread(slave.stop)
            start_offset = await max_offset(remoting, pair.broker_addr)
            await fill(pair.namesrv, args.backlog)
            target = await max_offset(remoting, pair.broker_addr)
            await asyncio.to_thread(slave.start)
            # Timed from the slave's first answer: the catch-up, not the JVM's or
            # Python's boot.
            t0: float | None = None
            while True:
                try:
                    reached = await max_offset(remoting, slave.addr)
                except (OSError, RemotingError, KeyError):
                    await asyncio.sleep(0.05)  # the slave is still booting
                    continue
                t0 = time.monotonic() if t0 is None else t0
                if reached >= target:
                    break
                await asyncio.sleep(0.05)
            took = time.monotonic() - t0
            megabytes = (target - start_offset) / 1e6
            return Run(system, rep, tps, quantiles[49] * 1000, quantiles[98] * 1000,
                       megabytes / took, megabytes)  # fmt: skip
        finally:
            await remoting.close()
            slave.stop()
            pair.stop()


def disk_write_mb_s(megabytes: int = 512) -> float:
    """Sequential write bandwidth of the temp dir's disk, with the fsync that puts the
    bytes on it: the yardstick for the catch-up rate."""
    chunk = os.urandom(1024 * 1024)
    with tempfile.NamedTemporaryFile(prefix="bench-ha-disk-") as f:
        t0 = time.monotonic()
        for _ in range(megabytes):
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())
        took = time.monotonic() - t0
    return megabytes * 1024 * 1024 / 1e6 / took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--tasks", type=int, default=32)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--backlog", type=int, default=1024)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--systems", default="rmq,apache", help="comma-separated")
    args = parser.parse_args()
    disk = disk_write_mb_s()
    print(f"disk write: {disk:.0f} MB/s", flush=True)
    runs: list[Run] = []
    for rep in range(args.reps):
        systems = args.systems.split(",")
        order = systems if rep % 2 == 0 else systems[::-1]
        for system in order:
            run = asyncio.run(one_rep(system, rep, args))
            print(run, flush=True)
            runs.append(run)

    def median(system: str, key: str) -> float:
        values = [getattr(r, key) for r in runs if r.system == system]
        return float(statistics.median(values)) if values else float("nan")

    summary: dict[str, dict[str, float]] = {
        key: {"rmq": median("rmq", key), "apache": median("apache", key),
              "ratio": median("rmq", key) / max(median("apache", key), 1e-9)}
        for key in ("sync_tps", "p50_ms", "p99_ms", "catchup_mb_s")
    }  # fmt: skip
    summary["catchup_vs_disk"] = {
        system: median(system, "catchup_mb_s") / disk for system in ("rmq", "apache")
    }
    summary["disk_write_mb_s"] = {"rmq": disk, "apache": disk, "ratio": 1.0}
    print(json.dumps(summary, indent=2))
    out = save_report("replication", {"machine": platform.platform(), "args": vars(args),
                                      "runs": [asdict(r) for r in runs],
                                      "summary": summary})  # fmt: skip
    print(out)


if __name__ == "__main__":
    main()
