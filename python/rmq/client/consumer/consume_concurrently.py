"""Concurrent consumption (Java: ``ConsumeMessageConcurrentlyService``): pulled messages
are handed to the listener in batches of ``consume_message_batch_max_size``, at most
``consume_thread_max`` at a time; failures go back to the broker for a later retry, and the
committed offset only passes messages that are done."""

import asyncio
import logging
import time
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

from rmq.client.consumer.listener import (
    ConcurrentlyListener,
    ConsumeConcurrentlyContext,
    ConsumeConcurrentlyStatus,
    call_listener,
    consume_directly,
)
from rmq.client.consumer.process_queue import ProcessQueue
from rmq.client.consumer.rebalance import BROADCASTING
from rmq.client.message import MessageExt, MessageQueue
from rmq.common import property_keys as pk

if TYPE_CHECKING:
    from rmq.client.consumer.push import PushConsumer

log = logging.getLogger(__name__)

#: Messages whose send-back failed are consumed again after this long.
RESUBMIT_DELAY: Final = 5.0


class ConcurrentlyService:
    def __init__(self, consumer: "PushConsumer", listener: ConcurrentlyListener) -> None:
        self.consumer = consumer
        self.listener = listener
        self._slots = asyncio.Semaphore(max(1, consumer.consume_thread_max))
        self._executor = ThreadPoolExecutor(
            max(1, consumer.consume_thread_max), thread_name_prefix=f"consume-{consumer.group}"
        )
        self._tasks: set[asyncio.Task[Any]] = set()

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def submit(self, msgs: list[MessageExt], pq: ProcessQueue, mq: MessageQueue,
               dispatch: bool) -> None:  # fmt: skip
        size = max(1, self.consumer.consume_message_batch_max_size)
        for i in range(0, len(msgs), size):
            self._spawn(self._consume(msgs[i : i + size], pq, mq))

    def submit_later(self, msgs: list[MessageExt], pq: ProcessQueue, mq: MessageQueue) -> None:
        async def later() -> None:
            await asyncio.sleep(RESUBMIT_DELAY)
            self.submit(msgs, pq, mq, True)

        self._spawn(later())

    async def _consume(self, msgs: list[MessageExt], pq: ProcessQueue, mq: MessageQueue) -> None:
        async with self._slots:
            if pq.dropped:
                return
            self.consumer.reset_retry_topic(msgs)
            started = str(int(time.time() * 1000))
            for msg in msgs:
                msg.properties[pk.CONSUME_START_TIMESTAMP] = started
            ctx = ConsumeConcurrentlyContext(mq)
            status: Any = None
            try:
                status = await call_listener(self.listener, self._executor, msgs, ctx)
            except Exception:
                log.exception("consume of %d messages from %s raised", len(msgs), mq)
            if not isinstance(status, ConsumeConcurrentlyStatus):
                status = ConsumeConcurrentlyStatus.RECONSUME_LATER
        if not pq.dropped:
            await self._result(status, ctx, msgs, pq, mq)

    async def _result(
        self,
        status: ConsumeConcurrentlyStatus,
        ctx: ConsumeConcurrentlyContext,
        msgs: list[MessageExt],
        pq: ProcessQueue,
        mq: MessageQueue,
    ) -> None:
        if status is ConsumeConcurrentlyStatus.CONSUME_SUCCESS:
            ack = min(ctx.ack_index, len(msgs) - 1)
        else:
            ack = -1
        consumer = self.consumer
        if consumer.message_model == BROADCASTING:
            for msg in msgs[ack + 1 :]:
                log.warning("BROADCASTING, the message consume failed, drop it, %s", msg.msg_id)
        else:
            failed = []
            for msg in msgs[ack + 1 :]:
                if not await consumer.send_message_back(msg, ctx.delay_level_when_next_consume,
                                                        mq.broker_name):  # fmt: skip
                    msg.reconsume_times += 1
                    failed.append(msg)
            if failed:
                kept = {id(m) for m in failed}
                msgs = [m for m in msgs if id(m) not in kept]
                self.submit_later(failed, pq, mq)
        offset = pq.remove_messages(msgs)
        if offset >= 0 and not pq.dropped:
            consumer.offsets.update(mq, offset, True)

    async def consume_directly(self, msg: MessageExt, mq: MessageQueue) -> dict[str, Any]:
        return await consume_directly(
            self.listener, self._executor, msg, ConsumeConcurrentlyContext(mq), False
        )

    async def clean_expired(self, timeout_minutes: int) -> None:
        """Messages stuck in the listener longer than consumeTimeout are sent back and
        released, so one hung message does not hold the queue's offset forever."""
        cutoff = int(time.time() * 1000) - timeout_minutes * 60_000
        consumer = self.consumer
        for mq, pq in list(consumer.rebalance.process_queues.items()):
            for msg in pq.expired_messages(cutoff):
                if await consumer.send_message_back(msg, 3, mq.broker_name):
                    offset = pq.remove_messages([msg])
                    if offset >= 0 and not pq.dropped:
                        consumer.offsets.update(mq, offset, True)

    async def shutdown(self, wait_ms: int) -> None:
        if wait_ms > 0 and self._tasks:
            await asyncio.wait(list(self._tasks), timeout=wait_ms / 1000)
        for task in list(self._tasks):
            task.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)
