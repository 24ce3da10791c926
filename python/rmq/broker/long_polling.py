"""Held pulls (Java: ``PullRequestHoldService``): a pull that finds nothing new waits here
until a message is dispatched to its queue or its suspend time passes.

Wake-ups come from the send path, which tells the queue it stored to, and from every
progress notice of the store (a put made by the loop, or the wake-up fd for bytes appended
by replication): the store hands out the queues dispatched to since the last check, and only
pulls on those are looked at. Nothing polls."""

import asyncio
from collections.abc import Callable, Iterable


class PullHolds:
    def __init__(
        self,
        queue_max: Callable[[str, int], int],
        moved_queues: Callable[[], Iterable[tuple[str, int, int]]],
    ) -> None:
        self._queue_max = queue_max
        self._moved_queues = moved_queues
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

    def check_moved(self, _dispatched: int = 0) -> None:
        """Wake the pulls held on queues that got messages since the last check. Only the
        queues that moved are looked at: asking every held queue for its offset on every
        loop turn that stored something cost O(held pulls) per turn."""
        if not self._held:
            return  # the store keeps the moved queues (each once) for the next check
        for topic, queue_id, max_offset in self._moved_queues():
            self.notify(topic, queue_id, max_offset)

    def release_all(self) -> None:
        """At shutdown: answer every held pull now."""
        for waiting in self._held.values():
            for _, future in waiting:
                if not future.done():
                    future.set_result(None)
