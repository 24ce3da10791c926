"""Waiting for an offset that only grows (flushed bytes, bytes a slave acknowledged)."""

import asyncio
import heapq
import itertools
from collections.abc import Callable


class OffsetWaiters:
    """Futures kept in offset order, so each advance resolves only those it reached.

    Timeouts share one timer armed at the earliest deadline: a SYNC_FLUSH put waits once per
    message, and an ``asyncio.timeout`` per wait (a timer handle pushed on the loop's heap,
    then cancelled) cost more than the wait itself."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, asyncio.Future[bool]]] = []
        self._deadlines: list[tuple[float, int, asyncio.Future[bool]]] = []
        self._ids = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")

    async def wait(
        self, offset: int, timeout: float, registered: Callable[[], None] | None = None
    ) -> bool:
        """True once ``release`` reaches ``offset``, False after ``timeout``; ``registered``
        runs once the waiter is queued (to nudge whoever advances the offset)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        n = next(self._ids)
        heapq.heappush(self._heap, (offset, n, future))
        deadline = loop.time() + timeout
        heapq.heappush(self._deadlines, (deadline, n, future))
        if deadline < self._timer_at:
            self._arm(loop, deadline)
        if registered is not None:
            registered()
        return await future

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(when, self._expire, loop)
        self._timer_at = when

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer, self._timer_at = None, float("inf")
        deadlines, now = self._deadlines, loop.time()
        while deadlines and (deadlines[0][2].done() or deadlines[0][0] <= now):
            _, _, future = heapq.heappop(deadlines)
            if not future.done():
                future.set_result(False)
        if deadlines:
            self._arm(loop, deadlines[0][0])

    def release(self, reached: int) -> None:
        heap = self._heap
        while heap and heap[0][0] <= reached:
            _, _, future = heapq.heappop(heap)
            if not future.done():
                future.set_result(True)
        # Answered waiters leave the deadline heap now, not when the timer next fires.
        deadlines = self._deadlines
        while deadlines and deadlines[0][2].done():
            heapq.heappop(deadlines)

    def cancel_all(self) -> None:
        for _, _, future in self._heap:
            if not future.done():
                future.cancel()
        self._clear()

    def fail_all(self) -> None:
        """Answer every waiter False now: the offsets they wait for may never be reached."""
        for _, _, future in self._heap:
            if not future.done():
                future.set_result(False)
        self._clear()

    def _clear(self) -> None:
        self._heap.clear()
        self._deadlines.clear()
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = None, float("inf")
