"""Broadcast consumption (Java: broadcast.PushConsumer): every consumer of the group gets
every message; progress is kept in a local file per consumer.

    python -m rmq.examples.broadcast --count 1000
"""

import asyncio

from rmq.client import (
    BROADCASTING,
    CONSUME_FROM_FIRST_OFFSET,
    ConsumeConcurrentlyContext,
    ConsumeConcurrentlyStatus,
    MessageExt,
    PushConsumer,
)
from rmq.examples._common import Counter, consumer_args, describe, say


async def main() -> None:
    counter = Counter(consumer_args(__doc__ or ""))
    consumer = PushConsumer("please_rename_unique_group_name_1", message_model=BROADCASTING,
                            consume_from_where=CONSUME_FROM_FIRST_OFFSET)  # fmt: skip
    consumer.subscribe("TopicTest", "TagA || TagC || TagD")

    def on_messages(msgs: list[MessageExt], ctx: ConsumeConcurrentlyContext
                    ) -> ConsumeConcurrentlyStatus:  # fmt: skip
        for msg in msgs:
            say(f"Receive New Messages: {describe(msg)}")
        counter.add(len(msgs))
        return ConsumeConcurrentlyStatus.CONSUME_SUCCESS

    consumer.register_message_listener(on_messages)
    await counter.run(consumer, "Broadcast Consumer Started.")


if __name__ == "__main__":
    asyncio.run(main())
