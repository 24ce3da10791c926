"""End to end: GET_ROUTEINFO_BY_TOPIC load against rmq-namesrv and Apache RocketMQ 4.9.7's
NameServer, on this machine, in the same run, alternating order across repetitions.

Each server is pinned to CPU 0 (``taskset``) and the load generator to CPU 1, so the
figure is requests/s per server core. Both get the same registration (one broker, 100
topics) and the same load: C connections, each keeping D requests in flight, for S seconds.
Reported per system: requests/s (median, min, max over repetitions), p50/p99 latency, time
from process start to boot line, idle RSS after boot; and the rmq/Apache ratios.

Usage: python -m bench.e2e.namesrv_routes [--seconds 5] [--reps 3] [--conns 16] [--depth 8]
       [--warmup 3]
"""

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.e2e.results import save_report
from rmq.common.codes import RequestCode, ResponseCode
from rmq.common.route import DataVersion, RegisterBrokerBody, TopicConfig
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import request
from tests.harness.java import JVM_FLAGS, classpath, java_env
from tests.harness.processes import BIN, free_port, write_properties

TOPICS = [f"BenchTopic{i}" for i in range(100)]
BOOT = "The Name Server boot success"


@dataclass
class Run:
    system: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    boot_s: float
    idle_rss_mib: float
    errors: int


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start(system: str, home: Path, port: int) -> tuple["subprocess.Popen[bytes]", float]:
    conf = write_properties(home / "namesrv.properties", {"listenPort": str(port)})
    if system == "rmq":
        command = [str(BIN / "rmq-namesrv"), "-c", str(conf)]
        env = {**os.environ, "HOME": str(home)}
    else:
        command = [
            "java", *JVM_FLAGS, f"-Duser.home={home}", "-cp", classpath(),
            "org.apache.rocketmq.namesrv.NamesrvStartup", "-c", str(conf),
        ]  # fmt: skip
        env = java_env(home)
    began = time.monotonic()
    proc = subprocess.Popen(
        ["taskset", "-c", "0", *command], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    assert proc.stdout is not None
    deadline = began + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if BOOT.encode() in line:
            return proc, time.monotonic() - began
    proc.kill()
    raise RuntimeError(f"{system} namesrv did not boot")


async def load(
    addr: str, seconds: float, conns: int, depth: int, warmup: float
) -> tuple[int, list[float], int]:
    clients = [RemotingClient(timeout=10) for _ in range(conns)]
    body = RegisterBrokerBody(DataVersion(1, 1), {t: TopicConfig(t, 8, 8, 6) for t in TOPICS}, [])
    register = request(
        RequestCode.REGISTER_BROKER,
        {"brokerName": "broker-a", "brokerAddr": "127.0.0.1:10911", "clusterName": "C",
         "haServerAddr": "127.0.0.1:10912", "brokerId": "0"},
        body.encode(),
    )  # fmt: skip
    reply = await clients[0].invoke(addr, register)
    assert reply.code == ResponseCode.SUCCESS, reply.remark
    latencies: list[float] = []
    errors = 0
    # Warm up first (the JVM's JIT needs it); only the measured window is counted.
    measure_from = time.monotonic() + warmup
    stop_at = measure_from + seconds

    async def worker(client: RemotingClient, seed: int) -> None:
        nonlocal errors
        rnd = random.Random(seed)
        while time.monotonic() < stop_at:
            topic = rnd.choice(TOPICS)
            t0 = time.perf_counter()
            resp = await client.invoke(
                addr, request(RequestCode.GET_ROUTEINFO_BY_TOPIC, {"topic": topic})
            )
            if t0 < measure_from - began_perf:
                continue
            latencies.append(time.perf_counter() - t0)
            if resp.code != ResponseCode.SUCCESS or not resp.body:
                errors += 1

    for client in clients:  # connect first: connection setup is not what we measure
        await client.connection(addr)
    began_perf = time.monotonic() - time.perf_counter()
    await asyncio.gather(
        *(worker(c, i * 100 + d) for i, c in enumerate(clients) for d in range(depth))
    )
    elapsed = time.monotonic() - measure_from
    for client in clients:
        await client.close()
    return round(len(latencies) / elapsed), latencies, errors


def run_once(system: str, seconds: float, conns: int, depth: int, warmup: float) -> Run:
    with tempfile.TemporaryDirectory(prefix=f"bench-{system}-") as tmp:
        port = free_port()
        proc, boot = start(system, Path(tmp), port)
        try:
            time.sleep(1.0)
            idle = rss_mib(proc.pid)
            rps, lat, errors = asyncio.run(load(f"127.0.0.1:{port}", seconds, conns, depth, warmup))
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
    lat.sort()
    return Run(
        system, rps, lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000, boot, idle, errors
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--conns", type=int, default=16)
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=3.0)
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})  # the load generator stays off the server's core
    runs: list[Run] = []
    for rep in range(args.reps):
        order = ["rmq", "apache"] if rep % 2 == 0 else ["apache", "rmq"]
        for system in order:
            run = run_once(system, args.seconds, args.conns, args.depth, args.warmup)
            print(json.dumps(asdict(run)), flush=True)
            runs.append(run)

    def med(system: str, field: str) -> float:
        return float(statistics.median(getattr(r, field) for r in runs if r.system == system))

    fields = ["requests_per_s", "p50_ms", "p99_ms", "boot_s", "idle_rss_mib"]
    summary = {s: {f: med(s, f) for f in fields} for s in ("rmq", "apache")}
    for s in summary:
        values = [r.requests_per_s for r in runs if r.system == s]
        summary[s]["requests_per_s_min"] = min(values)
        summary[s]["requests_per_s_max"] = max(values)
    ratios = {f: summary["rmq"][f] / summary["apache"][f] for f in fields}
    report = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": {"nproc": os.cpu_count(), "python": sys.version.split()[0],
                    "platform": platform.platform()},
        "workload": vars(args) | {"topics": len(TOPICS)},
        "runs": [asdict(r) for r in runs],
        "median": summary,
        "ratio_rmq_over_apache": ratios,
    }  # fmt: skip
    out = save_report("namesrv-routes", report)
    print("\n| metric | rmq | Apache 4.9.7 | rmq/Apache |\n|---|---|---|---|")
    for f in fields:
        print(f"| {f} | {summary['rmq'][f]:.2f} | {summary['apache'][f]:.2f} | {ratios[f]:.2f} |")
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
