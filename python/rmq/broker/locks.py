"""Queue locks for orderly consumers (Java: ``RebalanceLockManager``): one client per
(group, queue), expiring lockMaxLiveTime (60 s) after the holder last renewed it: longer
than a client trusts its own lock (30 s), so a client cut off from the broker has stopped
consuming before the queue goes to another."""

import time
from collections.abc import Callable, Iterable
from typing import Final

#: Java's rocketmq.broker.rebalance.lockMaxLiveTime default.
LOCK_MAX_LIVE_SECONDS: Final = 60.0

Queue = tuple[str, str, int]  # topic, brokerName, queueId


class QueueLocks:
    def __init__(
        self, clock: Callable[[], float] = time.monotonic,
        max_live: float = LOCK_MAX_LIVE_SECONDS,
    ) -> None:  # fmt: skip
        self._clock = clock
        self._max_live = max_live
        self._locks: dict[str, dict[Queue, tuple[str, float]]] = {}

    def _holder(self, group: str, queue: Queue) -> str | None:
        entry = self._locks.get(group, {}).get(queue)
        if entry is None or self._clock() - entry[1] > self._max_live:
            return None
        return entry[0]

    def lock(self, group: str, client_id: str, queues: Iterable[Queue]) -> list[Queue]:
        """Lock or renew what is free or already ours; returns the queues ``client_id`` holds."""
        table = self._locks.setdefault(group, {})
        now = self._clock()
        held = []
        for queue in queues:
            holder = self._holder(group, queue)
            if holder is None or holder == client_id:
                table[queue] = (client_id, now)
                held.append(queue)
        return held

    def unlock(self, group: str, client_id: str, queues: Iterable[Queue]) -> None:
        table = self._locks.get(group)
        if table is None:
            return
        for queue in queues:
            entry = table.get(queue)
            if entry is not None and entry[0] == client_id:
                del table[queue]
