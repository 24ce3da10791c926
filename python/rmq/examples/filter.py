"""SQL92 filtering (Java: filter.SqlFilterProducer/Consumer): ``producer`` sends ten
messages with a user property ``a`` = 0..9; ``consumer`` takes only
``TAGS is not null and TAGS in ('TagA', 'TagB') and (a between 0 and 3)``. The broker
needs ``enablePropertyFilter=true``.

    python -m rmq.examples.filter producer
    python -m rmq.examples.filter consumer --count 4
"""

import asyncio
import sys

from rmq.client import (
    CONSUME_FROM_FIRST_OFFSET,
    ConsumeConcurrentlyContext,
    ConsumeConcurrentlyStatus,
    Message,
    MessageExt,
    Producer,
    PushConsumer,
)
from rmq.examples._common import Counter, consumer_args, describe, say

TOPIC = "SqlFilterTest"
SELECTOR = "TAGS is not null and TAGS in ('TagA', 'TagB') and (a between 0 and 3)"


async def produce() -> None:
    async with Producer("please_rename_unique_group_name") as producer:
        for i in range(10):
            msg = Message(
                TOPIC, f"Hello RocketMQ {i}".encode(), tags=("TagA", "TagB", "TagC")[i % 3]
            )
            msg.put_user_property("a", str(i))
            result = await producer.send(msg)
            say(f"{result.msg_id} a={i} {result.send_status.value}")


async def consume() -> None:
    sys.argv = sys.argv[:1] + sys.argv[2:]
    counter = Counter(consumer_args(__doc__ or ""))
    consumer = PushConsumer("please_rename_unique_group_name_sql",
                            consume_from_where=CONSUME_FROM_FIRST_OFFSET)  # fmt: skip
    consumer.subscribe(TOPIC, SELECTOR, "SQL92")

    def on_messages(msgs: list[MessageExt], ctx: ConsumeConcurrentlyContext
                    ) -> ConsumeConcurrentlyStatus:  # fmt: skip
        for msg in msgs:
            say(f"Receive: {describe(msg)} a={msg.user_property('a')}")
        counter.add(len(msgs))
        return ConsumeConcurrentlyStatus.CONSUME_SUCCESS

    consumer.register_message_listener(on_messages)
    await counter.run(consumer)


if __name__ == "__main__":
    asyncio.run(consume() if sys.argv[1:2] == ["consumer"] else produce())
