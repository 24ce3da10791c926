"""Consumer offsets (Java: ``ConsumerOffsetManager``): ``topic@group`` -> queue id -> next
offset to consume, persisted to ``config/consumerOffset.json`` every flushConsumerOffsetInterval
and at shutdown."""

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from rmq.broker.json_config import JsonConfigFile

SEPARATOR = "@"


class OffsetTable:
    def __init__(self, path: Path) -> None:
        self._file = JsonConfigFile(path)
        self.offsets: dict[str, dict[int, int]] = {}
        self._dirty = False
        self._inflight: asyncio.Future[None] | None = None

    def load(self) -> None:
        data = self._file.load()
        if data is None:
            return
        for key, queues in (data.get("offsetTable") or {}).items():
            self.offsets[str(key)] = {int(q): int(o) for q, o in queues.items()}

    def to_json(self) -> dict[str, Any]:
        return {"offsetTable": self.offsets}

    def follow(self, data: dict[str, Any]) -> None:
        """A slave merges its master's offsets over its own (Java ``putAll``)."""
        for key, queues in (data.get("offsetTable") or {}).items():
            self.offsets[str(key)] = {int(q): int(o) for q, o in queues.items()}
        self._dirty = True

    def persist(self, *, force: bool = False) -> None:
        if self._dirty or force:
            self._dirty = False
            self._file.persist(self.to_json())

    async def persist_off_loop(self) -> None:
        """The periodic save: the table is copied on the loop, serialized and fsynced off it."""
        if not self._dirty:
            return
        self._dirty = False
        snapshot = {"offsetTable": {k: dict(v) for k, v in self.offsets.items()}}
        self._inflight = asyncio.ensure_future(asyncio.to_thread(self._file.persist, snapshot))
        try:
            # Shielded: a cancelled caller must not leave a half-finished write behind.
            await asyncio.shield(self._inflight)
        except Exception:
            self._dirty = True
            raise

    async def settle(self) -> None:
        """Wait for a save still running in its thread (before the final save at shutdown)."""
        if self._inflight is not None:
            with contextlib.suppress(Exception):
                await self._inflight

    def commit(self, group: str, topic: str, queue_id: int, offset: int) -> None:
        self.offsets.setdefault(f"{topic}{SEPARATOR}{group}", {})[queue_id] = offset
        self._dirty = True

    def query(self, group: str, topic: str, queue_id: int) -> int:
        """-1 when the group has no offset for the queue."""
        return self.offsets.get(f"{topic}{SEPARATOR}{group}", {}).get(queue_id, -1)

    def groups_of_topic(self, topic: str) -> set[str]:
        return {
            key.split(SEPARATOR, 1)[1]
            for key in self.offsets
            if key.split(SEPARATOR, 1)[0] == topic
        }

    def topics_of_group(self, group: str) -> set[str]:
        return {
            key.split(SEPARATOR, 1)[0]
            for key in self.offsets
            if key.split(SEPARATOR, 1)[1:] == [group]
        }

    def table(self, group: str, topic: str) -> dict[int, int]:
        return dict(self.offsets.get(f"{topic}{SEPARATOR}{group}", {}))

    def remove_group(self, group: str, topic: str | None = None) -> None:
        for key in list(self.offsets):
            t, _, g = key.partition(SEPARATOR)
            if g == group and (topic is None or t == topic):
                del self.offsets[key]
                self._dirty = True
