"""The messages pulled from one queue and not yet consumed (Java: ``ProcessQueue``). The
offset a consumer may commit is the smallest offset still held here: a slow message
holds the committed offset back, so a crash re-delivers it rather than losing it."""

import asyncio
import heapq
import time
from collections.abc import Iterable
from typing import Any, Final

from rmq.client.message import MessageExt
from rmq.common import property_keys as pk

#: How long a broker lock is trusted without renewal (Java REBALANCE_LOCK_MAX_LIVE_TIME
#: on the client side; the broker keeps it 60 s).
LOCK_MAX_LIVE_MS: Final = 30_000
#: A queue not pulled for this long is dropped at the next rebalance.
PULL_MAX_IDLE_MS: Final = 120_000


def now_ms() -> int:
    return int(time.time() * 1000)


class ProcessQueue:
    def __init__(self) -> None:
        self._msgs: dict[int, MessageExt] = {}
        self._heap: list[int] = []
        #: orderly: taken by the listener, not yet committed
        self._consuming: dict[int, MessageExt] = {}
        self.msg_count = 0
        self.msg_size = 0
        self.queue_offset_max = 0
        self.msg_acc_cnt = 0
        self.dropped = False
        self.locked = False
        self.previously_locked = False
        self.last_lock_ts = now_ms()
        self.last_pull_ts = now_ms()
        self.last_consume_ts = now_ms()
        self.try_unlock_times = 0
        #: orderly: a consume task is running or scheduled for this queue
        self.consuming = False
        #: orderly: held while the listener runs, so a rebalance never unlocks mid-batch
        self.consume_lock = asyncio.Lock()

    def _first(self) -> int | None:
        heap, msgs = self._heap, self._msgs
        while heap and heap[0] not in msgs:
            heapq.heappop(heap)
        return heap[0] if heap else None

    def put_messages(self, msgs: Iterable[MessageExt]) -> bool:
        """Add pulled messages; True when an orderly consume task should be started."""
        last: MessageExt | None = None
        for msg in msgs:
            offset = msg.queue_offset
            if offset in self._msgs:
                continue
            self._msgs[offset] = msg
            heapq.heappush(self._heap, offset)
            self.msg_count += 1
            self.msg_size += len(msg.body)
            if offset > self.queue_offset_max:
                self.queue_offset_max = offset
            last = msg
        dispatch = False
        if self._msgs and not self.consuming:
            dispatch = self.consuming = True
        if last is not None:
            high = last.properties.get(pk.MAX_OFFSET)
            if high and high.isdigit():
                self.msg_acc_cnt = max(0, int(high) - last.queue_offset)
        return dispatch

    def max_span(self) -> int:
        first = self._first()
        return 0 if first is None else self.queue_offset_max - first

    def remove_messages(self, msgs: Iterable[MessageExt]) -> int:
        """Forget consumed messages; the offset to commit, -1 when nothing was held."""
        self.last_consume_ts = now_ms()
        if not self._msgs:
            return -1
        for msg in msgs:
            gone = self._msgs.pop(msg.queue_offset, None)
            if gone is not None:
                self.msg_count -= 1
                self.msg_size -= len(gone.body)
        first = self._first()
        return self.queue_offset_max + 1 if first is None else first

    def cached_range(self) -> tuple[int, int]:
        first = self._first()
        return (0, 0) if first is None else (first, self.queue_offset_max)

    def has_temp_message(self) -> bool:
        return bool(self._msgs)

    def clear(self) -> None:
        self._msgs.clear()
        self._heap.clear()
        self._consuming.clear()
        self.msg_count = self.msg_size = 0
        self.queue_offset_max = 0

    def expired_messages(self, older_than_ms: int, limit: int = 16) -> list[MessageExt]:
        """Messages whose listener started before ``older_than_ms`` (Java cleans these
        up after consumeTimeout: sent back and removed, so the offset moves on)."""
        out = []
        for offset in sorted(self._msgs)[:limit]:
            msg = self._msgs[offset]
            started = msg.properties.get(pk.CONSUME_START_TIMESTAMP)
            if started and started.isdigit() and int(started) < older_than_ms:
                out.append(msg)
            else:
                break
        return out

    # orderly consumption

    def take_messages(self, n: int) -> list[MessageExt]:
        self.last_consume_ts = now_ms()
        out: list[MessageExt] = []
        while len(out) < n:
            first = self._first()
            if first is None:
                break
            heapq.heappop(self._heap)
            msg = self._msgs.pop(first)
            self._consuming[first] = msg
            out.append(msg)
        if not out:
            self.consuming = False
        return out

    def commit(self) -> int:
        """Orderly: the taken messages are done; the offset after them, -1 if none."""
        if not self._consuming:
            return -1
        offset = max(self._consuming) + 1
        for msg in self._consuming.values():
            self.msg_count -= 1
            self.msg_size -= len(msg.body)
        self._consuming.clear()
        return offset

    def make_to_consume_again(self, msgs: Iterable[MessageExt]) -> None:
        for msg in msgs:
            self._consuming.pop(msg.queue_offset, None)
            self._msgs[msg.queue_offset] = msg
            heapq.heappush(self._heap, msg.queue_offset)

    def is_lock_expired(self) -> bool:
        return now_ms() - self.last_lock_ts > LOCK_MAX_LIVE_MS

    def is_pull_expired(self) -> bool:
        return now_ms() - self.last_pull_ts > PULL_MAX_IDLE_MS

    def info(self, commit_offset: int) -> dict[str, Any]:
        """ProcessQueueInfo as mqadmin consumerStatus prints it."""
        low, high = self.cached_range()
        return {
            "commitOffset": commit_offset,
            "cachedMsgMinOffset": low,
            "cachedMsgMaxOffset": high,
            "cachedMsgCount": self.msg_count,
            "cachedMsgSizeInMiB": self.msg_size // (1024 * 1024),
            "transactionMsgMinOffset": min(self._consuming, default=0),
            "transactionMsgMaxOffset": max(self._consuming, default=0),
            "transactionMsgCount": len(self._consuming),
            "locked": self.locked,
            "tryUnlockTimes": self.try_unlock_times,
            "lastLockTimestamp": self.last_lock_ts,
            "droped": self.dropped,
            "lastPullTimestamp": self.last_pull_ts,
            "lastConsumeTimestamp": self.last_consume_ts,
        }
