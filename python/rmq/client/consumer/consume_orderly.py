"""Orderly consumption (Java: ``ConsumeMessageOrderlyService``): one queue's messages go to
the listener one batch at a time, in queue order, and only while this consumer holds the
queue's broker lock. A batch the listener suspends is retried in place after a pause;
past ``max_reconsume_times`` it is sent to the retry topic, which dead-letters it."""

import asyncio
import logging
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

from rmq.client.consumer.listener import (
    ConsumeOrderlyContext,
    ConsumeOrderlyStatus,
    OrderlyListener,
    call_listener,
    consume_directly,
)
from rmq.client.consumer.process_queue import ProcessQueue
from rmq.client.consumer.rebalance import BROADCASTING, CLUSTERING
from rmq.client.message import MessageExt, MessageQueue
from rmq.common import property_keys as pk

if TYPE_CHECKING:
    from rmq.client.consumer.push import PushConsumer

log = logging.getLogger(__name__)

#: One consume task yields its queue after this long so others get the thread.
MAX_TIME_CONSUME_CONTINUOUSLY: Final = 60.0
#: How often every held queue's broker lock is renewed (Java REBALANCE_LOCK_INTERVAL).
LOCK_RENEW_INTERVAL: Final = 20.0
#: A queue given up with messages still cached is unlocked this much later (Java's
#: UNLOCK_DELAY_TIME_MILLS): its offset commit reaches the broker before the next owner.
UNLOCK_DELAY: Final = 20.0


class OrderlyService:
    def __init__(self, consumer: "PushConsumer", listener: OrderlyListener) -> None:
        self.consumer = consumer
        self.listener = listener
        self._executor = ThreadPoolExecutor(
            max(1, consumer.consume_thread_max), thread_name_prefix=f"orderly-{consumer.group}"
        )
        self._queue_locks: dict[MessageQueue, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: set[asyncio.Task[Any]] = set()
        #: queues given up with messages still cached, unlocked after UNLOCK_DELAY
        self._unlock_pending: set[MessageQueue] = set()
        self.stopped = False

    def _spawn(self, delay: float, pq: ProcessQueue, mq: MessageQueue) -> None:
        task = asyncio.ensure_future(self._run(pq, mq, delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def start(self) -> None:
        if self.consumer.message_model == CLUSTERING:
            task = asyncio.ensure_future(self._renew_locks())
            self._tasks.add(task)

    async def _renew_locks(self) -> None:
        await asyncio.sleep(1.0)
        while not self.stopped:
            await self.consumer.rebalance.lock_all()
            await asyncio.sleep(LOCK_RENEW_INTERVAL)

    def submit(self, msgs: list[MessageExt], pq: ProcessQueue, mq: MessageQueue,
               dispatch: bool) -> None:  # fmt: skip
        if dispatch:
            self._spawn(0, pq, mq)

    def _later(self, pq: ProcessQueue, mq: MessageQueue, delay_ms: int) -> None:
        self._spawn(max(10, delay_ms) / 1000, pq, mq)

    def _lock_later(self, pq: ProcessQueue, mq: MessageQueue, delay_ms: int) -> None:
        async def relock() -> None:
            await asyncio.sleep(delay_ms / 1000)
            if pq.dropped or self.stopped:
                return
            ok = await self.consumer.rebalance.lock(mq)
            self._later(pq, mq, 10 if ok else 3000)

        task = asyncio.ensure_future(relock())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, pq: ProcessQueue, mq: MessageQueue, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        consumer = self.consumer
        clustering = consumer.message_model == CLUSTERING
        async with self._queue_locks[mq]:
            if not (consumer.message_model == BROADCASTING
                    or (pq.locked and not pq.is_lock_expired())):  # fmt: skip
                if not pq.dropped:
                    self._lock_later(pq, mq, 100)
                return
            began = time.monotonic()
            while not pq.dropped and not self.stopped:
                if clustering and (not pq.locked or pq.is_lock_expired()):
                    self._lock_later(pq, mq, 10)
                    return
                if time.monotonic() - began > MAX_TIME_CONSUME_CONTINUOUSLY:
                    self._later(pq, mq, 10)
                    return
                msgs = pq.take_messages(max(1, consumer.consume_message_batch_max_size))
                if not msgs:
                    return
                consumer.reset_retry_topic(msgs)
                ctx = ConsumeOrderlyContext(mq)
                status: Any = None
                async with pq.consume_lock:
                    if pq.dropped:
                        return
                    try:
                        status = await call_listener(self.listener, self._executor, msgs, ctx)
                    except Exception:
                        log.exception("orderly consume of %d messages from %s raised",
                                      len(msgs), mq)  # fmt: skip
                if not isinstance(status, ConsumeOrderlyStatus):
                    status = ConsumeOrderlyStatus.SUSPEND_CURRENT_QUEUE_A_MOMENT
                if not await self._result(msgs, status, ctx, pq, mq):
                    return

    async def _result(self, msgs: list[MessageExt], status: ConsumeOrderlyStatus,
                      ctx: ConsumeOrderlyContext, pq: ProcessQueue,
                      mq: MessageQueue) -> bool:  # fmt: skip
        """Commit or suspend; True to go on with the next batch."""
        go_on = True
        commit = -1
        if status is ConsumeOrderlyStatus.SUCCESS:
            commit = pq.commit()
        elif await self._over_limit_or_suspend(msgs):
            pq.make_to_consume_again(msgs)
            pause = ctx.suspend_current_queue_time_millis
            self._later(pq, mq, pause if pause > 0 else
                        self.consumer.suspend_current_queue_time_millis)  # fmt: skip
            go_on = False
        else:
            commit = pq.commit()
        if commit >= 0 and not pq.dropped:
            self.consumer.offsets.update(mq, commit, False)
        return go_on

    async def _over_limit_or_suspend(self, msgs: list[MessageExt]) -> bool:
        """True to suspend; messages past the limit are sent on to be dead-lettered."""
        suspend = False
        limit = self.consumer.max_reconsume()
        for msg in msgs:
            if msg.reconsume_times >= limit:
                msg.properties[pk.RECONSUME_TIME] = str(msg.reconsume_times)
                if not await self.consumer.send_back_orderly(msg):
                    suspend = True
                    msg.reconsume_times += 1
            else:
                suspend = True
                msg.reconsume_times += 1
        return suspend

    async def release(self, mq: MessageQueue, pq: ProcessQueue) -> bool:
        """Give up a queue in a rebalance: only between batches, then unlock it on the
        broker (after a pause if messages were still cached, as Java does)."""
        try:
            async with asyncio.timeout(1.0):
                await pq.consume_lock.acquire()
        except TimeoutError:
            pq.try_unlock_times += 1
            log.info("%s still consuming, not released yet", mq)
            return False
        try:
            rebalance = self.consumer.rebalance
            if pq.has_temp_message():
                self._unlock_pending.add(mq)

                async def unlock_later() -> None:
                    await asyncio.sleep(UNLOCK_DELAY)
                    if mq in self._unlock_pending:
                        self._unlock_pending.discard(mq)
                        await rebalance.unlock(mq)

                task = asyncio.ensure_future(unlock_later())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            else:
                await rebalance.unlock(mq)
        finally:
            pq.consume_lock.release()
        return True

    async def unlock_released_now(self) -> None:
        """At shutdown: the delayed unlocks happen now, or the broker would keep those
        queues from every other member until its own lock expiry (60 s)."""
        pending, self._unlock_pending = self._unlock_pending, set()
        for mq in pending:
            await self.consumer.rebalance.unlock(mq)

    async def consume_directly(self, msg: MessageExt, mq: MessageQueue) -> dict[str, Any]:
        return await consume_directly(
            self.listener, self._executor, msg, ConsumeOrderlyContext(mq), True
        )

    async def shutdown(self, wait_ms: int) -> None:
        self.stopped = True
        if wait_ms > 0 and self._tasks:
            await asyncio.wait(list(self._tasks), timeout=wait_ms / 1000)
        for task in list(self._tasks):
            task.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)
