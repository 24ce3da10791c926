"""What push and lite-pull consumers share: settings, subscriptions, the client instance,
the offset store, rebalancing, sending failed messages back, and the answers a broker or
mqadmin asks a consumer for (status, running info, offset reset)."""

import asyncio
import datetime
import logging
import time
from typing import Any, Final

from rmq.client.allocate import AllocateAveragely, AllocateStrategy
from rmq.client.api import Subscription
from rmq.client.config import ClientConfig
from rmq.client.consumer.offset_store import (
    LocalOffsetStore,
    OffsetStore,
    ReadOffsetType,
    RemoteOffsetStore,
)
from rmq.client.consumer.rebalance import BROADCASTING, CLUSTERING, Rebalance
from rmq.client.errors import ClientError
from rmq.client.instance import ClientInstance, get_instance
from rmq.client.message import Message, MessageExt, MessageQueue
from rmq.common import property_keys as pk
from rmq.common.codes import RequestCode
from rmq.common.topic import RETRY_GROUP_TOPIC_PREFIX
from rmq.common.version import CURRENT_VERSION

log = logging.getLogger(__name__)

CONSUME_FROM_LAST_OFFSET: Final = "CONSUME_FROM_LAST_OFFSET"
CONSUME_FROM_FIRST_OFFSET: Final = "CONSUME_FROM_FIRST_OFFSET"
CONSUME_FROM_TIMESTAMP: Final = "CONSUME_FROM_TIMESTAMP"
INNER_PRODUCER_GROUP: Final = "CLIENT_INNER_PRODUCER"


def retry_topic(group: str) -> str:
    return RETRY_GROUP_TOPIC_PREFIX + group


def half_hour_ago() -> str:
    """Java's default consumeTimestamp, yyyyMMddHHmmss local time."""
    return (datetime.datetime.now() - datetime.timedelta(minutes=30)).strftime("%Y%m%d%H%M%S")


def parse_timestamp(text: str) -> int:
    return int(datetime.datetime.strptime(text, "%Y%m%d%H%M%S").timestamp() * 1000)


class ConsumerBase:
    consume_type = "CONSUME_PASSIVELY"

    def __init__(
        self,
        group: str,
        *,
        namesrv_addr: str | None = None,
        config: ClientConfig | None = None,
        message_model: str = CLUSTERING,
        consume_from_where: str = CONSUME_FROM_LAST_OFFSET,
        consume_timestamp: str | None = None,
        allocate_strategy: AllocateStrategy | None = None,
        max_reconsume_times: int = -1,
    ) -> None:
        if not group:
            raise ClientError("consumerGroup is null")
        if message_model not in (CLUSTERING, BROADCASTING):
            raise ClientError(f"messageModel is invalid: {message_model}")
        self.group = group
        self.config = config or ClientConfig()
        if namesrv_addr:
            self.config.namesrv_addr = namesrv_addr
        self.message_model = message_model
        self.consume_from_where = consume_from_where
        self.consume_timestamp = consume_timestamp or half_hour_ago()
        self.allocate_strategy = allocate_strategy or AllocateAveragely()
        self.max_reconsume_times = max_reconsume_times
        self._subscriptions: dict[str, Subscription] = {}
        self._instance: ClientInstance | None = None
        self._rebalance: Rebalance | None = None
        self._offsets: OffsetStore | None = None
        self._inner_producer: Any = None
        self._subscribing: asyncio.Future[None] | None = None
        self.started_at = 0

    # subscriptions

    def subscribe(self, topic: str, expression: str = "*", expression_type: str = "TAG") -> None:
        """``expression`` is a tag expression (``"TagA || TagB"``, ``"*"``) or, with
        ``expression_type="SQL92"``, a SQL92 selector."""
        sub = Subscription(topic, expression or "*", expression_type.upper(),
                           int(time.time() * 1000))  # fmt: skip
        self._subscriptions[topic] = sub
        if self._rebalance is not None:
            self._rebalance.subscriptions[topic] = sub
            self._subscribing = asyncio.ensure_future(self._after_subscribe(topic))

    async def _after_subscribe(self, topic: str) -> None:
        await self.instance.update_route(topic)
        await self.instance.send_heartbeat()
        self.instance.rebalance_now()

    def unsubscribe(self, topic: str) -> None:
        self._subscriptions.pop(topic, None)
        if self._rebalance is not None:
            self._rebalance.subscriptions.pop(topic, None)

    def subscriptions(self) -> list[Subscription]:
        return list(self._subscriptions.values())

    # lifecycle

    @property
    def instance(self) -> ClientInstance:
        if self._instance is None:
            raise ClientError("The consumer service state not OK, maybe started once, "
                              "RUNNING or SHUTDOWN (call start() first)")  # fmt: skip
        return self._instance

    @property
    def rebalance(self) -> Rebalance:
        assert self._rebalance is not None
        return self._rebalance

    @property
    def offsets(self) -> OffsetStore:
        assert self._offsets is not None
        return self._offsets

    @property
    def is_order(self) -> bool:
        return False

    def max_reconsume(self) -> int:
        if self.max_reconsume_times == -1:
            return 2**31 - 1 if self.is_order else 16
        return self.max_reconsume_times

    async def _start_base(self, hooks: Any) -> None:
        if self.message_model == CLUSTERING:
            self.config.change_instance_name_to_pid()
            self._subscriptions.setdefault(
                retry_topic(self.group), Subscription(retry_topic(self.group), "*", "TAG",
                                                      int(time.time() * 1000)))  # fmt: skip
        instance = get_instance(self.config)
        self._rebalance = Rebalance(self.group, self.message_model, self.allocate_strategy,
                                    instance, hooks)  # fmt: skip
        self._rebalance.subscriptions.update(self._subscriptions)
        self._offsets = (RemoteOffsetStore(instance, self.group)
                         if self.message_model == CLUSTERING
                         else LocalOffsetStore(instance.client_id, self.group))  # fmt: skip
        self._offsets.load()
        instance.register_consumer(self.group, self)
        self._instance = instance
        self.started_at = int(time.time() * 1000)
        await instance.start()
        for topic in list(self._subscriptions):
            try:
                await instance.update_route(topic)
            except Exception as exc:
                log.info("route of %s not loaded at start: %s", topic, exc)
        await self._check_client_in_broker()
        await instance.send_heartbeat()
        instance.rebalance_now()

    async def _check_client_in_broker(self) -> None:
        """A SQL92 subscription fails at start, as in Java, when the broker cannot filter."""
        for sub in self._subscriptions.values():
            if sub.expression_type == "TAG":
                continue
            addr = self.instance.any_addr(sub.topic)
            if addr is not None:
                await self.instance.api.check_client_config(addr, self.instance.client_id,
                                                            self.group, sub)  # fmt: skip

    async def _shutdown_base(self) -> None:
        instance = self._instance
        if instance is None:
            return
        await self.persist_offsets(oneway=False)
        self._instance = None
        await instance.unregister(consumer_group=self.group)

    # ClientInstance member

    def heartbeat_data(self) -> dict[str, Any]:
        return {
            "groupName": self.group,
            "consumeType": self.consume_type,
            "messageModel": self.message_model,
            "consumeFromWhere": self.consume_from_where,
            "subscriptionDataSet": [s.to_json() for s in self._subscriptions.values()],
            "unitMode": False,
        }

    def update_subscribe_route(self, topic: str, queues: list[MessageQueue]) -> None:
        rebalance = self._rebalance
        if rebalance is not None and topic in self._subscriptions:
            changed = rebalance.topic_queues.get(topic) != queues
            rebalance.topic_queues[topic] = queues
            if changed and self._instance is not None:
                # Java waits for its next 20 s tick; a retry topic created by the first
                # failed message would sit unread that long.
                self._instance.rebalance_now()

    async def do_rebalance(self) -> None:
        if self._rebalance is not None:
            await self._rebalance.do_rebalance(self.is_order)

    async def persist_offsets(self, oneway: bool = True) -> None:
        if self._offsets is not None and self._rebalance is not None:
            await self._offsets.persist_all(set(self._rebalance.process_queues), oneway)

    def offsets_of(self, topic: str) -> dict[MessageQueue, int]:
        if self._offsets is None:
            return {}
        return {q: o for q, o in self._offsets.table.items() if q.topic == topic}

    async def reset_offsets(self, topic: str, offsets: dict[MessageQueue, int]) -> None:
        """The broker's RESET_CONSUMER_CLIENT_OFFSET: stop reading the topic's queues, set
        the new offsets, commit them, and let the rebalance start reading again."""
        rebalance = self.rebalance
        dropped = {mq: pq for mq, pq in rebalance.process_queues.items()
                   if mq.topic == topic and mq in offsets}  # fmt: skip
        for pq in dropped.values():
            pq.dropped = True
            pq.clear()
        await self._await_dropped(list(dropped))
        for mq, offset in offsets.items():
            if mq.topic == topic:
                self.offsets.update(mq, offset, False)
                try:
                    # Answered, not oneway: the rebalance below reads it straight back.
                    await self.offsets.update_to_broker(mq, offset, oneway=False)
                except Exception as exc:
                    log.warning("reset offset of %s not committed: %s", mq, exc)
        for mq in dropped:
            rebalance.process_queues.pop(mq, None)
        await self.do_rebalance()

    async def _await_dropped(self, queues: list[MessageQueue]) -> None:
        """Wait for pulls in flight on dropped queues (push consumers override)."""

    def _process_queue_infos(self) -> dict[MessageQueue, dict[str, Any]]:
        out = {}
        for mq, pq in list(self.rebalance.process_queues.items()):
            out[mq] = pq.info(self.offsets.table.get(mq, -1))
        return out

    def running_info(self) -> dict[str, Any]:
        props = {
            "PROP_NAMESERVER_ADDR": self.config.namesrv_addr or "",
            "PROP_CONSUME_TYPE": self.consume_type,
            "PROP_CONSUMEORDERLY": str(self.is_order).lower(),
            "PROP_THREADPOOL_CORE_SIZE": "-1",
            "PROP_CONSUMER_START_TIMESTAMP": str(self.started_at),
            "PROP_CLIENT_VERSION": f"V{CURRENT_VERSION}",
            "messageModel": self.message_model,
            "consumeFromWhere": self.consume_from_where,
            "language": "PYTHON",
        }
        topics = {s.topic for s in self._subscriptions.values()}
        return {
            "properties": props,
            "subscriptionSet": [s.to_json() for s in self._subscriptions.values()],
            "statusTable": {
                t: {
                    "pullRT": 0.0,
                    "pullTPS": 0.0,
                    "consumeRT": 0.0,
                    "consumeOKTPS": 0.0,
                    "consumeFailedTPS": 0.0,
                    "consumeFailedMsgs": 0,
                }
                for t in sorted(topics)
            },
            "mqTable": self._process_queue_infos(),
            "jstack": "",
        }

    # where to start reading a queue the group has no offset for

    async def compute_pull_from_where(self, mq: MessageQueue) -> int:
        last = await self.offsets.read(mq, ReadOffsetType.STORE)
        if last >= 0:
            return last
        if last != -1:
            return -1
        if self.consume_from_where == CONSUME_FROM_FIRST_OFFSET:
            return 0
        if mq.topic.startswith(RETRY_GROUP_TOPIC_PREFIX):
            if self.consume_from_where == CONSUME_FROM_TIMESTAMP:
                return await self.queue_offset(mq, RequestCode.GET_MAX_OFFSET)
            return 0
        if self.consume_from_where == CONSUME_FROM_TIMESTAMP:
            return await self.queue_offset(mq, RequestCode.SEARCH_OFFSET_BY_TIMESTAMP,
                                           parse_timestamp(self.consume_timestamp))  # fmt: skip
        return await self.queue_offset(mq, RequestCode.GET_MAX_OFFSET)

    async def queue_offset(self, mq: MessageQueue, code: int, timestamp: int | None = None) -> int:
        addr = self.instance.master_addr(mq.broker_name)
        if addr is None:
            await self.instance.update_route(mq.topic)
            addr = self.instance.master_addr(mq.broker_name)
        if addr is None:
            return -1
        try:
            return await self.instance.api.queue_offset(addr, code, mq, timestamp)
        except Exception as exc:
            log.info("offset of %s not readable: %s", mq, exc)
            return -1

    # failed messages

    def reset_retry_topic(self, msgs: list[MessageExt]) -> None:
        """Messages read from the group's retry topic show their original topic."""
        own_retry = retry_topic(self.group)
        for msg in msgs:
            original = msg.properties.get(pk.RETRY_TOPIC)
            if original and msg.topic == own_retry:
                msg.topic = original

    async def _producer(self) -> Any:
        if self._inner_producer is None:
            from rmq.client.producer import Producer

            self._inner_producer = Producer.inner(self.instance, INNER_PRODUCER_GROUP)
        return self._inner_producer

    def _retry_message(self, msg: MessageExt, reconsume_times: int) -> Message:
        props = dict(msg.properties)
        props.setdefault(pk.ORIGIN_MESSAGE_ID, msg.msg_id)
        props[pk.RETRY_TOPIC] = msg.topic
        props[pk.RECONSUME_TIME] = str(reconsume_times)
        props[pk.MAX_RECONSUME_TIMES] = str(self.max_reconsume())
        props.pop(pk.TRANSACTION_PREPARED, None)
        props[pk.DELAY_TIME_LEVEL] = str(3 + msg.reconsume_times)
        for name in (pk.MIN_OFFSET, pk.MAX_OFFSET, pk.CONSUME_START_TIMESTAMP):
            props.pop(name, None)
        return Message(retry_topic(self.group), msg.body, flag=msg.flag, properties=props)

    async def send_message_back(self, msg: MessageExt, delay_level: int, broker_name: str) -> bool:
        """CONSUMER_SEND_MSG_BACK to the broker the message came from; when that fails, a
        plain send to the retry topic (Java's fallback). False when both fail."""
        addr = self.instance.master_addr(broker_name) if broker_name else None
        try:
            await self.instance.api.send_back(addr or msg.store_host, msg, self.group,
                                              delay_level, self.max_reconsume())  # fmt: skip
            return True
        except Exception as exc:
            log.info("send back of %s failed (%s), sending to the retry topic", msg.msg_id, exc)
        try:
            producer = await self._producer()
            await producer.send(self._retry_message(msg, msg.reconsume_times + 1))
            return True
        except Exception as exc:
            log.warning("retry of %s not sent: %s", msg.msg_id, exc)
            return False

    async def send_back_orderly(self, msg: MessageExt) -> bool:
        """An orderly message over its reconsume limit goes to the retry topic with its
        reconsume count, where the broker dead-letters it (Java's orderly rule)."""
        try:
            producer = await self._producer()
            await producer.send(self._retry_message(msg, msg.reconsume_times))
            return True
        except Exception as exc:
            log.warning("orderly send back of %s failed: %s", msg.msg_id, exc)
            return False

    async def consume_directly(self, msg: MessageExt, broker_name: str | None) -> dict[str, Any]:
        raise NotImplementedError
