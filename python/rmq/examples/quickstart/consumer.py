"""Consume TopicTest from the first offset and print what arrives (Java: quickstart.Consumer)."""

import asyncio

from rmq.client import (
    CONSUME_FROM_FIRST_OFFSET,
    ConsumeConcurrentlyContext,
    ConsumeConcurrentlyStatus,
    MessageExt,
    PushConsumer,
)
from rmq.examples._common import Counter, consumer_args, describe, say


async def main() -> None:
    args = consumer_args(__doc__ or "")
    counter = Counter(args)
    consumer = PushConsumer("please_rename_unique_group_name_4",
                            consume_from_where=CONSUME_FROM_FIRST_OFFSET)  # fmt: skip
    consumer.subscribe("TopicTest", "*")

    def on_messages(msgs: list[MessageExt], ctx: ConsumeConcurrentlyContext
                    ) -> ConsumeConcurrentlyStatus:  # fmt: skip
        for msg in msgs:
            say(f"Receive New Messages: {describe(msg)}")
        counter.add(len(msgs))
        return ConsumeConcurrentlyStatus.CONSUME_SUCCESS

    consumer.register_message_listener(on_messages)
    await counter.run(consumer, "Consumer Started.")


if __name__ == "__main__":
    asyncio.run(main())
