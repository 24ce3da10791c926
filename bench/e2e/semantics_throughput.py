"""End to end, issue 6's semantics against Apache RocketMQ 4.9.7 on this machine, in the same
run, alternating order (pairs and pinning as bench/e2e/pair.py):

- delay: COUNT messages with delayTimeLevel 1 (configured as 10 s) are stored, the broker is
  stopped gracefully, restarted once all of them are due, and the real topic is polled
  (GET_MAX_OFFSET) until every message was delivered: due messages delivered per second
  from the first delivery seen, and seconds from the boot line to the last delivery.
- transaction: TransactionMQProducer (THREADS senders, local transaction commits), shaped
  like rocketmq-example's TransactionProducer: half + commit per message; send TPS and RT.
- sql92: COUNT messages with property a = i % 10, then a push consumer with
  MessageSelector.bySql("a >= 5") reads the matching half: consume TPS.

Usage: python -m bench.e2e.semantics_throughput [--reps 2] [--count 20000] [--seconds 10]
"""

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.e2e.pair import Pair, java_load, start_pair
from bench.e2e.results import save_report
from rmq.common.codes import RequestCode, ResponseCode
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import request

DELAY_SECONDS = 10
QUEUES_POLLED = 16


async def delivered(client: RemotingClient, addr: str, topic: str) -> int:
    total = 0
    for queue_id in range(QUEUES_POLLED):
        ask = request(RequestCode.GET_MAX_OFFSET, {"topic": topic, "queueId": str(queue_id)})
        reply = await client.invoke(addr, ask)
        if reply.code == ResponseCode.SUCCESS:
            total += int(reply.field("offset") or 0)
    return total


async def watch_delivery(
    addr: str, topic: str, count: int, timeout: float
) -> tuple[int, float, float]:
    """(already delivered at the first look, first delivery time, last delivery time)."""
    client = RemotingClient(timeout=10.0)
    try:
        start = await delivered(client, addr, topic)
        first = last = time.monotonic()
        seen = start
        deadline = first + timeout
        while seen < count and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            now_seen = await delivered(client, addr, topic)
            now = time.monotonic()
            if now_seen > seen:
                if seen == start:
                    first = now
                last = now
                seen = now_seen
        return start, first, last
    finally:
        await client.close()


def run_delay(pair: Pair, args: argparse.Namespace) -> dict[str, Any]:
    topic = "DelayBench"
    sent, errors = java_load("props", pair.namesrv, topic, str(args.count), str(args.threads),
                             "128", "1", timeout=300)  # fmt: skip
    # Stop before they fall due, restart once all are: the schedule service then has a
    # backlog of due messages and delivers as fast as it can.
    pair.stop_broker()
    time.sleep(DELAY_SECONDS + 1)
    restart_boot = pair.start_broker()
    boot_line = time.monotonic()
    already, _first, last = asyncio.run(
        watch_delivery(pair.broker_addr, topic, int(sent), timeout=180)
    )
    # Counted from the boot line: a broker that starts delivering before it prints it
    # (rmq does) gets no credit for that head start.
    span = last - boot_line
    return {
        "sent": int(sent),
        "send_errors": int(errors),
        "delivered_before_first_look": already,
        "delivery_rate": int(sent) / span if span > 0 else float("nan"),
        "boot_to_all_delivered_s": last - boot_line,
        "restart_boot_s": restart_boot,
    }


def run_transactions(pair: Pair, args: argparse.Namespace) -> dict[str, Any]:
    sent, tps, avg, p99, peak, errors, _ = java_load(
        "tx", pair.namesrv, "TxBench", str(args.threads), "128", str(args.seconds), "3",
        timeout=args.seconds + 150,
    )  # fmt: skip
    return {"sent": int(sent), "tx_tps": float(tps), "avg_rt_ms": float(avg),
            "p99_rt_ms": float(p99), "max_rt_ms": float(peak), "errors": int(errors)}  # fmt: skip


def run_sql(pair: Pair, args: argparse.Namespace) -> dict[str, Any]:
    topic = "SqlBench"
    sent, _ = java_load("props", pair.namesrv, topic, str(args.count), str(args.threads), "128",
                        "0", timeout=300)  # fmt: skip
    expected = int(sent) // 2
    got, tps = java_load("consume", pair.namesrv, topic, "sql_bench_group", str(expected), "120",
                         "a >= 5", timeout=240)  # fmt: skip
    return {"sent": int(sent), "matched": int(got), "sql_consume_tps": float(tps)}


WORKLOADS = {
    "delay": (run_delay, {"messageDelayLevel": f"{DELAY_SECONDS}s"}, "delivery_rate"),
    "transaction": (run_transactions, {}, "tx_tps"),
    "sql92": (run_sql, {"enablePropertyFilter": "true"}, "sql_consume_tps"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    args = parser.parse_args()
    runs: list[dict[str, Any]] = []
    for rep in range(args.reps):
        for name in args.workloads.split(","):
            run, extra, _ = WORKLOADS[name]
            for system in ["rmq", "apache"] if rep % 2 == 0 else ["apache", "rmq"]:
                with tempfile.TemporaryDirectory(prefix=f"bench-sem-{system}-") as tmp:
                    pair = start_pair(system, Path(tmp), "ASYNC_FLUSH", extra)
                    try:
                        result = {"system": system, "workload": name, **run(pair, args)}
                    finally:
                        pair.stop()
                print(json.dumps(result), flush=True)
                runs.append(result)
    summary: dict[str, Any] = {}
    for name in args.workloads.split(","):
        key = WORKLOADS[name][2]
        medians = {
            system: statistics.median(
                r[key] for r in runs if r["workload"] == name and r["system"] == system
            )
            for system in ("rmq", "apache")
        }
        summary[name] = {"metric": key, **medians, "ratio": medians["rmq"] / medians["apache"]}
    report = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": {"nproc": os.cpu_count(), "python": sys.version.split()[0],
                    "platform": platform.platform()},
        "workload": vars(args),
        "runs": runs,
        "median": summary,
    }  # fmt: skip
    out = save_report("semantics", report)
    print("\n| workload | metric | rmq | Apache | rmq/Apache |\n|---|---|---|---|---|")
    for name, row in summary.items():
        print(f"| {name} | {row['metric']} | {row['rmq']:.0f} | {row['apache']:.0f} | "
              f"{row['ratio']:.2f} |")  # fmt: skip
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
