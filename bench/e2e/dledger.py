"""DLedger groups, rmq against Apache RocketMQ 4.9.7 in DLedger mode on the same machine: one
NameServer and three brokers of one group (same implementation), the load from rmq.client
in this process so the client costs the same on both sides.

- send: TASKS concurrent senders of SIZE-byte messages for SECONDS through the master;
  TPS of SEND_OK answers, p50/p99 latency.
- failover: KILLS rounds of: SIGKILL the master while a sender keeps sending, time until
  a new master is listed by the NameServer and takes a send, restart the killed member
  and wait until it is listed as a slave again. Afterwards every queue is read from the
  master and compared with what was acknowledged: lost (must be 0), duplicated,
  out of order.

Usage: python -m bench.e2e.dledger [--seconds 10] [--tasks 32] [--size 1024] [--kills 50]
       [--apache-kills 5] [--reps 1] [--systems rmq,apache]
"""

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.e2e.results import save_report
from rmq.client import BrokerError, ClientError, Message, Producer, SendStatus
from rmq.remoting.client import RemotingClient
from rmq.remoting.errors import RemotingError
from tests.harness.dledger import (
    GROUP,
    TOPIC,
    Group,
    Load,
    broker_addrs,
    check,
    consume_all,
    wait_master,
)
from tests.harness.java import JVM_FLAGS, classpath, java_env
from tests.harness.pair import BROKER_JVM, spawn, stop
from tests.harness.processes import BIN, free_broker_port, free_port, write_properties
from tests.harness.py_client import fast_config


@dataclass
class Run:
    system: str
    rep: int
    send_tps: float
    p50_ms: float
    p99_ms: float
    kills: int = 0
    failover_s: list[float] = field(default_factory=list)
    acked: int = 0
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    #: a kill after which no new master took a send in time (the rounds stop there)
    failed_failovers: int = 0


class Members:
    """A NameServer and three DLedger brokers of ``system``, by exact pid."""

    def __init__(self, system: str, home: Path) -> None:
        self.system = system
        self.home = home
        ns_port = free_port()
        self.namesrv = f"127.0.0.1:{ns_port}"
        ports: list[int] = []
        for _ in range(3):
            ports.append(free_broker_port([ns_port, *ports]))
        raft = [free_port() for _ in range(3)]
        peers = ";".join(f"n{i}-127.0.0.1:{raft[i]}" for i in range(3))
        # The checker and the load helpers address members through this view.
        self.view = Group(home, self.namesrv, ports, raft, ["127.0.0.1"] * 3, [None] * 3)
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * 3
        self.commands: list[tuple[list[str], dict[str, str]]] = []
        ns_conf = write_properties(home / "namesrv.properties", {"listenPort": str(ns_port)})
        for i in range(3):
            conf = write_properties(home / f"n{i}.properties", {
                "brokerClusterName": "BenchCluster", "brokerName": GROUP,
                "brokerIP1": "127.0.0.1", "listenPort": str(ports[i]),
                "namesrvAddr": self.namesrv, "storePathRootDir": str(home / f"n{i}" / "store"),
                "enableDLegerCommitLog": "true", "dLegerGroup": GROUP, "dLegerPeers": peers,
                "dLegerSelfId": f"n{i}", "sendMessageThreadPoolNums": "16",
            })  # fmt: skip
            node_home = home / f"n{i}"
            node_home.mkdir(parents=True, exist_ok=True)
            if system == "rmq":
                self.commands.append(([str(BIN / "rmq-broker"), "-c", str(conf)],
                                      {**os.environ, "HOME": str(node_home)}))  # fmt: skip
            else:
                self.commands.append((["java", *BROKER_JVM, f"-Duser.home={node_home}", "-cp",
                                       classpath(), "org.apache.rocketmq.broker.BrokerStartup",
                                       "-c", str(conf)], java_env(node_home)))  # fmt: skip
        if system == "rmq":
            ns_cmd = [str(BIN / "rmq-namesrv"), "-c", str(ns_conf)]
            ns_env = {**os.environ, "HOME": str(home)}
        else:
            ns_cmd = ["java", *JVM_FLAGS, f"-Duser.home={home}", "-cp", classpath(),
                      "org.apache.rocketmq.namesrv.NamesrvStartup", "-c", str(ns_conf)]  # fmt: skip
            ns_env = java_env(home)
        self.ns_proc, _ = spawn(ns_cmd, ns_env, False)

    def start(self, i: int) -> None:
        command, env = self.commands[i]
        self.procs[i], _ = spawn(command, env, False)

    def kill(self, i: int) -> None:
        proc = self.procs[i]
        if proc is not None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        self.procs[i] = None

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc is not None:
                stop(proc)
        stop(self.ns_proc)


async def until_master(remoting: RemotingClient, members: Members, not_addr: str | None,
                       timeout: float) -> str:  # fmt: skip
    """The master's address once the NameServer lists one (not ``not_addr``) taking sends;
    polled every 50 ms so failover times are read to that resolution."""
    try:
        return await wait_master(remoting, members.view, not_addr=not_addr, timeout=timeout,
                                 every=0.05)  # fmt: skip
    except AssertionError:
        raise RuntimeError(
            f"{members.system}: no master other than {not_addr} in {timeout} s"
        ) from None


async def until_listed(remoting: RemotingClient, members: Members, addr: str,
                       timeout: float) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if addr in (await broker_addrs(remoting, members.namesrv)).values():
                return
        except (OSError, TimeoutError, RemotingError):
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{members.system}: {addr} did not rejoin in {timeout} s")


async def send_phase(namesrv: str, seconds: float, tasks: int, size: int
                     ) -> tuple[float, list[float]]:  # fmt: skip
    body = os.urandom(size // 2).hex().encode()[:size]
    latencies: list[float] = []
    async with Producer("bench-dledger", config=fast_config(namesrv)) as producer:
        await producer.send(Message(TOPIC, body))  # route and topic
        end = time.monotonic() + seconds

        async def sender() -> None:
            while time.monotonic() < end:
                t0 = time.perf_counter()
                try:
                    result = await producer.send(Message(TOPIC, body))
                except (RemotingError, ClientError, BrokerError):
                    continue
                if result.send_status is SendStatus.SEND_OK:
                    latencies.append(time.perf_counter() - t0)

        start = time.monotonic()
        await asyncio.gather(*(sender() for _ in range(tasks)))
        elapsed = time.monotonic() - start
    return len(latencies) / elapsed, latencies


async def one_rep(system: str, rep: int, args: argparse.Namespace) -> Run:
    with tempfile.TemporaryDirectory(prefix=f"bench-dledger-{system}-") as tmp:
        members = Members(system, Path(tmp))
        remoting = RemotingClient(timeout=10.0)
        try:
            for i in range(3):
                members.start(i)
            boot_wait = 120.0 if system == "apache" else 30.0
            await until_master(remoting, members, None, boot_wait)
            tps, latencies = await send_phase(members.namesrv, args.seconds, args.tasks,
                                              args.size)  # fmt: skip
            q = statistics.quantiles(latencies, n=100)
            run = Run(system, rep, tps, q[49] * 1000, q[98] * 1000)
            kills = args.kills if system == "rmq" else args.apache_kills
            if kills:
                await failovers(remoting, members, run, kills, boot_wait)
            return run
        finally:
            await remoting.close()
            members.stop_all()


async def failovers(remoting: RemotingClient, members: Members, run: Run, kills: int,
                    boot_wait: float) -> None:  # fmt: skip
    load = Load(remoting, members.view)
    started = time.monotonic()
    kill_times: list[float] = []
    runner = asyncio.create_task(load.run(limit=10_000_000, seconds=kills * 120))
    try:
        for _ in range(kills):
            master = await until_master(remoting, members, None, boot_wait)
            victim = members.view.index_of(master)
            await asyncio.sleep(0.5)
            fault = time.monotonic()
            kill_times.append(fault)
            await asyncio.to_thread(members.kill, victim)
            run.kills += 1
            try:
                await until_master(remoting, members, master, boot_wait)
            except RuntimeError as exc:
                print(f"  {members.system} kill {run.kills}: FAILED ({exc})", flush=True)
                run.failed_failovers += 1
                await asyncio.to_thread(members.start, victim)
                break
            run.failover_s.append(time.monotonic() - fault)
            await asyncio.to_thread(members.start, victim)
            await until_listed(remoting, members, master, boot_wait)
            print(f"  {members.system} kill {run.kills}: failover "
                  f"{run.failover_s[-1]:.2f} s", flush=True)  # fmt: skip
    finally:
        load.stop()
        await runner
    try:
        master = await until_master(remoting, members, None, boot_wait)
    except RuntimeError as exc:
        print(f"  {members.system}: no master to check against ({exc})", flush=True)
        run.lost = -1
        return
    verdict = check(load, await consume_all(remoting, master))
    for body in verdict.lost[:5]:
        sent = next(o for o in load.outcomes if o.body == body)
        needle = len(body).to_bytes(4, "big") + body.encode()  # body length, then body
        on_disk = [i for i in range(3) if needle in members.view.commitlog(i)]
        print(f"  LOST {body}: acknowledged at {sent.at - started:.2f} s (kills at "
              f"{[round(k - started, 2) for k in kill_times]}), in the commitlog of "
              f"{on_disk}", flush=True)  # fmt: skip
    run.acked = len(load.acked())
    run.lost = len(verdict.lost)
    run.duplicated = verdict.duplicated
    run.out_of_order = verdict.out_of_order


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--tasks", type=int, default=32)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--apache-kills", type=int, default=5)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--systems", default="rmq,apache", help="comma-separated")
    args = parser.parse_args()
    runs: list[Run] = []
    for rep in range(args.reps):
        systems = args.systems.split(",")
        order = systems if rep % 2 == 0 else systems[::-1]
        for system in order:
            run = asyncio.run(one_rep(system, rep, args))
            print({k: v for k, v in asdict(run).items() if k != "failover_s"}, flush=True)
            runs.append(run)

    def median(system: str, key: str) -> float:
        values = [getattr(r, key) for r in runs if r.system == system]
        return float(statistics.median(values)) if values else float("nan")

    def failover(system: str) -> dict[str, float]:
        times = [t for r in runs if r.system == system for t in r.failover_s]
        if not times:
            return {}
        return {"median_s": statistics.median(times), "max_s": max(times),
                "min_s": min(times), "kills": len(times)}  # fmt: skip

    summary: dict[str, dict[str, object]] = {
        key: {"rmq": median("rmq", key), "apache": median("apache", key),
              "ratio": median("rmq", key) / max(median("apache", key), 1e-9)}
        for key in ("send_tps", "p50_ms", "p99_ms")
    }  # fmt: skip
    summary["failover"] = {"rmq": failover("rmq"), "apache": failover("apache")}
    summary["lost"] = {s: sum(r.lost for r in runs if r.system == s) for s in ("rmq", "apache")}
    print(json.dumps(summary, indent=2))
    out = save_report("dledger", {"machine": platform.platform(), "nproc": os.cpu_count(),
                                  "args": vars(args), "runs": [asdict(r) for r in runs],
                                  "summary": summary})  # fmt: skip
    print(out)


if __name__ == "__main__":
    main()
