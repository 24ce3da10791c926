"""The lite pull consumer (Java: ``DefaultLitePullConsumer``): background tasks keep a
buffer of pulled messages per queue and ``poll()`` hands them out. Queues come from the
group's rebalance (``subscribe``) or from the caller (``assign``); offsets are committed
automatically every ``auto_commit_interval_millis`` or by ``commit_sync()``."""

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Final

from rmq.client.api import PULL_FLAG_SUSPEND, Subscription, pull_header
from rmq.client.consumer.base import ConsumerBase
from rmq.client.consumer.offset_store import ReadOffsetType
from rmq.client.consumer.process_queue import ProcessQueue
from rmq.client.consumer.push import DELAY_EXCEPTION, DELAY_FLOW_CONTROL, filter_by_tags
from rmq.client.errors import ClientError
from rmq.client.message import MessageExt, MessageQueue, PullStatus
from rmq.common.codes import RequestCode

log = logging.getLogger(__name__)

DELAY_PAUSED: Final = 1.0


@dataclass(slots=True)
class _Batch:
    msgs: list[MessageExt]
    mq: MessageQueue
    pq: ProcessQueue


class _Assigned:
    """A queue this consumer reads: its buffer, where the next pull starts, what the
    application has consumed, and a pending seek."""

    __slots__ = ("consumed", "next_pull", "paused", "pq", "seek", "task")

    def __init__(self, pq: ProcessQueue) -> None:
        self.pq = pq
        self.next_pull = -1
        self.consumed = -1
        self.seek: int | None = None
        self.paused = False
        self.task: asyncio.Task[None] | None = None


class LitePullConsumer(ConsumerBase):
    consume_type = "CONSUME_ACTIVELY"

    def __init__(
        self,
        group: str,
        *,
        pull_batch_size: int = 10,
        pull_threshold_for_all: int = 10_000,
        pull_threshold_for_queue: int = 1000,
        pull_threshold_size_for_queue: int = 100,
        poll_timeout_millis: int = 5000,
        auto_commit: bool = True,
        auto_commit_interval_millis: int = 5000,
        consume_max_span: int = 2000,
        broker_suspend_max_time_millis: int = 20_000,
        consumer_timeout_millis_when_suspend: int = 30_000,
        **options: Any,
    ) -> None:
        super().__init__(group, **options)
        self.pull_batch_size = pull_batch_size
        self.pull_threshold_for_all = pull_threshold_for_all
        self.pull_threshold_for_queue = pull_threshold_for_queue
        self.pull_threshold_size_for_queue = pull_threshold_size_for_queue
        self.poll_timeout_millis = poll_timeout_millis
        self.auto_commit = auto_commit
        self.auto_commit_interval_millis = auto_commit_interval_millis
        self.consume_max_span = consume_max_span
        self.broker_suspend_max_time_millis = broker_suspend_max_time_millis
        self.consumer_timeout_millis_when_suspend = consumer_timeout_millis_when_suspend
        self._assigned: dict[MessageQueue, _Assigned] = {}
        self._buffer: asyncio.Queue[_Batch] = asyncio.Queue()
        self._buffered = 0
        self._mode: str | None = None
        self._wanted: list[MessageQueue] = []
        self._next_commit = 0.0

    # subscribe or assign

    def subscribe(self, topic: str, expression: str = "*", expression_type: str = "TAG") -> None:
        if self._mode == "assign":
            raise ClientError("Subscribe and assign are mutually exclusive.")
        self._mode = "subscribe"
        super().subscribe(topic, expression, expression_type)

    def assign(self, queues: list[MessageQueue]) -> None:
        """Read exactly these queues; no rebalance, offsets still committed for the group."""
        if self._mode == "subscribe":
            raise ClientError("Subscribe and assign are mutually exclusive.")
        self._mode = "assign"
        for topic in {q.topic for q in queues}:
            self._subscriptions.setdefault(
                topic, Subscription(topic, "*", "TAG", int(time.time() * 1000))
            )
        self._wanted = list(queues)
        if self._instance is not None:
            self._apply_assignment()

    def _apply_assignment(self) -> None:
        wanted = set(self._wanted)
        for mq in [q for q in self._assigned if q not in wanted]:
            self._drop(mq)
        for mq in sorted(wanted):
            if mq not in self._assigned:
                self.dispatch_pull(mq, ProcessQueue(), -1)

    async def start(self) -> None:
        if self._instance is not None:
            return
        await self._start_base(self)
        self._next_commit = time.monotonic() + self.auto_commit_interval_millis / 1000
        if self._mode == "assign":
            self._apply_assignment()

    async def shutdown(self) -> None:
        if self._instance is None:
            return
        if self.auto_commit:
            await self.commit_sync()
        for mq in list(self._assigned):
            self._drop(mq)
        await self._shutdown_base()

    async def __aenter__(self) -> "LitePullConsumer":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()

    async def do_rebalance(self) -> None:
        if self._mode == "subscribe":
            await super().do_rebalance()

    async def persist_offsets(self, oneway: bool = True) -> None:
        if self._offsets is not None:
            await self._offsets.persist_all(set(self._assigned), oneway)

    # rebalance hooks

    async def remove_unnecessary(self, mq: MessageQueue, pq: ProcessQueue) -> bool:
        await self._commit_one(mq)
        self._drop(mq)
        self.offsets.remove(mq)
        return True

    def dispatch_pull(self, mq: MessageQueue, pq: ProcessQueue, offset: int) -> None:
        entry = self._assigned.get(mq)
        if entry is None:
            entry = self._assigned[mq] = _Assigned(pq)
        entry.pq = pq
        entry.next_pull = offset
        if entry.task is None or entry.task.done():
            entry.task = asyncio.create_task(self._pull_loop(mq, entry))

    def queues_changed(self, topic: str, all_queues: list[MessageQueue],
                       mine: list[MessageQueue]) -> None:  # fmt: skip
        return None

    def _drop(self, mq: MessageQueue) -> None:
        entry = self._assigned.pop(mq, None)
        if entry is None:
            return
        entry.pq.dropped = True
        if entry.task is not None:
            entry.task.cancel()

    # pulling

    async def _pull_loop(self, mq: MessageQueue, entry: _Assigned) -> None:
        while not entry.pq.dropped and self._instance is not None:
            try:
                delay = await self._pull_once(mq, entry)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("pull of %s failed: %s", mq, exc)
                delay = DELAY_EXCEPTION
            if delay:
                await asyncio.sleep(delay)

    async def _start_offset(self, mq: MessageQueue, entry: _Assigned) -> int:
        if entry.seek is not None:
            offset, entry.seek = entry.seek, None
            entry.pq.clear()
            entry.consumed = offset
            return offset
        if entry.next_pull >= 0:
            return entry.next_pull
        if entry.consumed >= 0:
            return entry.consumed
        return await self.compute_pull_from_where(mq)

    async def _pull_once(self, mq: MessageQueue, entry: _Assigned) -> float:
        pq = entry.pq
        if entry.paused:
            return DELAY_PAUSED
        if self._buffered > self.pull_threshold_for_all:
            return DELAY_FLOW_CONTROL
        if (pq.msg_count > self.pull_threshold_for_queue
                or pq.msg_size > self.pull_threshold_size_for_queue * 1024 * 1024
                or pq.max_span() > self.consume_max_span):  # fmt: skip
            return DELAY_FLOW_CONTROL
        offset = await self._start_offset(mq, entry)
        if offset < 0:
            return DELAY_EXCEPTION
        entry.next_pull = offset
        sub = self._subscriptions.get(mq.topic)
        if sub is None:
            return DELAY_EXCEPTION
        found = self.instance.subscribe_addr(mq.broker_name)
        if found is None:
            await self.instance.update_route(mq.topic)
            found = self.instance.subscribe_addr(mq.broker_name)
        if found is None:
            raise ClientError(f"The broker[{mq.broker_name}] not exist")
        header = pull_header(self.group, mq, sub, offset, self.pull_batch_size,
                             PULL_FLAG_SUSPEND, 0, self.broker_suspend_max_time_millis)  # fmt: skip
        result = await self.instance.api.pull(found[0], header,
                                              self.consumer_timeout_millis_when_suspend / 1000,
                                              mq.broker_name)  # fmt: skip
        if pq.dropped or entry.seek is not None:
            return 0
        entry.next_pull = result.next_begin_offset
        if result.pull_status is PullStatus.FOUND:
            msgs = filter_by_tags(result.messages, sub.tags)
            if msgs:
                pq.put_messages(msgs)
                self._buffered += len(msgs)
                self._buffer.put_nowait(_Batch(msgs, mq, pq))
        elif result.pull_status is PullStatus.OFFSET_ILLEGAL:
            log.warning("offset %d of %s illegal, moving to %d", offset, mq,
                        result.next_begin_offset)  # fmt: skip
        return 0

    # the application's side

    async def poll(self, timeout: int | None = None) -> list[MessageExt]:
        """The next pulled messages, or [] after ``timeout`` ms (poll_timeout_millis)."""
        if self._instance is None:
            raise ClientError("The consumer not running, please start it first.")
        await self._maybe_auto_commit()
        deadline = time.monotonic() + (timeout or self.poll_timeout_millis) / 1000
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            try:
                async with asyncio.timeout(remaining):
                    batch = await self._buffer.get()
            except TimeoutError:
                return []
            self._buffered -= len(batch.msgs)
            entry = self._assigned.get(batch.mq)
            if batch.pq.dropped or entry is None or entry.pq is not batch.pq:
                continue
            offset = batch.pq.remove_messages(batch.msgs)
            if offset >= 0:
                entry.consumed = offset
            self.reset_retry_topic(batch.msgs)
            return batch.msgs

    async def _maybe_auto_commit(self) -> None:
        if self.auto_commit and time.monotonic() >= self._next_commit:
            self._next_commit = time.monotonic() + self.auto_commit_interval_millis / 1000
            await self.commit_sync()

    async def _commit_one(self, mq: MessageQueue) -> None:
        entry = self._assigned.get(mq)
        if entry is not None and entry.consumed >= 0:
            self.offsets.update(mq, entry.consumed, False)
            await self.offsets.persist(mq)

    async def commit_sync(self) -> None:
        """Commit what ``poll()`` has handed out on every queue."""
        for mq, entry in list(self._assigned.items()):
            if entry.consumed >= 0:
                self.offsets.update(mq, entry.consumed, False)
        await self.offsets.persist_all(set(self._assigned), oneway=False)

    async def commit(self, offsets: dict[MessageQueue, int], persist: bool = True) -> None:
        for mq, offset in offsets.items():
            self.offsets.update(mq, offset, False)
            if persist:
                await self.offsets.persist(mq)

    async def committed(self, mq: MessageQueue) -> int:
        return await self.offsets.read(mq, ReadOffsetType.STORE)

    def seek(self, mq: MessageQueue, offset: int) -> None:
        entry = self._assigned.get(mq)
        if entry is None:
            raise ClientError(f"The message queue is not in assigned list, may be rebalancing, "
                              f"message queue: {mq}")  # fmt: skip
        entry.seek = offset
        entry.next_pull = -1
        if entry.task is not None and not entry.task.done():
            # A long poll in flight would hold the seek back for up to its suspend time.
            entry.task.cancel()
        entry.task = asyncio.create_task(self._pull_loop(mq, entry))

    async def seek_to_begin(self, mq: MessageQueue) -> None:
        self.seek(mq, await self.queue_offset(mq, RequestCode.GET_MIN_OFFSET))

    async def seek_to_end(self, mq: MessageQueue) -> None:
        self.seek(mq, await self.queue_offset(mq, RequestCode.GET_MAX_OFFSET))

    async def offset_for_timestamp(self, mq: MessageQueue, timestamp: int) -> int:
        return await self.queue_offset(mq, RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, timestamp)

    def pause(self, queues: list[MessageQueue]) -> None:
        for mq in queues:
            if mq in self._assigned:
                self._assigned[mq].paused = True

    def resume(self, queues: list[MessageQueue]) -> None:
        for mq in queues:
            if mq in self._assigned:
                self._assigned[mq].paused = False

    async def fetch_message_queues(self, topic: str) -> list[MessageQueue]:
        route = await self.instance.update_route(topic)
        if route is None:
            raise ClientError(f"Can not find Message Queue for this topic, {topic}")
        return route.subscribe_queues()

    def assignment(self) -> list[MessageQueue]:
        return sorted(self._assigned)

    async def consume_directly(self, msg: MessageExt, broker_name: str | None) -> dict[str, Any]:
        return {"order": False, "autoCommit": True, "consumeResult": "CR_RETURN_NULL",
                "remark": "a lite pull consumer has no listener", "spentTimeMills": 0}  # fmt: skip
