"""Waiting for the engine's progress without polling.

The engine's threads write a byte to its wake-up fd whenever they move the flushed offset
or dispatch what no put described (replication); the loop watches the fd and resolves the
waiters whose offset has been reached. A put made by the loop itself does not write the
fd: the store pokes the watcher instead, and every put of one loop iteration is told to
the listeners once.
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
        self._poked = False

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

    def poke(self) -> None:
        """The loop's own put moved the offsets: tell the listeners soon, once for every
        put of this loop iteration."""
        if not self._poked and self._loop is not None:
            self._poked = True
            self._loop.call_soon(self._tell)

    def _on_wakeup(self) -> None:
        # A short read drained the socket: reading on until BlockingIOError cost an
        # exception per wake-up.
        try:
            while len(os.read(self._fd, 4096)) == 4096:
                pass
        except BlockingIOError:
            pass
        self._tell()

    def _tell(self) -> None:
        self._poked = False
        if self._loop is None:  # stopped while a poke was queued: the store is closing
            return
        _, flushed, dispatched, _ = self._engine.progress()
        self._flush_waiters.release(flushed)
        for listener in self._listeners:
            listener(dispatched)

    async def wait_flushed(self, offset: int, timeout: float) -> bool:
        """True once everything below ``offset`` is on disk, False after ``timeout``. The
        writer asks for the flush (:meth:`ask_flush`) once for all it will wait on; unasked,
        the flush thread gets to it within 10 ms."""
        if self._engine.progress()[1] >= offset:
            return True
        return await self._flush_waiters.wait(offset, timeout)

    def ask_flush(self) -> None:
        """Ask for a flush of everything written so far, now (group commit: a request made
        while an fsync runs is served by the next one, which covers every waiter so far)."""
        self._engine.request_flush()
