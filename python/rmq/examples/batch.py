"""Batch sends (Java: batch.SimpleBatchProducer and SplitBatchProducer): three messages
as one request, then 10,000 split into batches under 1 MiB.

    python -m rmq.examples.batch
"""

import asyncio

from rmq.client import Message, Producer

TOPIC = "BatchTest"


async def main() -> None:
    async with Producer("BatchProducerGroupName") as producer:
        small = [Message(TOPIC, f"Hello world {i}".encode(), tags="TagA", keys=f"OrderID00{i}")
                 for i in range(3)]  # fmt: skip
        print(await producer.send_batch(small), flush=True)
        many = [Message(TOPIC, f"Hello world {i}".encode(), tags="Tag") for i in range(10_000)]
        results = await producer.send_batches(many)
        print(f"{len(many)} messages in {len(results)} batches", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
