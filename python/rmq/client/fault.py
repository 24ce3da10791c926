"""Which queue a producer sends to next (Java: ``MQFaultStrategy``, ``TopicPublishInfo``):
round robin over the writable queues, a retry moving to another broker, and with latency
fault tolerance on, brokers that were slow or failing set aside for a while."""

import random
import time
from collections.abc import Sequence
from typing import Final

from rmq.client.message import MessageQueue

#: Send latencies (ms) and how long (ms) a broker that answered that slowly is avoided.
LATENCY_MAX: Final = (50, 100, 550, 1000, 2000, 3000, 15000)
NOT_AVAILABLE_DURATION: Final = (0, 0, 30000, 60000, 120000, 180000, 600000)
#: An isolated broker (one that failed outright) counts as this slow.
ISOLATION_LATENCY: Final = 30000


def _now_ms() -> float:
    return time.monotonic() * 1000


class LatencyFaultTolerance:
    def __init__(self) -> None:
        #: broker name -> (latency ms, available again at monotonic ms)
        self._items: dict[str, tuple[float, float]] = {}

    def update(self, broker: str, latency_ms: float, isolation: bool) -> None:
        latency = ISOLATION_LATENCY if isolation else latency_ms
        duration = 0
        for bound, avoid in zip(reversed(LATENCY_MAX), reversed(NOT_AVAILABLE_DURATION),
                                strict=True):  # fmt: skip
            if latency >= bound:
                duration = avoid
                break
        self._items[broker] = (latency, _now_ms() + duration)

    def is_available(self, broker: str) -> bool:
        item = self._items.get(broker)
        return item is None or _now_ms() >= item[1]

    def pick_one_at_least(self) -> str | None:
        """Of the brokers set aside, one of the better half (Java picks this way too)."""
        if not self._items:
            return None
        ranked = sorted(self._items.items(), key=lambda kv: (kv[0] not in self._available(),
                                                              kv[1][0], kv[1][1]))  # fmt: skip
        half = max(1, len(ranked) // 2)
        return random.choice(ranked[:half])[0]

    def _available(self) -> set[str]:
        now = _now_ms()
        return {b for b, (_, until) in self._items.items() if now >= until}

    def remove(self, broker: str) -> None:
        self._items.pop(broker, None)


class QueueSelector:
    """Round robin over one topic's writable queues."""

    def __init__(self, queues: Sequence[MessageQueue]) -> None:
        self.queues = list(queues)
        self._next = random.randrange(1 << 16)

    def _take(self) -> int:
        self._next = (self._next + 1) & 0x7FFFFFFF
        return self._next

    def select(self, last_broker: str | None) -> MessageQueue:
        """The next queue, on another broker than ``last_broker`` when there is one."""
        n = len(self.queues)
        if last_broker is not None:
            for _ in range(n):
                queue = self.queues[self._take() % n]
                if queue.broker_name != last_broker:
                    return queue
        return self.queues[self._take() % n]

    def select_avoiding(self, faults: LatencyFaultTolerance, last_broker: str | None
                        ) -> MessageQueue:  # fmt: skip
        n = len(self.queues)
        for _ in range(n):
            queue = self.queues[self._take() % n]
            if faults.is_available(queue.broker_name):
                return queue
        fallback = faults.pick_one_at_least()
        if fallback is not None:
            on_broker = [q for q in self.queues if q.broker_name == fallback]
            if on_broker:
                return on_broker[self._take() % len(on_broker)]
            faults.remove(fallback)
        return self.select(last_broker)
