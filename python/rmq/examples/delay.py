"""Scheduled messages (Java: schedule.ScheduledMessageProducer): ``producer`` sends ten
messages at delay level 3 (10 s by default); ``consumer`` prints how late each arrived.

    python -m rmq.examples.delay producer
    python -m rmq.examples.delay consumer --count 10
"""

import asyncio
import sys
import time

from rmq.client import (
    ConsumeConcurrentlyContext,
    ConsumeConcurrentlyStatus,
    Message,
    MessageExt,
    Producer,
    PushConsumer,
)
from rmq.examples._common import Counter, consumer_args, say

TOPIC = "TopicTestDelay"


async def produce() -> None:
    async with Producer("delay_producer_group") as producer:
        for i in range(10):
            msg = Message(TOPIC, f"Hello scheduled message {i}".encode(), delay_time_level=3)
            result = await producer.send(msg)
            say(f"{result.msg_id} {result.send_status.value}")


async def consume() -> None:
    sys.argv = sys.argv[:1] + sys.argv[2:]
    counter = Counter(consumer_args(__doc__ or ""))
    consumer = PushConsumer("delay_consumer_group")
    consumer.subscribe(TOPIC, "*")

    def on_messages(msgs: list[MessageExt], ctx: ConsumeConcurrentlyContext
                    ) -> ConsumeConcurrentlyStatus:  # fmt: skip
        for msg in msgs:
            late = int(time.time() * 1000) - msg.born_timestamp
            say(f"Receive message[msgId={msg.msg_id}] {late} ms later")
        counter.add(len(msgs))
        return ConsumeConcurrentlyStatus.CONSUME_SUCCESS

    consumer.register_message_listener(on_messages)
    await counter.run(consumer)


if __name__ == "__main__":
    asyncio.run(consume() if sys.argv[1:2] == ["consumer"] else produce())
