"""Serving the console inside a process that already runs an asyncio loop (rmq-console
itself, or rmq-standalone next to its NameServer and broker)."""

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn

from rmq.console.app import create_app
from rmq.console.settings import ConsoleSettings

BOOT_LINE = "The rmq console boot success. Listening on http://{host}:{port}"


class _EmbeddedServer(uvicorn.Server):
    # The process's own runner owns SIGTERM/SIGINT and stops us with stop().
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ConsoleServer:
    def __init__(self, settings: ConsoleSettings) -> None:
        self.settings = settings
        config = uvicorn.Config(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            lifespan="on",
            access_log=False,
        )
        self._server = _EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(), name="console-http")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # the bind failed: raise it
                raise OSError(f"console could not listen on {self.settings.port}")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def boot_line(self) -> str:
        return BOOT_LINE.format(host=self.settings.host, port=self.settings.port)
