"""Transactional messages (Java: transaction.TransactionProducer): of ten half messages,
the local transaction commits every third, rolls back the next, and leaves the rest
unknown, which the broker's check-back then commits.

    python -m rmq.examples.transaction
"""

import asyncio

from rmq.client import LocalTransactionState, Message, MessageExt, TransactionProducer

TOPIC = "TopicTestTransaction"


class Listener:
    def execute_local_transaction(self, msg: Message, arg: object) -> LocalTransactionState:
        i = int(msg.body.split()[-1])
        if i % 3 == 0:
            return LocalTransactionState.COMMIT_MESSAGE
        if i % 3 == 1:
            return LocalTransactionState.ROLLBACK_MESSAGE
        return LocalTransactionState.UNKNOW

    def check_local_transaction(self, msg: MessageExt) -> LocalTransactionState:
        print(f"check-back for {msg.msg_id}: commit", flush=True)
        return LocalTransactionState.COMMIT_MESSAGE


async def main() -> None:
    async with TransactionProducer("please_rename_unique_group_name", Listener()) as producer:
        for i in range(10):
            result = await producer.send_message_in_transaction(
                Message(TOPIC, f"Hello RocketMQ {i}".encode(), tags="TagA")
            )
            print(f"{result.msg_id} {result.send_status.value} "
                  f"{result.local_transaction_state.value}", flush=True)  # fmt: skip
        # Stay up for the broker's first check-back (transactionTimeOut, 6 s by default).
        await asyncio.sleep(70)


if __name__ == "__main__":
    asyncio.run(main())
