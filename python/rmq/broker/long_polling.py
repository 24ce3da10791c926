"""Held pulls (Java: ``PullRequestHoldService``): a pull that finds nothing new waits here
until a message is dispatched to its queue or its suspend time passes.

Wake-ups come from the send path (dispatch runs inside the put) and from the store's
wake-up fd (bytes appended by replication); nothing polls."""

import asyncio
from collections.abc import Callable


class PullHolds:
    def __init__(self, queue_max: Callable[[str, int], int]) -> None:
        self._queue_max = queue_max
        self._held: dict[tuple[str, int], list[tuple[int, asyncio.Future[None]]]] = {}

    def __len__(self) -> int:
        return sum(len(v) for v in self._held.values())

    async def hold(self, topic: str, queue_id: int, offset: int, timeout: float) -> bool:
        """Wait until the queue holds a message at ``offset`` (True) or ``timeout`` (False)."""
        if self._queue_max(topic, queue_id) > offset:
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        key = (topic, queue_id)
        entry = (offset, future)
        self._held.setdefault(key, []).append(entry)
        try:
            async with asyncio.timeout(timeout):
                await future
            return True
        except TimeoutError:
            return False
        finally:
            waiting = self._held.get(key)
            if waiting is not None:
                if entry in waiting:
                    waiting.remove(entry)
                if not waiting:
                    del self._held[key]

    def notify(self, topic: str, queue_id: int, max_offset: int) -> None:
        """Messages up to ``max_offset`` (exclusive) are now readable in the queue."""
        waiting = self._held.get((topic, queue_id))
        if not waiting:
            return
        for offset, future in waiting:
            if max_offset > offset and not future.done():
                future.set_result(None)

    def check_all(self, _dispatched: int = 0) -> None:
        for topic, queue_id in list(self._held):
            self.notify(topic, queue_id, self._queue_max(topic, queue_id))

    def release_all(self) -> None:
        """At shutdown: answer every held pull now."""
        for waiting in self._held.values():
            for _, future in waiting:
                if not future.done():
                    future.set_result(None)
