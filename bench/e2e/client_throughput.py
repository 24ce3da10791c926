"""End to end: rmq.client against the official Java client, on the same broker in the same
run: send TPS (sync with TASKS concurrent senders, async with a window of in-flight sends,
batch) and consume TPS, with the client process's CPU time per message.

One rmq NameServer + broker pinned to CPU 0; each client load (bench/e2e/py_load.py for
rmq.client, tests/compat/java Bench.java for Java) runs alone on CPU 1, so TPS is per
core of client. Each repetition alternates which client goes first. The consume phase
reads the topic the sync phase filled, each client with its own group.

Usage: python -m bench.e2e.client_throughput [--seconds 8] [--warmup 2] [--tasks 64]
       [--inflight 256] [--batch 32] [--size 128] [--reps 2] [--broker rmq|apache]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.e2e.results import save_report
from tests.harness.java import JVM_FLAGS, classpath, java_env
from tests.harness.pair import start_pair

REPO = Path(__file__).resolve().parents[2]
MODES = ("sync", "async", "batch", "consume")


@dataclass
class Run:
    client: str
    mode: str
    rep: int
    messages: int
    tps: float
    cpu_s: float
    cpu_us_per_msg: float


def load(client: str, args: list[str], timeout: float) -> tuple[list[str], float]:
    """Run one load on CPU 1: its RESULT fields and its CPU seconds line."""
    if client == "java":
        command = ["java", *JVM_FLAGS, "-cp", classpath(), "dev.rmq.compat.Bench", *args]
        env = java_env()
    else:
        command = [sys.executable, "-m", "bench.e2e.py_load", *args]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(["taskset", "-c", "1", *command], capture_output=True, text=True,
                         timeout=timeout, env=env, cwd=REPO)  # fmt: skip
    result, cpu = None, float("nan")
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            result = line.split()[1:]
        elif line.startswith("CPU "):
            cpu = float(line.split()[1])
    if result is None:
        raise RuntimeError(
            f"{client} {args[0]}: no RESULT: {out.stdout[-800:]} {out.stderr[-1500:]}"
        )
    return result, cpu


def run_rep(rep: int, namesrv: str, opts: argparse.Namespace) -> list[Run]:
    runs = []
    order = ["python", "java"] if rep % 2 == 0 else ["java", "python"]
    size, secs, warm = str(opts.size), str(opts.seconds), str(opts.warmup)
    limit = opts.seconds + opts.warmup + 120
    for client in order:
        tag = f"{client}{rep}"
        plans = {
            "sync": ["produce", namesrv, f"CliSync{tag}", str(opts.tasks), size, secs, warm],
            "async": ["produceasync", namesrv, f"CliAsync{tag}", str(opts.inflight), size, secs,
                      warm],
            "batch": ["producebatch", namesrv, f"CliBatch{tag}", str(opts.batch_tasks), size,
                      str(opts.batch), secs, warm],
        }  # fmt: skip
        for mode, plan in plans.items():
            result, cpu = load(client, plan, limit)
            messages, tps = int(result[0]), float(result[1])
            runs.append(Run(client, mode, rep, messages, tps, cpu,
                            cpu / messages * 1e6 if messages else float("nan")))  # fmt: skip
            print(json.dumps(asdict(runs[-1])), flush=True)
    # Both clients read the same topic (filled by the first client's sync phase).
    topic = f"CliSync{order[0]}{rep}"
    for client in order:
        result, cpu = load(client, ["consume", namesrv, topic, f"cli_{client}_{rep}", "100000000",
                                    "40"], 120)  # fmt: skip
        messages, tps = int(result[0]), float(result[1])
        runs.append(Run(client, "consume", rep, messages, tps, cpu,
                        cpu / messages * 1e6 if messages else float("nan")))  # fmt: skip
        print(json.dumps(asdict(runs[-1])), flush=True)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--tasks", type=int, default=64)
    parser.add_argument("--inflight", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--batch-tasks", type=int, default=4)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--broker", default="rmq", choices=("rmq", "apache"))
    opts = parser.parse_args()
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="bench-client-") as tmp:
        pair = start_pair(opts.broker, Path(tmp), "ASYNC_FLUSH")
        try:
            time.sleep(1.0)
            for rep in range(opts.reps):
                runs.extend(run_rep(rep, pair.namesrv, opts))
        finally:
            pair.stop()
    median: dict[str, dict[str, float]] = {}
    for mode in MODES:
        for client in ("python", "java"):
            chosen = [r for r in runs if (r.client, r.mode) == (client, mode)]
            median[f"{mode}-{client}"] = {
                "tps": statistics.median(r.tps for r in chosen),
                "cpu_us_per_msg": statistics.median(r.cpu_us_per_msg for r in chosen),
            }
    ratio = {m: median[f"{m}-python"]["tps"] / median[f"{m}-java"]["tps"] for m in MODES}
    report = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": {"nproc": os.cpu_count(), "python": sys.version.split()[0],
                    "platform": platform.platform()},
        "workload": vars(opts),
        "runs": [asdict(r) for r in runs],
        "median": median,
        "ratio_python_over_java_tps": ratio,
    }  # fmt: skip
    out = save_report("client-throughput", report)
    print("\n| mode | TPS rmq.client / Java | ratio | CPU µs per message rmq.client / Java |")
    print("|---|---|---|---|")
    for mode in MODES:
        p, j = median[f"{mode}-python"], median[f"{mode}-java"]
        print(f"| {mode} | {p['tps']:.0f} / {j['tps']:.0f} | {ratio[mode]:.2f} | "
              f"{p['cpu_us_per_msg']:.1f} / {j['cpu_us_per_msg']:.1f} |")  # fmt: skip
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
