"""Starting ``rmq-console`` for tests and talking to it as a browser's scripts do (the
cross-site token cookie echoed in a header)."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.harness.processes import BIN, ServerProcess, free_port, start_process

CONSOLE_BOOT = "The rmq console boot success"


def start_console(home: Path, namesrv: str, *extra: str) -> ServerProcess:
    port = free_port()
    command = [str(BIN / "rmq-console"), "-n", namesrv, "-p", str(port),
               "--data-dir", str(home / "console-data"), *extra]  # fmt: skip
    return start_process(command, home, port, CONSOLE_BOOT)


@contextmanager
def running_console(home: Path, namesrv: str, *extra: str) -> Iterator[ServerProcess]:
    server = start_console(home, namesrv, *extra)
    try:
        yield server
    finally:
        server.stop()


class ConsoleClient:
    """An HTTP client holding the console's cookies, with the token on every change."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=30.0, follow_redirects=False)
        self.http.get("/ops")  # sets the token cookie

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params)

    def post(self, path: str, data: dict[str, Any]) -> httpx.Response:
        token = self.http.cookies.get("rmq_csrf") or ""
        return self.http.post(path, json=data, headers={"X-CSRF-Token": token})

    def close(self) -> None:
        self.http.close()
