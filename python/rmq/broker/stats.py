"""Put and get counters behind GET_BROKER_RUNTIME_INFO (Java: ``StoreStatsService``): totals,
the totals at this and yesterday's midnight, and rates over 10 s, 60 s and 600 s."""

import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from rmq.broker.stats_items import StatsItems

SAMPLE_SECONDS: Final = 10.0
_WINDOWS: Final = (10, 60, 600)


@dataclass(slots=True)
class Counter:
    total: int = 0
    samples: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=61))
    today_morning: int = 0
    yesterday_morning: int = 0

    def rates(self, now: float) -> str:
        """``"r10 r60 r600"`` per second, as Java prints putTps/getTransferedTps."""
        parts = []
        for window in _WINDOWS:
            base = next(((t, n) for t, n in self.samples if now - t <= window), None)
            if base is None or now - base[0] <= 0:
                parts.append("0.0")
            else:
                parts.append(f"{(self.total - base[1]) / (now - base[0]):.1f}")
        return " ".join(parts)


class BrokerStats:
    def __init__(self) -> None:
        self.put = Counter()
        self.get = Counter()
        self.started = time.time()
        self.items = StatsItems()
        #: bytes of every stored message (putMessageSizeTotal)
        self.put_bytes = 0
        self._day = datetime.now().date()

    def sample(self) -> None:
        """Every 10 s: a rate sample, and the midnight totals when the day turned."""
        now = time.monotonic()
        self.put.samples.append((now, self.put.total))
        self.get.samples.append((now, self.get.total))
        self.items.sample(time.time())
        today = datetime.now().date()
        if today != self._day:
            for c in (self.put, self.get):
                c.yesterday_morning = c.today_morning if today - self._day == timedelta(1) else 0
                c.today_morning = c.total
            self._day = today
