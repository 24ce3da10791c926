"""Waiting for an offset that only grows (flushed bytes, bytes a slave acknowledged)."""

import asyncio
import heapq
import itertools
from collections.abc import Callable


class _GaveUp(Exception):
    """Resolves waiters whose offset will not be reached (a DLedger leader stepped down)."""


class OffsetWaiters:
    """Futures kept in offset order, so each advance resolves only those it reached."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, asyncio.Future[None]]] = []
        self._ids = itertools.count()

    async def wait(
        self, offset: int, timeout: float, registered: Callable[[], None] | None = None
    ) -> bool:
        """True once ``release`` reaches ``offset``, False after ``timeout``; ``registered``
        runs once the waiter is queued (to nudge whoever advances the offset)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (offset, next(self._ids), future))
        if registered is not None:
            registered()
        try:
            async with asyncio.timeout(timeout):
                await future
        except (TimeoutError, _GaveUp):
            return False
        return True

    def release(self, reached: int) -> None:
        heap = self._heap
        while heap and heap[0][0] <= reached:
            _, _, future = heapq.heappop(heap)
            if not future.done():
                future.set_result(None)

    def cancel_all(self) -> None:
        for _, _, future in self._heap:
            if not future.done():
                future.cancel()
        self._heap.clear()

    def fail_all(self) -> None:
        """Answer every waiter False now: the offsets they wait for may never be reached."""
        for _, _, future in self._heap:
            if not future.done():
                future.set_exception(_GaveUp())
        self._heap.clear()
