"""Send 1000 messages to TopicTest and print each SendResult (Java: quickstart.Producer)."""

import asyncio

from rmq.client import Message, Producer


async def main() -> None:
    async with Producer("please_rename_unique_group_name") as producer:
        for i in range(1000):
            msg = Message("TopicTest", f"Hello RocketMQ {i}".encode(), tags="TagA")
            result = await producer.send(msg)
            print(f"SendResult [sendStatus={result.send_status.value}, msgId={result.msg_id}, "
                  f"offsetMsgId={result.offset_msg_id}, messageQueue={result.message_queue}, "
                  f"queueOffset={result.queue_offset}]", flush=True)  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
