"""Driving rmq with the official Java client (tests/compat/java's RmqCompat) and mqadmin:
a NameServer + broker pair, the RECV lines the client prints, and an mqadmin runner."""

import subprocess
import threading
from collections.abc import Callable
from typing import Final, NamedTuple

from tests.harness.java import java_command, java_env, mqadmin, run_java
from tests.harness.processes import ServerProcess

COMPAT_MAIN: Final = "dev.rmq.compat.RmqCompat"


class Cluster(NamedTuple):
    namesrv: ServerProcess
    broker: ServerProcess


class Received(NamedTuple):
    topic: str
    queue_id: int
    queue_offset: int
    tags: str
    keys: str
    idx: str
    reconsume_times: int
    body: str


def received(stdout: str) -> list[Received]:
    out = []
    for line in stdout.splitlines():
        if line.startswith("RECV "):
            _, topic, qid, qoff, tags, keys, idx, times, body = line.split(" ", 8)
            out.append(Received(topic, int(qid), int(qoff), tags, keys, idx, int(times), body))
    return out


def expected_body(mode: str, i: int) -> str:
    return f"{mode} body {i} {'y' * (i % 5 * 30)}".replace(" ", "_")


def java(*args: str, timeout: float = 90.0) -> str:
    result = run_java(COMPAT_MAIN, *args, timeout=timeout)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


def send(cluster: Cluster, topic: str, mode: str, count: int) -> str:
    return java("send", cluster.namesrv.addr, topic, mode, str(count))


def admin(cluster: Cluster, *args: str) -> str:
    """Run an mqadmin command; it exits 0 even when it fails, so failure is read from its
    output. One retry: mqadmin's own 3-5 s request time-outs trip on a loaded shared box."""
    output = ""
    for _ in range(2):
        result = mqadmin(*args[:1], "-n", cluster.namesrv.addr, *args[1:])
        output = result.stdout + result.stderr
        if result.returncode == 0 and "command failed" not in output:
            return output
    raise AssertionError(f"mqadmin {args[0]} failed:\n{output}")


class JavaClient:
    """A RmqCompat command running in the background, its output lines collected as they
    come, so a test can act while a consumer is still running."""

    def __init__(self, *args: str) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.proc = subprocess.Popen(
            java_command(COMPAT_MAIN, *args),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=java_env(),
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for(self, predicate: Callable[[list[str]], bool], timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.lines), timeout)

    def finish(self, timeout: float) -> str:
        """Output once the command exits by itself (it is killed after ``timeout``)."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)
        return "\n".join(self.lines)

    def __enter__(self) -> "JavaClient":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
