"""Running a server process until SIGTERM or SIGINT, then stopping it cleanly."""

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Protocol

import click

from rmq.config.loader import ConfigError, ConfigInput


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def serve(start: Callable[[], Awaitable[None]], stop: Callable[[], Awaitable[None]],
          on_started: Callable[[], None]) -> None:  # fmt: skip
    """Start, call ``on_started`` (the boot line), wait for a signal, stop."""

    async def main() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        try:
            await start()
        except Exception as exc:
            # Startup is a task boundary: one line for the operator, the trace in the log.
            logging.getLogger(__name__).exception("startup failed")
            click.echo(f"startup failed: {exc}", err=True)
            await stop()
            sys.exit(1)
        on_started()
        await stopping.wait()
        await stop()

    loop = new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


class Service(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def serve_service(make: Callable[[], Service], on_started: Callable[[], None]) -> None:
    """Like :func:`serve` for a service built inside the loop (it may create futures)."""
    holder: list[Service] = []

    async def start() -> None:
        holder.append(make())
        await holder[0].start()

    async def stop() -> None:
        if holder:
            await holder[0].stop()

    serve(start, stop, on_started)


def read_config(path: str | None, flags: dict[str, str], defaults: dict[str, str]) -> ConfigInput:
    """Read the -c file or exit with one line; print Java's confirmation line."""
    try:
        config = ConfigInput.read(path, flags, defaults)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    if path:
        click.echo(f"load config properties file OK, {path}")
    return config


def fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)
