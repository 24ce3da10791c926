"""The Dashboard's data: broker TPS sampled every ``collect_interval`` and the topics with
the most messages, kept in memory for charts and one small JSON file per day on disk
(at most ``history_days`` files, so the store stays bounded)."""

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

from rmq.admin.admin_client import AdminClient, AdminError
from rmq.console.cluster_data import broker_rows
from rmq.console.topic_data import BadInput, topic_kind

log = logging.getLogger(__name__)
MAX_POINTS: Final = 1440  # a day of one-minute samples
TOP_TOPICS: Final = 10
MAX_TOPICS_COUNTED: Final = 2000
PARALLEL_CALLS: Final = 16


class Dashboard:
    def __init__(self, admin: AdminClient, data_dir: Path, interval: float, days: int) -> None:
        self._admin = admin
        self._dir = data_dir / "dashboard"
        self._interval = interval
        self._days = days
        self.points: deque[dict[str, Any]] = deque(maxlen=MAX_POINTS)
        self.top_topics: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        self.points.extend(self._load(date.today()))
        self._task = asyncio.create_task(self._run(), name="console-dashboard")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.sample()
            except (AdminError, OSError) as exc:
                log.warning("dashboard sample failed: %s", exc)
            await asyncio.sleep(self._interval)

    async def sample(self) -> None:
        rows = await broker_rows(self._admin)
        self.top_topics = await self._top_topics()
        # Message counts of the top topics: the chart turns consecutive samples into TPS.
        point = {
            "t": int(time.time() * 1000),
            "brokers": {
                f"{r.broker_name}:{r.broker_id}": [r.in_tps, r.out_tps] for r in rows if not r.error
            },
            "topics": {t["topic"]: t["messages"] for t in self.top_topics},
        }
        self.points.append(point)
        self._save(point)

    async def _top_topics(self) -> list[dict[str, Any]]:
        info = await self._admin.cluster_info()
        reserved = set(info.clusters) | set(info.brokers)
        topics = [t for t in await self._admin.topic_list() if topic_kind(t, reserved) == "normal"]
        masters = [addrs[0] for _, addrs in info.brokers.values() if 0 in addrs]
        gate = asyncio.Semaphore(PARALLEL_CALLS)

        async def count(topic: str) -> tuple[str, int]:
            total = 0
            for addr in masters:
                async with gate:
                    try:
                        stats = await self._admin.topic_stats(addr, topic)
                    except AdminError:
                        continue
                total += sum(s.get("maxOffset", 0) - s.get("minOffset", 0) for s in stats.values())
            return topic, total

        counts = await asyncio.gather(*(count(t) for t in topics[:MAX_TOPICS_COUNTED]))
        best = sorted(counts, key=lambda c: (-c[1], c[0]))[:TOP_TOPICS]
        return [{"topic": t, "messages": n} for t, n in best]

    def _file(self, day: date) -> Path:
        return self._dir / f"{day.isoformat()}.jsonl"

    def _save(self, point: dict[str, Any]) -> None:
        with self._file(date.today()).open("a", encoding="utf-8") as f:
            f.write(json.dumps(point) + "\n")
        days = sorted(self._dir.glob("*.jsonl"))
        for old in days[: max(0, len(days) - self._days)]:
            old.unlink(missing_ok=True)

    def _load(self, day: date) -> list[dict[str, Any]]:
        path = self._file(day)
        if not path.exists():
            return []
        points = []
        for line in path.read_text(encoding="utf-8").splitlines()[-MAX_POINTS:]:
            with contextlib.suppress(ValueError):
                points.append(json.loads(line))
        return points

    def history(self, day: str | None) -> list[dict[str, Any]]:
        if day is None:
            return list(self.points)
        try:
            wanted = datetime.strptime(day, "%Y-%m-%d").date()
        except ValueError:
            raise BadInput("the day is YYYY-MM-DD") from None
        return self._load(wanted)
