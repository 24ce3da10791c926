"""Starting real rmq processes for tests: free loopback port, temp HOME, boot line, exact pid."""

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

BIN: Final = Path(sys.executable).parent
BOOT_TIMEOUT: Final = 20.0


# Ports come from a range of their own per pytest-xdist worker, below the kernel's ephemeral
# range (32768+), so two workers never hand out the same port or its neighbours, and no
# outgoing connection can take one between the check and the server's bind.
_PORT_BASE: Final = 20000
_PORTS_PER_WORKER: Final = 3000
_PORT_STEP: Final = 4  # a broker also binds port - 2 and port + 1
_next_port = 0


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker[2:].isdigit() else 0


def free_port() -> int:
    global _next_port
    first = _PORT_BASE + _worker_index() * _PORTS_PER_WORKER
    for _ in range(_PORTS_PER_WORKER // _PORT_STEP):
        port = first + 2 + _next_port
        _next_port = (_next_port + _PORT_STEP) % _PORTS_PER_WORKER
        if all(_port_free(p) for p in (port - 2, port - 1, port, port + 1)):
            return port
    raise RuntimeError(f"no free port left in {first}..{first + _PORTS_PER_WORKER}")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_broker_port(avoid: Iterable[int] = ()) -> int:
    """A listen port whose neighbours a broker also binds are free too: Apache's broker
    takes port - 2 (its VIP channel) and port + 1 (HA), rmq's port + 1 (HA)."""
    taken = set(avoid)
    for _ in range(100):
        port = free_port()
        if not taken & {port - 2, port - 1, port, port + 1}:
            return port
    raise RuntimeError("no free port with free neighbours")


def write_properties(path: Path, values: Mapping[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    return path


@dataclass
class ServerProcess:
    """A running server; ``output`` collects its stdout and stderr lines."""

    proc: "subprocess.Popen[str]"
    port: int
    home: Path
    output: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.reader is not None:
            self.reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.home / "logs" / "rocketmqlogs" / name
        if not path.exists():
            return f"(no {path})"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def env_for(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["HOME"] = str(home)
    env.pop("NAMESRV_ADDR", None)
    env.pop("RMQ_LOG_DIR", None)
    return env


def start_process(
    command: list[str], home: Path, port: int, boot_marker: str, timeout: float = BOOT_TIMEOUT
) -> ServerProcess:
    """Start ``command`` and wait for ``boot_marker`` on stdout, or fail with its output."""
    home.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env_for(home),
    )
    server = ServerProcess(proc, port, home)
    finished = threading.Event()  # set at the boot line, or when output ends without it
    boot_seen = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            server.output.append(line.rstrip("\n"))
            if boot_marker in line:
                boot_seen.set()
                finished.set()
        finished.set()

    server.reader = threading.Thread(target=pump, daemon=True)
    server.reader.start()
    finished.wait(timeout)
    if not boot_seen.is_set():
        server.stop(signal.SIGKILL)
        raise RuntimeError(f"{command[0]} did not boot: {server.output[-20:]}")
    return server


def start_namesrv(
    home: Path, extra: Mapping[str, str] | None = None, port: int | None = None
) -> ServerProcess:
    port = port or free_port()
    home.mkdir(parents=True, exist_ok=True)
    config = write_properties(
        home / "namesrv.properties",
        {"listenPort": str(port), "bindAddress": "127.0.0.1", **(extra or {})},
    )
    return start_process(
        [str(BIN / "rmq-namesrv"), "-c", str(config)],
        home,
        port,
        "The Name Server boot success",
    )


@contextmanager
def running_namesrv(
    home: Path, extra: Mapping[str, str] | None = None, port: int | None = None
) -> Iterator[ServerProcess]:
    server = start_namesrv(home, extra, port)
    try:
        yield server
    except BaseException:
        sys.stderr.write(server.log_tail("namesrv.log") + "\n")
        raise
    finally:
        server.stop()


BROKER_BOOT_MARKER: Final = "boot success. serializeType=JSON"


def broker_properties(
    home: Path, namesrv: str | None, port: int, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    values = {
        "brokerClusterName": "TestCluster",
        "brokerName": "broker-t",
        "listenPort": str(port),
        "brokerIP1": "127.0.0.1",
        "brokerIP2": "127.0.0.1",
        "storePathRootDir": str(home / "store"),
        # Small segments keep temp dirs small; the layout is the same.
        "mappedFileSizeCommitLog": str(16 * 1024 * 1024),
        "mappedFileSizeConsumeQueue": str(20 * 30000),
    }
    if namesrv:
        values["namesrvAddr"] = namesrv
    values.update(extra or {})
    return values


def start_broker(
    home: Path,
    namesrv: str | None,
    extra: Mapping[str, str] | None = None,
    port: int | None = None,
    *,
    reuse_config: bool = False,
) -> ServerProcess:
    """``reuse_config`` starts from the ``broker.properties`` already in ``home``."""
    port = port or free_broker_port()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "broker.properties"
    if not reuse_config:
        write_properties(config, broker_properties(home, namesrv, port, extra))
    return start_process(
        [str(BIN / "rmq-broker"), "-c", str(config)], home, port, BROKER_BOOT_MARKER
    )


@contextmanager
def running_broker(
    home: Path,
    namesrv: str | None,
    extra: Mapping[str, str] | None = None,
    port: int | None = None,
    *,
    reuse_config: bool = False,
) -> Iterator[ServerProcess]:
    server = start_broker(home, namesrv, extra, port, reuse_config=reuse_config)
    try:
        yield server
    except BaseException:
        sys.stderr.write(server.log_tail("broker.log") + "\n")
        raise
    finally:
        server.stop()
