"""End to end: the official Java client's send and consume throughput against rmq-broker and
Apache RocketMQ 4.9.7's broker, on this machine, in the same run, alternating order.

For each system, message size and flush type: a fresh NameServer and broker pinned to CPU 0
(``taskset``), the Java load (tests/compat/java Bench.java, shaped like rocketmq-example's
Producer/Consumer, which Maven Central does not carry) on CPU 1. The producer runs THREADS
synchronous senders for WARMUP + SECONDS; then a push consumer reads everything back.
Reported per run: send TPS, average/p99/max send RT, consume TPS, broker boot time and idle
RSS; the summary gives medians and rmq/Apache ratios.

Usage: python -m bench.e2e.broker_throughput [--seconds 10] [--warmup 3] [--threads 16]
       [--reps 2] [--sizes 128,1024] [--flush ASYNC_FLUSH,SYNC_FLUSH]
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.e2e.pair import java_load, rss_mib, start_pair
from bench.e2e.results import save_report


@dataclass
class Run:
    system: str
    size: int
    flush: str
    send_tps: float
    avg_rt_ms: float
    p99_rt_ms: float
    max_rt_ms: float
    send_errors: int
    consume_tps: float
    consumed: int
    sent: int
    stored: int
    boot_s: float
    idle_rss_mib: float


def run_once(system: str, size: int, flush: str, args: argparse.Namespace) -> Run:
    with tempfile.TemporaryDirectory(prefix=f"bench-broker-{system}-") as tmp:
        pair = start_pair(system, Path(tmp), flush)
        namesrv, boot = pair.namesrv, pair.boot_s
        try:
            time.sleep(1.0)
            idle = rss_mib(pair.procs["broker"].pid)
            topic = f"Bench{size}"
            sent, tps, avg, p99, peak, errors, stored = java_load(
                "produce", namesrv, topic, str(args.threads), str(size), str(args.seconds),
                str(args.warmup), timeout=args.seconds + args.warmup + 120,
            )  # fmt: skip
            # Everything sent, warm-up included, is consumed back.
            consumed, consume_tps = java_load(
                "consume", namesrv, topic, f"bench_consumer_{size}", stored, "120",
                timeout=240,
            )  # fmt: skip
        finally:
            pair.stop()
    return Run(system, size, flush, float(tps), float(avg), float(p99), float(peak), int(errors),
               float(consume_tps), int(consumed), int(sent), int(stored), boot, idle)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--sizes", default="128,1024")
    parser.add_argument("--flush", default="ASYNC_FLUSH,SYNC_FLUSH")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    flushes = args.flush.split(",")
    runs: list[Run] = []
    for rep in range(args.reps):
        for size in sizes:
            for flush in flushes:
                order = ["rmq", "apache"] if rep % 2 == 0 else ["apache", "rmq"]
                for system in order:
                    run = run_once(system, size, flush, args)
                    print(json.dumps(asdict(run)), flush=True)
                    runs.append(run)

    fields = ["send_tps", "avg_rt_ms", "p99_rt_ms", "max_rt_ms", "consume_tps", "boot_s",
              "idle_rss_mib"]  # fmt: skip
    summary: dict[str, dict[str, float]] = {}
    ratios: dict[str, dict[str, float]] = {}
    for size in sizes:
        for flush in flushes:
            key = f"{size}B-{flush}"
            for system in ("rmq", "apache"):
                chosen = [r for r in runs if (r.system, r.size, r.flush) == (system, size, flush)]
                summary[f"{key}-{system}"] = {
                    f: float(statistics.median(getattr(r, f) for r in chosen)) for f in fields
                }
            rmq, apache = summary[f"{key}-rmq"], summary[f"{key}-apache"]
            ratios[key] = {f: rmq[f] / apache[f] if apache[f] else float("nan") for f in fields}
    report = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": {"nproc": os.cpu_count(), "python": sys.version.split()[0],
                    "platform": platform.platform()},
        "workload": vars(args),
        "runs": [asdict(r) for r in runs],
        "median": summary,
        "ratio_rmq_over_apache": ratios,
    }  # fmt: skip
    out = save_report("broker-throughput", report)
    print("\n| case | send TPS rmq / Apache | p99 RT ms | consume TPS | ratio send / consume |")
    print("|---|---|---|---|---|")
    for key, ratio in ratios.items():
        r, a = summary[f"{key}-rmq"], summary[f"{key}-apache"]
        print(
            f"| {key} | {r['send_tps']:.0f} / {a['send_tps']:.0f} | {r['p99_rt_ms']:.2f} / "
            f"{a['p99_rt_ms']:.2f} | {r['consume_tps']:.0f} / {a['consume_tps']:.0f} | "
            f"{ratio['send_tps']:.2f} / {ratio['consume_tps']:.2f} |"
        )
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
