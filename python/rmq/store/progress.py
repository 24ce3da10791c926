"""Waiting for the engine's progress without polling.

The engine writes a byte to its wake-up fd whenever the flushed or dispatched offset
moves; the loop watches the fd and resolves the waiters whose offset has been reached.
"""

import asyncio
import os
from collections.abc import Callable

from rmq._store import Store
from rmq.store.offset_waiters import OffsetWaiters


class ProgressWatcher:
    def __init__(self, engine: Store) -> None:
        self._engine = engine
        self._fd = engine.wakeup_fd()
        self._flush_waiters = OffsetWaiters()
        self._listeners: list[Callable[[int], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._fd, self._on_wakeup)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self._fd)
            self._loop = None
        self._flush_waiters.cancel_all()

    def on_dispatched(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(dispatched_offset)`` on every wake-up (long-poll holds use this)."""
        self._listeners.append(listener)

    def _on_wakeup(self) -> None:
        try:
            while os.read(self._fd, 4096):
                pass
        except BlockingIOError:
            pass
        _, flushed, dispatched, _ = self._engine.progress()
        self._flush_waiters.release(flushed)
        for listener in self._listeners:
            listener(dispatched)

    async def wait_flushed(self, offset: int, timeout: float) -> bool:
        """True once everything below ``offset`` is on disk, False after ``timeout``."""
        if self._engine.progress()[1] >= offset:
            return True
        return await self._flush_waiters.wait(offset, timeout, self._engine.request_flush)
