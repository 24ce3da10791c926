"""Benchmark helpers around tests/harness/pair.py's NameServer + broker pairs: memory of
a process and the Java load driver pinned to CPU 1."""

import subprocess
from pathlib import Path

from tests.harness.java import JVM_FLAGS, classpath, java_env
from tests.harness.pair import Pair, start_pair

__all__ = ["Pair", "java_load", "rss_mib", "start_pair"]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def java_load(*args: str, timeout: float) -> list[str]:
    """Run a dev.rmq.compat.Bench command on CPU 1; its RESULT fields."""
    command = ["taskset", "-c", "1", "java", *JVM_FLAGS, "-cp", classpath(),
               "dev.rmq.compat.Bench", *args]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=java_env())
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return line.split()[1:]
    raise RuntimeError(f"no RESULT from {args[0]}: {out.stdout[-800:]} {out.stderr[-1500:]}")
