"""Delay levels (Java: ``ScheduleMessageService``).

A message with the DELAY property is stored in SCHEDULE_TOPIC_XXXX, queue ``level - 1``,
with its real topic and queue kept in REAL_TOPIC and REAL_QID. One delivery task per level
reads its queue in order; since every message of a level waits the same time, the head of
the queue is always the next one due, so a task sleeps exactly until then and is otherwise
woken by the send that stores into its queue. Progress per level is persisted in
``config/delayOffset.json``: a restart resumes there and never delivers before the due time.
"""

import asyncio
import contextlib
import logging
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from rmq.broker.json_config import JsonConfigFile
from rmq.common import property_keys as keys
from rmq.common import topic as names
from rmq.common.message import (
    NAME_VALUE_SEPARATOR,
    MessageDecodeError,
    StoredMessage,
    decode_records,
    encode_properties,
)
from rmq.common.message_id import host_bytes_or_zero
from rmq.store.results import GetStatus, PutStatus
from rmq.store.store import MessageInput

if TYPE_CHECKING:
    from rmq.broker.context import BrokerContext

log = logging.getLogger(__name__)

#: Messages one delivery pass moves at most (one engine call).
DELIVER_BATCH: Final = 32
#: How long an idle level waits before looking again (a send into its queue wakes it).
IDLE_WAIT_SECONDS: Final = 60.0

_UNITS: Final = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_LEVEL: Final = re.compile(r"(\d+)([smhd])")


class DelayLevelError(ValueError):
    """A messageDelayLevel setting that is not a list like ``1s 5s 2m 1h``."""


def parse_delay_levels(text: str) -> list[int]:
    """``messageDelayLevel`` as milliseconds per level (level 1 first)."""
    levels = []
    for item in text.split():
        match = _LEVEL.fullmatch(item)
        if match is None:
            raise DelayLevelError(
                f"messageDelayLevel item {item!r} is not a number followed by s, m, h or d"
            )
        levels.append(int(match.group(1)) * _UNITS[match.group(2)])
    if not levels:
        raise DelayLevelError("messageDelayLevel names no level")
    return levels


def delay_level_of(properties: str) -> int:
    """The DELAY property of a property string, 0 when absent or not a number."""
    key = f"{keys.DELAY_TIME_LEVEL}{NAME_VALUE_SEPARATOR}"
    at = properties.find(key)
    while at > 0 and properties[at - 1] != "\x02":
        at = properties.find(key, at + 1)
    if at < 0:
        return 0
    end = properties.find("\x02", at)
    value = properties[at + len(key) : end if end >= 0 else None]
    try:
        return int(value)
    except ValueError:
        return 0


class ScheduleService:
    def __init__(self, ctx: "BrokerContext", path: Path, levels: list[int]) -> None:
        self._ctx = ctx
        self._file = JsonConfigFile(path)
        self.levels = levels
        #: level (1-based) -> next schedule-queue offset to deliver
        self.offsets: dict[int, int] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.delivered = 0
        self._saved: dict[str, Any] | None = None

    @property
    def max_level(self) -> int:
        return len(self.levels)

    def load(self) -> None:
        data = self._file.load()
        if isinstance(data, dict):
            for level, offset in (data.get("offsetTable") or {}).items():
                self.offsets[int(level)] = int(offset)

    def to_json(self) -> dict[str, Any]:
        return {"offsetTable": dict(sorted(self.offsets.items()))}

    def follow(self, data: dict[str, Any]) -> None:
        """A slave keeps its master's delay offsets, ready for the day it must deliver."""
        for level, offset in (data.get("offsetTable") or {}).items():
            self.offsets[int(level)] = int(offset)
        self.persist()

    def persist(self) -> None:
        data = self.to_json()
        if data != self._saved:
            self._file.persist(data)
            self._saved = data

    def start(self) -> None:
        for level in range(1, self.max_level + 1):
            task = asyncio.create_task(self._run(level), name=f"delay-level-{level}")
            self._tasks.append(task)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self.persist()

    async def _run(self, level: int) -> None:
        while True:
            try:
                await self._deliver_level(level)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delay level %d delivery failed; retrying in 1 s", level)
                await asyncio.sleep(1.0)

    async def _deliver_level(self, level: int) -> None:
        ctx = self._ctx
        queue_id = level - 1
        delay_ms = self.levels[level - 1]
        while True:
            offset = self.offsets.get(level, 0)
            result = ctx.store.get(names.SCHEDULE_TOPIC, queue_id, offset, DELIVER_BATCH,
                                   1024 * 1024)  # fmt: skip
            if result.status in (GetStatus.OFFSET_TOO_SMALL, GetStatus.OFFSET_OVERFLOW_BADLY):
                log.warning("delay level %d offset %d corrected to %d", level, offset,
                            result.next_begin_offset)  # fmt: skip
                self.offsets[level] = result.next_begin_offset
                continue
            if result.status is not GetStatus.FOUND:
                if result.next_begin_offset > offset:  # entries skipped (e.g. removed files)
                    self.offsets[level] = result.next_begin_offset
                    continue
                await ctx.holds.hold(names.SCHEDULE_TOPIC, queue_id, offset, IDLE_WAIT_SECONDS)
                continue
            try:
                messages = decode_records(result.buffer)
            except MessageDecodeError:
                log.exception("delay level %d: undecodable record at offset %d; skipped", level,
                              offset)  # fmt: skip
                self.offsets[level] = offset + 1
                continue
            now = int(time.time() * 1000)
            due = [m for m in messages if m.store_timestamp + delay_ms <= now]
            if due:
                done = self._deliver(due)
                if done:
                    self.offsets[level] = due[done - 1].queue_offset + 1
                if done < len(due):
                    # The store refused a delivery (disk full, ...): nothing is skipped;
                    # the same message is tried again shortly.
                    await asyncio.sleep(1.0)
                    continue
            if len(due) < len(messages):
                head = messages[len(due)]
                wait_ms = head.store_timestamp + delay_ms - int(time.time() * 1000)
                await asyncio.sleep(max(wait_ms, 1) / 1000)

    def _deliver(self, messages: list[StoredMessage]) -> int:
        """Store ``messages`` in their real queues; returns how many, from the first, are
        done (stored, or dropped for having no real queue)."""
        ctx = self._ctx
        inputs = []
        targets = []
        positions = []
        for index, m in enumerate(messages):
            props = dict(m.properties)
            props.pop(keys.DELAY_TIME_LEVEL, None)
            topic = props.get(keys.REAL_TOPIC)
            try:
                queue_id = int(props.get(keys.REAL_QUEUE_ID, ""))
            except ValueError:
                queue_id, topic = 0, None
            if not topic:
                log.error("delayed message at %d has no REAL_TOPIC/REAL_QID; dropped", m.phy_offset)
                continue
            inputs.append(
                MessageInput(
                    topic,
                    queue_id,
                    m.body,
                    encode_properties(props).encode("utf-8"),
                    m.flag,
                    m.sys_flag,
                    m.born_timestamp,
                    host_bytes_or_zero(m.born_host),
                    ctx.store_host,
                    m.reconsume_times,
                    m.prepared_transaction_offset,
                )
            )
            targets.append((topic, queue_id))
            positions.append(index)
        if not inputs:
            return len(messages)
        results = ctx.store.put_nowait(inputs)
        for (topic, queue_id), result, index in zip(targets, results, positions, strict=True):
            if result.status is not PutStatus.PUT_OK:
                log.error("delayed message to %s-%d not stored: %s", topic, queue_id,
                          result.status.name)  # fmt: skip
                return index
            ctx.holds.notify(topic, queue_id, result.queue_offset + 1)
            self.delivered += 1
        return len(messages)
