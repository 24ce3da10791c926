"""End to end: rmq-console page times for a cluster with many topics and groups (issue 11's
target: Cluster, Topic and Consumer pages in <= 300 ms server time with 1,000 topics and
100 groups).

One rmq-namesrv, one rmq-broker and rmq-console on loopback; TOPICS topics and GROUPS
subscription groups are created through the console's own API, then each page is loaded
LOADS times and the median, p90 and max wall time of the HTTP request is reported (the
client is on loopback, so this is server time plus a loopback round trip).

Usage: python -m bench.e2e.console_pages [--topics 1000] [--groups 100] [--loads 20]
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.e2e.results import save_report
from tests.harness.console import ConsoleClient, running_console
from tests.harness.processes import running_broker, running_namesrv

PAGES = ["/cluster", "/topic", "/consumer", "/api/topics?kind=normal", "/api/groups"]


def timed(client: ConsoleClient, path: str, loads: int) -> dict[str, float]:
    times = []
    for _ in range(loads):
        start = time.perf_counter()
        reply = client.http.get(path)
        times.append((time.perf_counter() - start) * 1000)
        if reply.status_code != 200:
            raise RuntimeError(f"{path}: {reply.status_code} {reply.text[:200]}")
    times.sort()
    return {"median_ms": statistics.median(times), "p90_ms": times[int(len(times) * 0.9) - 1],
            "max_ms": times[-1]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--loads", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        home = Path(tmp)
        with (
            running_namesrv(home / "ns") as ns,
            running_broker(home / "b", ns.addr),
            running_console(home / "web", ns.addr, "--collect-interval", "3600") as web,
        ):
            client = ConsoleClient(f"http://{web.addr}")
            start = time.perf_counter()
            for i in range(args.topics):
                client.post("/api/topic", {"cluster": "TestCluster", "topic": f"BenchT{i:04d}",
                                           "readQueueNums": 4, "writeQueueNums": 4})  # fmt: skip
            for i in range(args.groups):
                client.post("/api/group", {"cluster": "TestCluster", "group": f"bench-g{i:03d}"})
            setup_s = time.perf_counter() - start
            client.http.get("/cluster")  # warm up
            pages: dict[str, Any] = {path: timed(client, path, args.loads) for path in PAGES}
            client.close()
    report = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": {"nproc": os.cpu_count(), "python": sys.version.split()[0],
                    "platform": platform.platform()},
        "workload": {**vars(args), "setup_s": round(setup_s, 1)},
        "pages": pages,
    }  # fmt: skip
    out = save_report("console-pages", report)
    print("| page | median ms | p90 ms | max ms |\n|---|---|---|---|")
    for path, row in pages.items():
        print(f"| {path} | {row['median_ms']:.0f} | {row['p90_ms']:.0f} | {row['max_ms']:.0f} |")
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
