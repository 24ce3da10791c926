"""rmq against Apache RocketMQ 4.9.7 on this machine, one command, one report.

Each system in turn (the order alternates across repetitions so drift hurts neither side):
a NameServer + broker pair pinned to CPU 0 (Apache's broker with the 1 GiB heap its
runbroker.sh gives a small box; rmq as installed), the load on CPU 1, the same workloads:

- send-official: rocketmq-example's own benchmark Producer (4.7.0, the newest 4.x on Maven
  Central, on the 4.9.7 client), 128 B, THREADS threads; TPS and average RT per 10 s window
  as it prints them, the first window dropped as warm-up.
- send-128 / send-1k: sync sends (tests/compat/java Bench.java: the same shape, with p99);
  TPS, average/p99/max RT.
- topics-N: sends round robin over N topics (RocketMQ's single-commitlog claim).
- threads-N: producer concurrency scaling.
- batch-32x128: sync batch sends of 32 messages of 128 B (Bench.java; rocketmq-example 4.7.0
  has no batch producer); TPS counts messages.
- sync-master-128 (full): the broker is a SYNC_MASTER with a slave of the same system; a
  send is answered once the slave has it.
- sync-flush-128: SYNC_FLUSH broker, 128 B sends.
- consume: a push consumer reading back everything the send-128 workload stored.
- send+consume: sends while a push consumer reads the same topic (both rates recorded).
- tx-official (full): rocketmq-example's TransactionProducer, 128 B, every half committed.
- backlog-1g (full): 1 GiB of 1 KiB messages written, then a push consumer's rate reading it.

For each run: broker CPU seconds per million messages and peak RSS; for each pair: time to
its boot line, idle RSS, commitlog bytes per message stored by send-128. Ceilings measured
in the same run: buffered sequential write bandwidth, fdatasync rate, loopback round trips.

Output: bench/results/compare-DATE.json, .md (the table the README shows) and .png plots.
Replication catch-up has its own run (python -m bench.e2e.replication), DLedger groups too
(python -m bench.e2e.dledger). topics-1000 runs on a pair of its own: Apache's broker
stays busy creating and routing topics long after it, which broke the workloads after it.

Usage: python -m bench.e2e.compare [--quick | --full | --smoke] [--reps N] [--seconds S]
       [--systems rmq,apache] [--only NAME,NAME] [--out DIR]
"""

import argparse
import asyncio
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.e2e.pair import Pair, java_load, rss_mib, start_pair
from bench.e2e.replication import Slave, until_replicating
from bench.e2e.results import RESULTS
from bench.e2e.store_ceilings import fdatasync_rate, seq_write_bandwidth
from rmq.common import fastjson
from rmq.common.codes import RequestCode
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import request
from tests.harness.java import JVM_FLAGS, classpath, java_env

SMALL = {"mappedFileSizeCommitLog": str(256 * 1024 * 1024)}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Workload:
    name: str
    flush: str = "ASYNC_FLUSH"
    size: int = 128
    threads: int = 16
    topics: int = 1
    official: bool = False
    transactional: bool = False
    consume: bool = False
    #: a push consumer reads the topic while it is being written
    mixed: bool = False
    #: bytes written first (sync sends, 32 threads), then consumed: the rate is the consumer's
    backlog: int = 0
    #: messages per batch send (Bench.java producebatch; TPS counts messages)
    batch: int = 0
    #: runs on a pair of its own (a workload that leaves the broker busy for long after)
    own_pair: bool = False
    #: the broker is a SYNC_MASTER with a slave of the same system
    replicated: bool = False


SMOKE = (Workload("send-128"), Workload("consume", consume=True),
         Workload("send+consume", mixed=True))  # fmt: skip
QUICK = (Workload("send-official", official=True), Workload("send-128"),
         Workload("send-1k", size=1024), Workload("topics-64", topics=64),
         Workload("consume", consume=True), Workload("send+consume", mixed=True))  # fmt: skip
FULL = (*QUICK[:4], Workload("topics-1000", topics=1000, own_pair=True),
        Workload("threads-1", threads=1), Workload("threads-64", threads=64),
        Workload("batch-32x128", batch=32), *QUICK[4:],
        Workload("sync-master-128", replicated=True),
        Workload("backlog-1g", size=1024, backlog=1 << 30),
        Workload("tx-official", official=True, transactional=True),
        Workload("sync-flush-128", flush="SYNC_FLUSH"))  # fmt: skip


#: (x, workload) points of the scaling curves in the plot
SCALING_TOPICS = ((1, "send-128"), (64, "topics-64"), (1000, "topics-1000"))
SCALING_THREADS = ((1, "threads-1"), (16, "send-128"), (64, "threads-64"))


@dataclass
class Result:
    system: str
    rep: int
    workload: str
    tps: float
    avg_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    errors: int = 0
    messages: int = 0
    cpu_s_per_million: float = 0.0
    peak_rss_mib: float = 0.0
    #: send+consume: the consumer's rate while the producer runs (``tps`` is the producer's)
    consume_tps: float = 0.0
    #: send+consume: how many messages that consumer received
    consumed: int = 0


@dataclass
class PairFacts:
    system: str
    rep: int
    flush: str
    boot_s: float
    idle_rss_mib: float
    store_bytes_per_msg: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def loopback_round_trips(count: int = 5000) -> float:
    """Round trips per second of a 64-byte ping-pong over loopback TCP."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def echo() -> None:
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(64):
                conn.sendall(data)

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    with socket.create_connection(("127.0.0.1", port)) as client:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        start = time.perf_counter()
        for _ in range(count):
            client.sendall(b"x" * 64)
            got = 0
            while got < 64:
                got += len(client.recv(64 - got))
        took = time.perf_counter() - start
    thread.join(5)
    server.close()
    return count / took


_WINDOW = re.compile(r"Send TPS: (\d+) Max RT: (\d+) Average RT:\s+([\d.]+) Send Failed: (\d+)")
_TX_WINDOW = re.compile(
    r"Send TPS:\s*(\d+) Max RT:\s*(\d+) AVG RT:\s*([\d.]+|NaN) Send Failed: (\d+)"
)


def official_producer(namesrv: str, size: int, threads: int, seconds: float,
                      transactional: bool = False) -> dict[str, float]:  # fmt: skip
    """rocketmq-example's benchmark Producer (or TransactionProducer: half message + commit)
    on CPU 1 for ``seconds``; it prints one line per 10 s window and runs until stopped."""
    tool = "TransactionProducer" if transactional else "Producer"
    command = ["taskset", "-c", "1", "java", *JVM_FLAGS, "-cp", classpath(),
               f"org.apache.rocketmq.example.benchmark.{tool}", "-n", namesrv,
               "-t", f"BenchOfficial{tool}", "-w", str(threads), "-s", str(size)]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-official-") as home:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=java_env(Path(home)))  # fmt: skip
        try:
            time.sleep(seconds)
        finally:
            proc.kill()
            out = proc.communicate()[0]
    pattern = _TX_WINDOW if transactional else _WINDOW
    windows = [m.groups() for m in pattern.finditer(out) if m.group(3) != "NaN"]
    measured = windows[1:] or windows  # the first window holds the JVM's warm-up
    if not measured:
        raise RuntimeError(f"the official Producer printed no window: {out[-1500:]}")
    return {
        "tps": statistics.median(float(w[0]) for w in measured),
        "avg_ms": statistics.median(float(w[2]) for w in measured),
        "max_ms": max(float(w[1]) for w in measured),
        "errors": sum(int(w[3]) for w in measured),
        "messages": sum(float(w[0]) * 10 for w in windows),
    }


def run_workload(pair: Pair, w: Workload, seconds: int, warmup: int,
                 stored_by_send: dict[str, int]) -> Result:  # fmt: skip
    pid = pair.procs["broker"].pid
    cpu0 = cpu_seconds(pid)
    values: dict[str, float] = {}
    if w.official:
        values = official_producer(pair.namesrv, w.size, w.threads, seconds + warmup + 10,
                                   w.transactional)  # fmt: skip
        messages = int(values.pop("messages"))
    elif w.backlog:
        count = w.backlog // (w.size + 200)  # body plus a record's header and properties
        sent, errors = java_load("props", pair.namesrv, "Bench-backlog", str(count), "32",
                                 str(w.size), "0", timeout=3600)  # fmt: skip
        got, tps = java_load("consume", pair.namesrv, "Bench-backlog", "bench_backlog",
                             sent, "1800", timeout=3600)  # fmt: skip
        values = {"tps": float(tps), "errors": float(errors)}
        messages = int(sent) + int(got)
    elif w.batch:
        base = "Bench-" + re.sub(r"[^A-Za-z0-9_-]", "-", w.name)
        sent, tps, errors = java_load("producebatch", pair.namesrv, base, str(w.threads),
                                      str(w.size), str(w.batch), str(seconds), str(warmup),
                                      timeout=seconds + warmup + 180)  # fmt: skip
        values = {"tps": float(tps), "errors": float(errors)}
        messages = int(sent)
    elif w.consume:
        expected = stored_by_send.get("send-128", 0)
        got, tps = java_load("consume", pair.namesrv, "Bench-send-128", "bench_consume_back",
                             str(expected), "120", timeout=240)  # fmt: skip
        values = {"tps": float(tps)}
        messages = int(got)
    else:
        base = "Bench-" + re.sub(r"[^A-Za-z0-9_-]", "-", w.name)
        topic = base + (f"%{w.topics}" if w.topics > 1 else "")
        reader: threading.Thread | None = None
        consumed: list[str] = []
        if w.mixed:
            create_topic(pair.broker_addr, base)
            reader = threading.Thread(target=lambda: consumed.extend(java_load(
                "consume", pair.namesrv, base, "bench_mixed", str(10**12),
                # It reads until this runs out: room for a JVM start and a first rebalance
                # on a loaded box even when the sends last a second.
                str(max(seconds + warmup + 5, 20)), timeout=seconds + warmup + 120)))  # fmt: skip
            reader.start()
        sent, tps, avg, p99, peak, errors, stored = java_load(
            "produce", pair.namesrv, topic, str(w.threads), str(w.size), str(seconds),
            # A thousand topics are each created and routed on first use: minutes on a JVM
            # (Apache's did not finish in 11 minutes here), so the wait is capped.
            str(warmup), timeout=seconds + warmup + 180 + min(w.topics * 0.4, 120),
        )  # fmt: skip
        del sent
        values = {"tps": float(tps), "avg_ms": float(avg), "p99_ms": float(p99),
                  "max_ms": float(peak), "errors": float(errors)}  # fmt: skip
        messages = int(stored)
        if reader is not None:
            reader.join()
            if consumed:
                values["consume_tps"] = float(consumed[1])
                values["consumed"] = float(consumed[0])
                messages += int(consumed[0])
        stored_by_send[w.name] = messages
    cpu = cpu_seconds(pid) - cpu0
    return Result(
        pair.system, 0, w.name, values["tps"], values.get("avg_ms", 0.0),
        values.get("p99_ms", 0.0), values.get("max_ms", 0.0), int(values.get("errors", 0)),
        messages, cpu / max(messages, 1) * 1e6, peak_rss_mib(pid),
        values.get("consume_tps", 0.0), int(values.get("consumed", 0)),
    )  # fmt: skip


def written_bytes(addr: str) -> int:
    """The broker's commitlog max offset: bytes stored (segment files are preallocated)."""

    async def ask() -> int:
        remoting = RemotingClient(timeout=10.0)
        try:
            reply = await remoting.invoke(addr, request(RequestCode.GET_BROKER_RUNTIME_INFO))
            return int(fastjson.loads(reply.body or b"{}")["table"]["commitLogMaxOffset"])
        finally:
            await remoting.close()

    return asyncio.run(ask())


def create_topic(addr: str, topic: str, queues: int = 4) -> None:
    """Create ``topic`` on the broker (which registers it with its NameServer at once), as
    the producer's first send would: a consumer started first then finds its route instead
    of waiting for its next route poll, 30 s away."""

    async def create() -> None:
        remoting = RemotingClient(timeout=10.0)
        header = {
            "topic": topic,
            "defaultTopic": "TBW102",
            "readQueueNums": str(queues),
            "writeQueueNums": str(queues),
            "perm": "6",
            "topicFilterType": "SINGLE_TAG",
        }
        try:
            reply = await remoting.invoke(
                addr, request(RequestCode.UPDATE_AND_CREATE_TOPIC, header)
            )
            if reply.code != 0:
                raise RuntimeError(f"creating {topic} failed: {reply.code} {reply.remark}")
        finally:
            await remoting.close()

    asyncio.run(create())


def run_system(system: str, rep: int, workloads: tuple[Workload, ...], args: argparse.Namespace,
               failed: set[tuple[str, str]]) -> tuple[list[Result], list[PairFacts]]:  # fmt: skip
    """Every workload of one system; a workload in ``failed`` (it failed for this system in
    an earlier repetition) is skipped, and one that fails now is added to it."""
    results, facts = [], []
    groups: dict[tuple[str, str, bool], list[Workload]] = {}
    for w in workloads:
        if (system, w.name) in failed:
            print(f"  {system} {w.name}: skipped (failed in an earlier repetition)", flush=True)
            continue
        groups.setdefault((w.flush, w.name if w.own_pair else "", w.replicated), []).append(w)
    for (flush, _, replicated), group in sorted(groups.items(), key=lambda kv: kv[0]):
        with tempfile.TemporaryDirectory(prefix=f"bench-compare-{system}-") as tmp:
            home = Path(tmp)
            extra = {**SMALL, "brokerRole": "SYNC_MASTER"} if replicated else SMALL
            (home / "master").mkdir()
            name = "broker-ha" if replicated else "broker-bench"
            pair = start_pair(system, home / "master", flush, extra, pin=not args.smoke,
                              broker_name=name)  # fmt: skip
            slave: Slave | None = None
            try:
                if replicated:
                    slave = Slave(system, home, pair)
                    slave.start()
                    asyncio.run(until_replicating(pair.namesrv))
                time.sleep(2)  # settle before the idle reading
                fact = PairFacts(system, rep, flush, pair.boot_s,
                                 rss_mib(pair.procs["broker"].pid))  # fmt: skip
                stored: dict[str, int] = {}
                for w in group:
                    before = written_bytes(pair.broker_addr) if w.name == "send-128" else 0
                    try:
                        result = run_workload(pair, w, args.seconds, args.warmup, stored)
                    except (subprocess.TimeoutExpired, RuntimeError) as exc:
                        # One workload that cannot finish must not lose the whole report.
                        print(f"  {system} {w.name}: FAILED ({str(exc)[:200]})", flush=True)
                        failed.add((system, w.name))
                        continue
                    result.rep = rep
                    if w.name == "send-128" and stored.get(w.name):
                        # One message shape, counted exactly: the other workloads mix sizes
                        # and the official Producer's count is estimated from its windows.
                        grown = written_bytes(pair.broker_addr) - before
                        fact.store_bytes_per_msg = grown / stored[w.name]
                    print(f"  {system} {w.name}: {result.tps:,.0f}/s", flush=True)
                    results.append(result)
                if not replicated:
                    facts.append(fact)
            finally:
                if slave is not None:
                    slave.stop()
                pair.stop()
    return results, facts


def summarize(results: list[Result], facts: list[PairFacts], systems: list[str]
              ) -> dict[str, Any]:  # fmt: skip
    def stats(values: list[float]) -> dict[str, float]:
        if not values:
            return {}
        return {"median": statistics.median(values), "min": min(values), "max": max(values)}

    table: dict[str, Any] = {}
    for name in dict.fromkeys(r.workload for r in results):
        row: dict[str, Any] = {}
        for system in systems:
            runs = [r for r in results if r.workload == name and r.system == system]
            row[system] = {key: stats([getattr(r, key) for r in runs])
                           for key in ("tps", "avg_ms", "p99_ms", "max_ms", "cpu_s_per_million",
                                       "peak_rss_mib", "consume_tps")}  # fmt: skip
        if len(systems) == 2 and all(row[s]["tps"] for s in systems):
            a, b = (row[s] for s in systems)
            row["ratio"] = {k: a[k]["median"] / b[k]["median"] if b[k]["median"] else None
                            for k in ("tps", "p99_ms", "cpu_s_per_million")}  # fmt: skip
        table[name] = row
    # A pair that ran no send-128 has no bytes-per-message reading (0.0): left out.
    pairs = {system: {key: stats([v for f in facts if f.system == system
                                  if (v := getattr(f, key))])
                      for key in ("boot_s", "idle_rss_mib", "store_bytes_per_msg")}
             for system in systems}  # fmt: skip
    return {"workloads": table, "pairs": pairs}


def markdown(summary: dict[str, Any], systems: list[str], ceilings: dict[str, float],
             when: str) -> str:  # fmt: skip
    a = systems[0]
    b = systems[1] if len(systems) > 1 else None
    head = f"| workload | {a} TPS | " + (f"{b} TPS | {a}/{b} | " if b else "")
    head += f"{a} p99 ms | " + (f"{b} p99 ms | " if b else "")
    head += f"{a} CPU s/M msgs | " + (f"{b} CPU s/M msgs |" if b else "")
    lines = [f"Measured {when} on {platform.node()} ({os.cpu_count()} cores); medians of "
             "repetitions. Ceilings: "
             + ", ".join(f"{k} {v:,.0f}" for k, v in ceilings.items()), "", head,
             "|" + "---|" * (head.count("|") - 1)]  # fmt: skip

    def med(row: dict[str, Any], system: str, key: str) -> str:
        value = row.get(system, {}).get(key, {}).get("median")
        return "-" if not value else f"{value:,.1f}" if value < 100 else f"{value:,.0f}"

    for name, row in summary["workloads"].items():
        cells = [name, med(row, a, "tps")]
        if b:
            ratio = (row.get("ratio") or {}).get("tps")
            cells += [med(row, b, "tps"), f"{ratio:.2f}" if ratio else "-"]
        cells.append(med(row, a, "p99_ms"))
        if b:
            cells.append(med(row, b, "p99_ms"))
        cells.append(med(row, a, "cpu_s_per_million"))
        if b:
            cells.append(med(row, b, "cpu_s_per_million"))
        lines.append("| " + " | ".join(cells) + " |")
    for name, row in summary["workloads"].items():
        rates = [f"{s_} {med(row, s_, 'consume_tps')}/s" for s_ in systems
                 if row.get(s_, {}).get("consume_tps", {}).get("median")]  # fmt: skip
        if rates:
            lines.append(f"\n{name}: the consumer read meanwhile at " + ", ".join(rates) + ".")
    drops = []
    for system in systems:
        base = row_median(summary, "send-128", system)
        steps = [f"{x} topics {v / base - 1:+.0%}" if v else f"{x} topics did not finish"
                 for x, n in SCALING_TOPICS[1:] if base and n in summary["workloads"]
                 for v in [row_median(summary, n, system)]]  # fmt: skip
        if steps:
            drops.append(f"{system} " + ", ".join(steps))
    if drops:
        lines.append("\nThroughput against one topic: " + "; ".join(drops) + ".")
    lines += ["", "| pair | boot s | idle RSS MiB | store bytes/msg |", "|---|---|---|---|"]
    for system, p in summary["pairs"].items():
        cells = [system] + [f"{p[k]['median']:.2f}" if p.get(k) else "-"
                            for k in ("boot_s", "idle_rss_mib", "store_bytes_per_msg")]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def row_median(summary: dict[str, Any], name: str, system: str) -> float:
    row = summary["workloads"].get(name, {})
    return float(row.get(system, {}).get("tps", {}).get("median") or 0)


def plot(summary: dict[str, Any], systems: list[str], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    table = summary["workloads"]
    names = list(table)

    def median(name: str, system: str, key: str = "tps") -> float:
        return float(table.get(name, {}).get(system, {}).get(key, {}).get("median") or 0)

    fig, grid = plt.subplots(2, 2, figsize=(13, 9))
    bars, curves = grid[0], grid[1]
    width = 0.8 / max(len(systems), 1)
    for i, system in enumerate(systems):
        for ax, key, label in ((bars[0], "tps", "messages/s"), (bars[1], "p99_ms", "p99 ms")):
            values = [median(n, system, key) for n in names]
            ax.bar([x + i * width for x in range(len(names))], values, width, label=system)
            ax.set_ylabel(label)
    for ax in bars:
        ax.set_xticks([x + width * (len(systems) - 1) / 2 for x in range(len(names))])
        ax.set_xticklabels(names, rotation=30, ha="right")
        ax.legend()
    bars[0].set_title("throughput (median)")
    bars[1].set_title("send p99 latency (median)")
    # Scaling curves: a point a system did not finish is left out of its line.
    for ax, points, label in (
        (curves[0], SCALING_TOPICS, "topics (128 B, 16 threads)"),
        (curves[1], SCALING_THREADS, "producer threads (128 B, 1 topic)"),
    ):
        for system in systems:
            xy = [(x, median(n, system)) for x, n in points if median(n, system)]
            if xy:
                ax.plot(*zip(*xy, strict=True), marker="o", label=system)
        ax.set_xscale("log")
        ax.set_xticks([x for x, _ in points], [str(x) for x, _ in points])
        ax.set_xlabel(label)
        ax.set_ylabel("messages/s")
        ax.set_ylim(bottom=0)
        ax.legend()
    curves[0].set_title("scaling with the number of topics")
    curves[1].set_title("scaling with concurrent producers")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser()
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="the default: about 10 minutes")
    mode.add_argument("--full", action="store_true")
    mode.add_argument("--smoke", action="store_true", help="seconds, rmq only: the test suite's")
    parser.add_argument("--reps", type=int)
    parser.add_argument("--seconds", type=int)
    parser.add_argument("--warmup", type=int)
    parser.add_argument("--systems")
    parser.add_argument("--only", help="comma-separated workload names of the chosen set")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    workloads: tuple[Workload, ...] = SMOKE if args.smoke else FULL if args.full else QUICK
    if args.only:
        wanted = args.only.split(",")
        unknown = set(wanted) - {w.name for w in workloads}
        if unknown:
            parser.error(f"no such workload: {', '.join(sorted(unknown))}")
        workloads = tuple(w for w in workloads if w.name in wanted)
    args.reps = args.reps or (1 if args.smoke else 3 if args.full else 1)
    args.seconds = args.seconds or (1 if args.smoke else 15 if args.full else 8)
    args.warmup = args.warmup if args.warmup is not None else (0 if args.smoke else 3)
    systems = (args.systems or ("rmq" if args.smoke else "rmq,apache")).split(",")
    when = time.strftime("%Y-%m-%d %H:%M")
    with tempfile.TemporaryDirectory() as probe:
        ceilings = {
            "seq_write_MB_s": seq_write_bandwidth(probe, 0.25 if args.smoke else 1.5),
            "fdatasync_per_s": fdatasync_rate(probe, 0.5 if args.smoke else 3.0),
            "loopback_rtt_per_s": loopback_round_trips(500 if args.smoke else 20000),
        }
    print(f"ceilings: {ceilings}", flush=True)
    results: list[Result] = []
    facts: list[PairFacts] = []
    failed: set[tuple[str, str]] = set()
    for rep in range(args.reps):
        order = systems if rep % 2 == 0 else systems[::-1]
        for system in order:
            r, f = run_system(system, rep, workloads, args, failed)
            results += r
            facts += f
    summary = summarize(results, facts, systems)
    args.out.mkdir(parents=True, exist_ok=True)
    stem: Path = args.out / f"compare-{time.strftime('%Y%m%d-%H%M%S')}"
    machine = {"nproc": os.cpu_count(), "platform": platform.platform(),
               "mem_total_kib": _mem_total_kib(), **ceilings}  # fmt: skip
    settings = {"reps": args.reps, "seconds": args.seconds, "warmup": args.warmup,
                "workloads": [asdict(w) for w in workloads], "systems": systems,
                "apache_heap": "-Xms1g -Xmx1g (runbroker.sh on a small box)",
                "pinning": "broker and NameServer on CPU 0, load on CPU 1"}  # fmt: skip
    stem.with_suffix(".json").write_text(json.dumps({
        "date": when, "machine": machine, "settings": settings, "summary": summary,
        "runs": [asdict(r) for r in results], "pairs": [asdict(f) for f in facts],
        "failed": sorted(f"{system} {name}" for system, name in failed),
    }, indent=2))  # fmt: skip
    report = markdown(summary, systems, ceilings, when)
    if failed:
        report += "\nDid not finish (skipped in later repetitions): " + ", ".join(
            f"{system} {name}" for system, name in sorted(failed)) + ".\n"  # fmt: skip
    stem.with_suffix(".md").write_text(report)
    plotted = plot(summary, systems, stem.with_suffix(".png"))
    print(stem.with_suffix(".md").read_text())
    print(f"{stem}.json" + (f", {stem}.png" if plotted else " (no matplotlib: no plot)"))
    return stem


def _mem_total_kib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


if __name__ == "__main__":
    main()
