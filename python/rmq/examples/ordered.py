"""Ordered messages (Java: ordermessage): ``producer`` sends ten orders' steps, each order's
steps to one queue chosen by order id; ``consumer`` reads each queue in order.

    python -m rmq.examples.ordered producer
    python -m rmq.examples.ordered consumer --count 30
"""

import asyncio
import sys
from typing import Any

from rmq.client import (
    CONSUME_FROM_FIRST_OFFSET,
    ConsumeOrderlyContext,
    ConsumeOrderlyStatus,
    Message,
    MessageExt,
    MessageQueue,
    Producer,
    PushConsumer,
)
from rmq.examples._common import Counter, consumer_args, describe, say

TOPIC = "TopicTestOrdered"
STEPS = ("created", "paid", "shipped")


def by_order_id(queues: list[MessageQueue], msg: Message, order_id: Any) -> MessageQueue:
    return queues[int(order_id) % len(queues)]


async def produce() -> None:
    async with Producer("ordered_producer_group") as producer:
        for step in STEPS:
            for order_id in range(10):
                msg = Message(TOPIC, f"order {order_id} {step}".encode(), tags=step,
                              keys=f"order-{order_id}")  # fmt: skip
                result = await producer.send(msg, selector=by_order_id, arg=order_id)
                print(f"order {order_id} {step} -> queue {result.message_queue.queue_id} "
                      f"offset {result.queue_offset}", flush=True)  # fmt: skip


async def consume() -> None:
    sys.argv = sys.argv[:1] + sys.argv[2:]
    counter = Counter(consumer_args(__doc__ or ""))
    consumer = PushConsumer("ordered_consumer_group", consume_from_where=CONSUME_FROM_FIRST_OFFSET)
    consumer.subscribe(TOPIC, " || ".join(STEPS))

    def on_messages(msgs: list[MessageExt], ctx: ConsumeOrderlyContext) -> ConsumeOrderlyStatus:
        for msg in msgs:
            say(f"Receive: {describe(msg)}")
        counter.add(len(msgs))
        return ConsumeOrderlyStatus.SUCCESS

    consumer.register_message_listener_orderly(on_messages)
    await counter.run(consumer)


if __name__ == "__main__":
    asyncio.run(consume() if sys.argv[1:2] == ["consumer"] else produce())
