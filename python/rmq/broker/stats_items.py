"""Per-key counters behind VIEW_BROKER_STATS_DATA and statsAll (Java: ``BrokerStatsManager``'s
``StatsItemSet``s): TOPIC_PUT_NUMS by topic, GROUP_GET_NUMS by ``topic@group``, with their
byte sizes. Each counter keeps a value and a number of increments; samples taken every 10 s,
10 min and hour give the minute, hour and day windows Java reports (sum, TPS, average per
increment)."""

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final

TOPIC_PUT_NUMS: Final = "TOPIC_PUT_NUMS"
TOPIC_PUT_SIZE: Final = "TOPIC_PUT_SIZE"
GROUP_GET_NUMS: Final = "GROUP_GET_NUMS"
GROUP_GET_SIZE: Final = "GROUP_GET_SIZE"
SNDBCK_PUT_NUMS: Final = "SNDBCK_PUT_NUMS"
NAMES: Final = (TOPIC_PUT_NUMS, TOPIC_PUT_SIZE, GROUP_GET_NUMS, GROUP_GET_SIZE, SNDBCK_PUT_NUMS)

#: (sampling period in seconds, samples kept): Java's minute, hour and day lists.
_MINUTE: Final = (10.0, 7)
_HOUR: Final = (600.0, 7)
_DAY: Final = (3600.0, 25)

Sample = tuple[float, int, int]  # wall time, value, times
_Period = tuple[float, int]


@dataclass(slots=True)
class StatsItem:
    value: int = 0
    times: int = 0
    minute: deque[Sample] = field(default_factory=lambda: deque(maxlen=_MINUTE[1]))
    hour: deque[Sample] = field(default_factory=lambda: deque(maxlen=_HOUR[1]))
    day: deque[Sample] = field(default_factory=lambda: deque(maxlen=_DAY[1]))


def _window(samples: deque[Sample]) -> dict[str, Any]:
    """Java ``StatsItem.computeStatsData``: from the oldest to the newest sample kept."""
    if len(samples) < 2:
        return {"avgpt": 0.0, "sum": 0, "tps": 0.0}
    (t0, v0, n0), (t1, v1, n1) = samples[0], samples[-1]
    total = v1 - v0
    seconds = t1 - t0
    tps = total / seconds if seconds > 0 else 0.0
    return {"avgpt": total / (n1 - n0) if n1 > n0 else 0.0, "sum": total, "tps": tps}


class StatsItems:
    def __init__(self) -> None:
        self._tables: dict[str, dict[str, StatsItem]] = {name: {} for name in NAMES}
        self._last: dict[_Period, float] = {}

    def add(self, name: str, key: str, value: int, times: int = 1) -> None:
        table = self._tables[name]
        item = table.get(key)
        if item is None:
            item = table[key] = StatsItem()
        item.value += value
        item.times += times

    def sample(self, now: float) -> None:
        """Called every 10 s; takes the hour and day samples when their period is due."""
        for period in (_MINUTE, _HOUR, _DAY):
            last = self._last.get(period)
            if last is not None and now - last < period[0] - 1:
                continue
            self._last[period] = now
            for table in self._tables.values():
                for item in table.values():
                    samples = (item.minute if period is _MINUTE else
                               item.hour if period is _HOUR else item.day)  # fmt: skip
                    samples.append((now, item.value, item.times))

    def snapshot(self, name: str, key: str, now: float) -> dict[str, Any] | None:
        """BrokerStatsData: the three windows of one counter, each ending at ``now``."""
        item = self._tables.get(name, {}).get(key)
        if item is None:
            return None
        current = (now, item.value, item.times)
        out = {}
        for label, samples in (("statsDay", item.day), ("statsHour", item.hour),
                               ("statsMinute", item.minute)):  # fmt: skip
            window = deque(samples)
            window.append(current)
            out[label] = _window(window)
        return out

    def minute_tps(self, name: str, key: str) -> float:
        item = self._tables.get(name, {}).get(key)
        return float(_window(item.minute)["tps"]) if item is not None else 0.0
