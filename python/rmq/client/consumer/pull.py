"""The plain pull consumer (Java: ``DefaultMQPullConsumer``): the application picks the
queue and the offset of every pull and stores offsets itself (or with
``update_consume_offset``, which the consumer commits to the broker)."""

import time
from typing import Any

from rmq.client.api import PULL_FLAG_SUSPEND, Subscription, pull_header
from rmq.client.consumer.base import ConsumerBase
from rmq.client.consumer.offset_store import ReadOffsetType
from rmq.client.consumer.process_queue import ProcessQueue
from rmq.client.consumer.push import filter_by_tags
from rmq.client.errors import ClientError
from rmq.client.message import MessageExt, MessageQueue, PullResult
from rmq.common.codes import RequestCode


class PullConsumer(ConsumerBase):
    consume_type = "CONSUME_ACTIVELY"

    def __init__(self, group: str, *, consumer_pull_timeout_millis: int = 10_000,
                 broker_suspend_max_time_millis: int = 20_000,
                 consumer_timeout_millis_when_suspend: int = 30_000,
                 **options: Any) -> None:  # fmt: skip
        super().__init__(group, **options)
        self.consumer_pull_timeout_millis = consumer_pull_timeout_millis
        self.broker_suspend_max_time_millis = broker_suspend_max_time_millis
        self.consumer_timeout_millis_when_suspend = consumer_timeout_millis_when_suspend
        self._used: set[MessageQueue] = set()

    async def start(self) -> None:
        if self._instance is None:
            await self._start_base(self)

    async def shutdown(self) -> None:
        await self._shutdown_base()

    async def __aenter__(self) -> "PullConsumer":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()

    # no rebalance: the application chooses its queues

    async def do_rebalance(self) -> None:
        return None

    async def remove_unnecessary(self, mq: MessageQueue, pq: ProcessQueue) -> bool:
        return True

    def dispatch_pull(self, mq: MessageQueue, pq: ProcessQueue, offset: int) -> None:
        return None

    def queues_changed(self, topic: str, all_queues: list[MessageQueue],
                       mine: list[MessageQueue]) -> None:  # fmt: skip
        return None

    async def persist_offsets(self, oneway: bool = True) -> None:
        if self._offsets is not None:
            await self._offsets.persist_all(set(self._used), oneway)

    async def fetch_subscribe_message_queues(self, topic: str) -> list[MessageQueue]:
        route = await self.instance.update_route(topic)
        if route is None:
            raise ClientError(f"Can not find Message Queue for this topic, {topic}")
        return route.subscribe_queues()

    async def _pull(
        self,
        mq: MessageQueue,
        expression: str,
        offset: int,
        max_nums: int,
        block: bool,
        timeout_ms: int | None,
        expression_type: str,
    ) -> PullResult:
        if offset < 0:
            raise ClientError("offset < 0")
        if max_nums <= 0:
            raise ClientError("maxNums <= 0")
        sub = Subscription(mq.topic, expression or "*", expression_type, int(time.time() * 1000))
        found = self.instance.subscribe_addr(mq.broker_name)
        if found is None:
            await self.instance.update_route(mq.topic)
            found = self.instance.subscribe_addr(mq.broker_name)
        if found is None:
            raise ClientError(f"The broker[{mq.broker_name}] not exist")
        self._used.add(mq)
        header = pull_header(self.group, mq, sub, offset, max_nums,
                             PULL_FLAG_SUSPEND if block else 0, 0,
                             self.broker_suspend_max_time_millis)  # fmt: skip
        timeout = timeout_ms or (self.consumer_timeout_millis_when_suspend if block
                                 else self.consumer_pull_timeout_millis)  # fmt: skip
        result = await self.instance.api.pull(found[0], header, timeout / 1000, mq.broker_name)
        msgs = filter_by_tags(result.messages, sub.tags)
        if len(msgs) == len(result.messages):
            return result
        return PullResult(result.pull_status, result.next_begin_offset, result.min_offset,
                          result.max_offset, msgs, result.suggest_which_broker_id)  # fmt: skip

    async def pull(
        self,
        mq: MessageQueue,
        expression: str,
        offset: int,
        max_nums: int,
        timeout: int | None = None,
        expression_type: str = "TAG",
    ) -> PullResult:
        """Whatever is there now (NO_NEW_MSG at once if nothing)."""
        return await self._pull(mq, expression, offset, max_nums, False, timeout, expression_type)

    async def pull_block_if_not_found(self, mq: MessageQueue, expression: str, offset: int,
                                      max_nums: int, expression_type: str = "TAG"
                                      ) -> PullResult:  # fmt: skip
        """Long poll: the broker holds the request until messages arrive or
        ``broker_suspend_max_time_millis`` passes."""
        return await self._pull(mq, expression, offset, max_nums, True, None, expression_type)

    async def update_consume_offset(self, mq: MessageQueue, offset: int) -> None:
        self._used.add(mq)
        self.offsets.update(mq, offset, False)

    async def fetch_consume_offset(self, mq: MessageQueue, from_store: bool = True) -> int:
        how = ReadOffsetType.STORE if from_store else ReadOffsetType.MEMORY_FIRST_THEN_STORE
        return await self.offsets.read(mq, how)

    async def min_offset(self, mq: MessageQueue) -> int:
        return await self.queue_offset(mq, RequestCode.GET_MIN_OFFSET)

    async def max_offset(self, mq: MessageQueue) -> int:
        return await self.queue_offset(mq, RequestCode.GET_MAX_OFFSET)

    async def search_offset(self, mq: MessageQueue, timestamp: int) -> int:
        return await self.queue_offset(mq, RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, timestamp)

    async def send_back(self, msg: MessageExt, delay_level: int,
                        broker_name: str | None = None) -> bool:  # fmt: skip
        return await self.send_message_back(msg, delay_level, broker_name or msg.broker_name)

    async def consume_directly(self, msg: MessageExt, broker_name: str | None) -> dict[str, Any]:
        return {"order": False, "autoCommit": True, "consumeResult": "CR_RETURN_NULL",
                "remark": "a pull consumer has no listener", "spentTimeMills": 0}  # fmt: skip
