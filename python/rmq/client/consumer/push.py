"""The push consumer (Java: ``DefaultMQPushConsumer``): it pulls with long polling on every
queue the rebalance gives it and pushes what arrives to a listener, concurrently or in
queue order, with RocketMQ's flow control, retries and offset commits."""

import asyncio
import logging
from typing import Any, Final

from rmq.client.api import PULL_FLAG_COMMIT_OFFSET, PULL_FLAG_SUSPEND, pull_header
from rmq.client.consumer.base import ConsumerBase
from rmq.client.consumer.consume_concurrently import ConcurrentlyService
from rmq.client.consumer.consume_orderly import OrderlyService
from rmq.client.consumer.listener import ConcurrentlyListener, OrderlyListener
from rmq.client.consumer.offset_store import ReadOffsetType
from rmq.client.consumer.process_queue import ProcessQueue, now_ms
from rmq.client.consumer.rebalance import CLUSTERING
from rmq.client.errors import ClientError
from rmq.client.message import MessageExt, MessageQueue, PullResult, PullStatus
from rmq.client.route import MASTER_ID

log = logging.getLogger(__name__)

#: Java's PullMessageService delays, in seconds.
DELAY_FLOW_CONTROL: Final = 0.05
DELAY_EXCEPTION: Final = 3.0
DELAY_SUSPENDED: Final = 1.0
OFFSET_MOVED_WAIT: Final = 10.0
CLEAN_EXPIRED_INTERVAL: Final = 15 * 60.0
#: How soon an orderly consumer asks again for a queue whose lock it could not get.
LOCK_RETRY_DELAY: Final = 1.0


def filter_by_tags(msgs: list[MessageExt], tags: list[str]) -> list[MessageExt]:
    """The broker filters by tag hash code; the client drops hash collisions."""
    if not tags:
        return msgs
    wanted = set(tags)
    return [m for m in msgs if m.tags in wanted]


class PushConsumer(ConsumerBase):
    """Subscribe, register a listener, start. Options keep Java's names in snake_case;
    ``pull_threshold_size_for_queue`` is in MiB, ``consume_timeout`` in minutes, other
    times in milliseconds."""

    def __init__(
        self,
        group: str,
        *,
        consume_thread_min: int = 20,
        consume_thread_max: int = 20,
        consume_concurrently_max_span: int = 2000,
        pull_threshold_for_queue: int = 1000,
        pull_threshold_size_for_queue: int = 100,
        pull_threshold_for_topic: int = -1,
        pull_threshold_size_for_topic: int = -1,
        pull_interval: int = 0,
        consume_message_batch_max_size: int = 1,
        pull_batch_size: int = 32,
        post_subscription_when_pull: bool = False,
        suspend_current_queue_time_millis: int = 1000,
        consume_timeout: int = 15,
        await_termination_millis_when_shutdown: int = 0,
        broker_suspend_max_time_millis: int = 15_000,
        consumer_timeout_millis_when_suspend: int = 30_000,
        **options: Any,
    ) -> None:
        super().__init__(group, **options)
        self.consume_thread_min = consume_thread_min
        self.consume_thread_max = max(consume_thread_min, consume_thread_max)
        self.consume_concurrently_max_span = consume_concurrently_max_span
        self.pull_threshold_for_queue = pull_threshold_for_queue
        self.pull_threshold_size_for_queue = pull_threshold_size_for_queue
        self.pull_threshold_for_topic = pull_threshold_for_topic
        self.pull_threshold_size_for_topic = pull_threshold_size_for_topic
        self.pull_interval = pull_interval
        self.consume_message_batch_max_size = consume_message_batch_max_size
        self.pull_batch_size = pull_batch_size
        self.post_subscription_when_pull = post_subscription_when_pull
        self.suspend_current_queue_time_millis = suspend_current_queue_time_millis
        self.consume_timeout = consume_timeout
        self.await_termination_millis_when_shutdown = await_termination_millis_when_shutdown
        self.broker_suspend_max_time_millis = broker_suspend_max_time_millis
        self.consumer_timeout_millis_when_suspend = consumer_timeout_millis_when_suspend
        self._listener: ConcurrentlyListener | OrderlyListener | None = None
        self._orderly = False
        self._service: ConcurrentlyService | OrderlyService | None = None
        self._pulls: dict[MessageQueue, asyncio.Task[None]] = {}
        self._pull_from: dict[MessageQueue, int] = {}
        self._queue_limits: dict[str, tuple[int, int]] = {}
        self._housekeeping: asyncio.Task[None] | None = None
        self.paused = False

    def register_message_listener(self, listener: ConcurrentlyListener) -> None:
        """``listener(msgs, context)`` returns a ConsumeConcurrentlyStatus."""
        self._listener, self._orderly = listener, False

    def register_message_listener_orderly(self, listener: OrderlyListener) -> None:
        """``listener(msgs, context)`` returns a ConsumeOrderlyStatus."""
        self._listener, self._orderly = listener, True

    @property
    def is_order(self) -> bool:
        return self._orderly

    async def start(self) -> None:
        if self._instance is not None:
            return
        if self._listener is None:
            raise ClientError("messageListener is null, register a listener before start()")
        if not self._subscriptions:
            raise ClientError("no subscription, call subscribe() before start()")
        if self._orderly:
            self._service = OrderlyService(self, self._listener)  # type: ignore[arg-type]
        else:
            self._service = ConcurrentlyService(self, self._listener)  # type: ignore[arg-type]
        await self._start_base(self)
        if isinstance(self._service, OrderlyService):
            self._service.start()
        else:
            self._housekeeping = asyncio.create_task(self._clean_expired_loop())

    async def shutdown(self) -> None:
        if self._instance is None:
            return
        if self._housekeeping is not None:
            self._housekeeping.cancel()
        for pq in self.rebalance.process_queues.values():
            pq.dropped = True
        for task in list(self._pulls.values()):
            task.cancel()
        assert self._service is not None
        await self._service.shutdown(self.await_termination_millis_when_shutdown)
        if isinstance(self._service, OrderlyService) and self.message_model == CLUSTERING:
            # Offsets first and answered, then the unlocks: the next owner of a queue reads
            # its offset right after it gets the lock.
            for mq in list(self.rebalance.process_queues):
                await self._commit_now(mq)
            await self._service.unlock_released_now()
            await self.rebalance.unlock_all()
        await self._shutdown_base()

    async def __aenter__(self) -> "PushConsumer":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()

    def suspend(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    async def _clean_expired_loop(self) -> None:
        while True:
            await asyncio.sleep(CLEAN_EXPIRED_INTERVAL)
            if isinstance(self._service, ConcurrentlyService):
                await self._service.clean_expired(self.consume_timeout)

    async def do_rebalance(self) -> None:
        await super().do_rebalance()
        if self._rebalance is not None and self._rebalance.lock_failed and self._instance:
            # The previous owner unlocks once its current batch ends; Java waits for its
            # next 20 s rebalance to try again, which stalls the queue that long.
            asyncio.get_running_loop().call_later(LOCK_RETRY_DELAY, self._instance.rebalance_now)

    # rebalance hooks

    async def _commit_now(self, mq: MessageQueue) -> None:
        offset = self.offsets.table.get(mq)
        if offset is not None:
            try:
                await self.offsets.update_to_broker(mq, offset, oneway=False)
            except Exception as exc:
                log.info("offset of %s not committed: %s", mq, exc)

    async def remove_unnecessary(self, mq: MessageQueue, pq: ProcessQueue) -> bool:
        if self._orderly and self.message_model == CLUSTERING:
            assert isinstance(self._service, OrderlyService)
            await self._commit_now(mq)
            self.offsets.remove(mq)
            return await self._service.release(mq, pq)
        await self.offsets.persist(mq)
        self.offsets.remove(mq)
        return True

    def dispatch_pull(self, mq: MessageQueue, pq: ProcessQueue, offset: int) -> None:
        old = self._pulls.get(mq)
        if old is not None and not old.done():
            old.cancel()
        self._pulls[mq] = asyncio.create_task(self._pull_loop(mq, pq, offset))

    def queues_changed(self, topic: str, all_queues: list[MessageQueue],
                       mine: list[MessageQueue]) -> None:  # fmt: skip
        """Topic-wide thresholds become per-queue ones over the queues now held."""
        n = max(1, len(mine))
        count = self.pull_threshold_for_topic
        size = self.pull_threshold_size_for_topic
        self._queue_limits[topic] = (max(1, count // n) if count != -1 else -1,
                                     max(1, size // n) if size != -1 else -1)  # fmt: skip

    async def _await_dropped(self, queues: list[MessageQueue]) -> None:
        for mq in queues:
            task = self._pulls.pop(mq, None)
            if task is not None and not task.done():
                task.cancel()

    # pulling

    def _thresholds(self, topic: str) -> tuple[int, int]:
        count, size = self._queue_limits.get(topic, (-1, -1))
        return (count if count != -1 else self.pull_threshold_for_queue,
                size if size != -1 else self.pull_threshold_size_for_queue)  # fmt: skip

    async def _pull_loop(self, mq: MessageQueue, pq: ProcessQueue, offset: int) -> None:
        next_offset = offset
        while not pq.dropped and self._instance is not None:
            try:
                delay, next_offset = await self._pull_once(mq, pq, next_offset)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("pull of %s failed: %s", mq, exc)
                delay = DELAY_EXCEPTION
            if delay:
                await asyncio.sleep(delay)
        if self._pulls.get(mq) is asyncio.current_task():
            del self._pulls[mq]

    async def _pull_once(self, mq: MessageQueue, pq: ProcessQueue, offset: int
                         ) -> tuple[float, int]:  # fmt: skip
        """One pull; (seconds to wait before the next, next offset)."""
        pq.last_pull_ts = now_ms()
        if self.paused:
            return DELAY_SUSPENDED, offset
        max_count, max_mib = self._thresholds(mq.topic)
        if pq.msg_count > max_count or pq.msg_size > max_mib * 1024 * 1024:
            return DELAY_FLOW_CONTROL, offset
        if not self._orderly:
            if pq.max_span() > self.consume_concurrently_max_span:
                return DELAY_FLOW_CONTROL, offset
        else:
            if not pq.locked:
                return DELAY_EXCEPTION, offset
            if not pq.previously_locked:
                start = await self.compute_pull_from_where(mq)
                if start < 0:
                    return DELAY_EXCEPTION, offset
                offset = start
                pq.previously_locked = True
        sub = self.rebalance.subscriptions.get(mq.topic)
        if sub is None:
            return DELAY_EXCEPTION, offset
        result = await self._pull(mq, sub, offset)
        if pq.dropped:
            return 0, offset
        if result.pull_status is PullStatus.FOUND:
            msgs = filter_by_tags(result.messages, sub.tags)
            if msgs:
                dispatch = pq.put_messages(msgs)
                assert self._service is not None
                self._service.submit(msgs, pq, mq, dispatch)
                return self.pull_interval / 1000, result.next_begin_offset
            return 0, result.next_begin_offset
        if result.pull_status in (PullStatus.NO_NEW_MSG, PullStatus.NO_MATCHED_MSG):
            if pq.msg_count == 0:
                self.offsets.update(mq, result.next_begin_offset, True)
            return 0, result.next_begin_offset
        # OFFSET_ILLEGAL: move to where the broker says, after in-flight work settles.
        log.warning("offset %d of %s illegal, moving to %d", offset, mq,
                    result.next_begin_offset)  # fmt: skip
        pq.dropped = True
        await asyncio.sleep(OFFSET_MOVED_WAIT)
        self.offsets.update(mq, result.next_begin_offset, False)
        await self.offsets.persist(mq)
        if self.rebalance.process_queues.get(mq) is pq:
            del self.rebalance.process_queues[mq]
        return 0, result.next_begin_offset

    async def _pull(self, mq: MessageQueue, sub: Any, offset: int) -> PullResult:
        instance = self.instance
        found = instance.subscribe_addr(mq.broker_name, self._pull_from.get(mq, MASTER_ID))
        if found is None:
            await instance.update_route(mq.topic)
            found = instance.subscribe_addr(mq.broker_name, self._pull_from.get(mq, MASTER_ID))
        if found is None:
            raise ClientError(f"The broker[{mq.broker_name}] not exist")
        addr, slave = found
        commit_offset = 0
        if self.message_model == CLUSTERING:
            commit_offset = await self.offsets.read(mq, ReadOffsetType.MEMORY)
        sys_flag = PULL_FLAG_SUSPEND
        if commit_offset > 0 and not slave:
            sys_flag |= PULL_FLAG_COMMIT_OFFSET
        header = pull_header(self.group, mq, sub, offset, self.pull_batch_size, sys_flag,
                             commit_offset, self.broker_suspend_max_time_millis,
                             self.post_subscription_when_pull)  # fmt: skip
        result = await instance.api.pull(addr, header,
                                         self.consumer_timeout_millis_when_suspend / 1000,
                                         mq.broker_name)  # fmt: skip
        self._pull_from[mq] = result.suggest_which_broker_id
        return result

    # broker asks

    async def consume_directly(self, msg: MessageExt, broker_name: str | None) -> dict[str, Any]:
        assert self._service is not None
        mq = MessageQueue(msg.topic, broker_name or msg.broker_name, msg.queue_id)
        return await self._service.consume_directly(msg, mq)
