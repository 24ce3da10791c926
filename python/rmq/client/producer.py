"""The producer (Java: ``DefaultMQProducer``): sync, async, oneway and batch sends, to a
queue of its choosing, a queue picked by a selector, or round robin with retries that move
to another broker, as RocketMQ's own producer does."""

import asyncio
import logging
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, Protocol

from rmq.client.api import send_header
from rmq.client.config import ClientConfig
from rmq.client.errors import BrokerError, ClientError
from rmq.client.fault import LatencyFaultTolerance, QueueSelector
from rmq.client.instance import ClientInstance, get_instance
from rmq.client.message import Message, MessageExt, MessageQueue, SendResult, SendStatus
from rmq.client.route import TopicRoute
from rmq.client.unique_id import UniqueIdGenerator
from rmq.common import property_keys as pk
from rmq.common.batch import BatchElement, encode_batch
from rmq.common.codes import ResponseCode
from rmq.common.message import encode_properties
from rmq.common.topic import (
    AUTO_CREATE_TOPIC_KEY_TOPIC,
    RETRY_GROUP_TOPIC_PREFIX,
    SCHEDULE_TOPIC,
    TRANS_CHECK_MAX_TIME_TOPIC,
    TRANS_HALF_TOPIC,
    TRANS_OP_HALF_TOPIC,
    InvalidTopicName,
    validate_topic,
)
from rmq.remoting.errors import RemotingError

log = logging.getLogger(__name__)

DEFAULT_PRODUCER_GROUP: Final = "DEFAULT_PRODUCER"
MAX_MESSAGE_SIZE: Final = 4 * 1024 * 1024
#: Java's ListSplitter example limit: a batch stays well under the broker's frame limit.
BATCH_SIZE_LIMIT: Final = 1024 * 1024
#: Broker answers after which a sync send tries again (on another broker).
RETRY_RESPONSE_CODES: Final = frozenset({
    ResponseCode.TOPIC_NOT_EXIST, ResponseCode.SERVICE_NOT_AVAILABLE, ResponseCode.SYSTEM_ERROR,
    ResponseCode.NO_PERMISSION, ResponseCode.NO_BUYER_ID, ResponseCode.NOT_IN_CURRENT_UNIT,
})  # fmt: skip
NOT_ALLOWED_SEND_TOPICS: Final = frozenset({SCHEDULE_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC,
                                            TRANS_CHECK_MAX_TIME_TOPIC})  # fmt: skip

MessageQueueSelector = Callable[[list[MessageQueue], Message, Any], MessageQueue]


class SendCallback(Protocol):
    """What an async send reports to (Java: ``SendCallback``)."""

    def on_success(self, result: SendResult) -> None: ...

    def on_exception(self, exc: BaseException) -> None: ...


def validate_message(msg: Message, max_size: int) -> None:
    """Java's ``Validators.checkMessage``: the same refusals, with MESSAGE_ILLEGAL."""
    try:
        validate_topic(msg.topic)
    except InvalidTopicName as exc:
        raise ClientError(str(exc), ResponseCode.MESSAGE_ILLEGAL) from None
    if msg.topic in NOT_ALLOWED_SEND_TOPICS:
        raise ClientError(f"Sending message to topic[{msg.topic}] is forbidden.",
                          ResponseCode.NO_PERMISSION)  # fmt: skip
    if msg.body is None:
        raise ClientError("the message body is null", ResponseCode.MESSAGE_ILLEGAL)
    if len(msg.body) == 0:
        raise ClientError("the message body length is zero", ResponseCode.MESSAGE_ILLEGAL)
    if len(msg.body) > max_size:
        raise ClientError(f"the message body size over max value, MAX: {max_size}",
                          ResponseCode.MESSAGE_ILLEGAL)  # fmt: skip


def vip_addr(addr: str) -> str:
    """The broker's VIP channel, two ports below its main one (Java MixAll.brokerVIPChannel),
    where Apache brokers take producer traffic apart from consumers' long polls."""
    host, _, port = addr.rpartition(":")
    return f"{host}:{int(port) - 2}" if port.isdigit() else addr


def split_batch(messages: Sequence[Message], limit: int = BATCH_SIZE_LIMIT) -> list[list[Message]]:
    """Consecutive runs of messages whose encoded batch stays under ``limit`` bytes (Java's
    ListSplitter, with the same per-message overhead estimate)."""
    out: list[list[Message]] = []
    current: list[Message] = []
    size = 0
    for msg in messages:
        props = sum(len(k) + len(v) for k, v in msg.properties.items())
        one = len(msg.topic) + len(msg.body) + props + 20
        if current and size + one > limit:
            out.append(current)
            current, size = [], 0
        current.append(msg)
        size += one
    if current:
        out.append(current)
    return out


class Producer:
    """Send messages. Use ``async with Producer(...)`` or ``await start()``/``shutdown()``.

    Options keep Java's names in snake_case; times are milliseconds."""

    def __init__(
        self,
        group: str = DEFAULT_PRODUCER_GROUP,
        *,
        namesrv_addr: str | None = None,
        config: ClientConfig | None = None,
        send_msg_timeout: int = 3000,
        compress_msg_body_over_howmuch: int = 4096,
        compress_level: int = 5,
        retry_times_when_send_failed: int = 2,
        retry_times_when_send_async_failed: int = 2,
        retry_another_broker_when_not_store_ok: bool = False,
        max_message_size: int = MAX_MESSAGE_SIZE,
        default_topic_queue_nums: int = 4,
        create_topic_key: str = AUTO_CREATE_TOPIC_KEY_TOPIC,
        send_latency_fault_enable: bool = False,
    ) -> None:
        self.group = group
        self.config = config or ClientConfig()
        if namesrv_addr:
            self.config.namesrv_addr = namesrv_addr
        self.send_msg_timeout = send_msg_timeout
        self.compress_msg_body_over_howmuch = compress_msg_body_over_howmuch
        self.compress_level = compress_level
        self.retry_times_when_send_failed = retry_times_when_send_failed
        self.retry_times_when_send_async_failed = retry_times_when_send_async_failed
        self.retry_another_broker_when_not_store_ok = retry_another_broker_when_not_store_ok
        self.max_message_size = max_message_size
        self.default_topic_queue_nums = default_topic_queue_nums
        self.create_topic_key = create_topic_key
        self.send_latency_fault_enable = send_latency_fault_enable
        self.faults = LatencyFaultTolerance()
        self._publish: dict[str, QueueSelector] = {}
        self._instance: ClientInstance | None = None
        self._ids: UniqueIdGenerator | None = None
        self._pending: set[asyncio.Task[Any]] = set()

    # lifecycle

    async def start(self) -> None:
        if self._instance is not None:
            return
        if self.group != "CLIENT_INNER_PRODUCER":
            self.config.change_instance_name_to_pid()
        instance = get_instance(self.config)
        instance.register_producer(self.group, self)
        self._instance = instance
        self._ids = UniqueIdGenerator(self.config.client_ip)
        await instance.start()

    @classmethod
    def inner(cls, instance: ClientInstance, group: str) -> "Producer":
        """A producer on ``instance`` that brokers never see in heartbeats: consumers use
        one to resend failed messages to their retry topic."""
        producer = cls(group, config=instance.config)
        producer._instance = instance
        producer._ids = UniqueIdGenerator(instance.config.client_ip)
        return producer

    async def shutdown(self) -> None:
        instance = self._instance
        if instance is None:
            return
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=self.send_msg_timeout / 1000)
        self._instance = None
        await instance.unregister(producer_group=self.group)

    async def __aenter__(self) -> "Producer":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()

    @property
    def instance(self) -> ClientInstance:
        if self._instance is None:
            raise ClientError("The producer service state not OK, maybe started once, "
                              "RUNNING or SHUTDOWN (call start() first)")  # fmt: skip
        return self._instance

    # ClientInstance member

    def publish_topics(self) -> list[str]:
        return list(self._publish)

    def update_publish_route(self, topic: str, route: TopicRoute) -> None:
        if topic in self._publish:
            queues = route.publish_queues()
            if queues:
                self._publish[topic] = QueueSelector(queues)

    def check_transaction_state(self, addr: str, msg: MessageExt, header: dict[str, str]) -> None:
        log.info("producer %s is not transactional; check-back of %s ignored", self.group,
                 msg.msg_id)  # fmt: skip

    # routes

    async def _publish_info(self, topic: str) -> QueueSelector:
        selector = self._publish.get(topic)
        if selector is not None and selector.queues:
            return selector
        self._publish.setdefault(topic, QueueSelector([]))
        route = await self.instance.update_route(topic)
        if route is not None:
            self.update_publish_route(topic, route)
        selector = self._publish[topic]
        if selector.queues:
            return selector
        default = await self.instance.update_route(topic, default=True)
        if default is not None:
            queues = default.as_topic(topic, self.default_topic_queue_nums).publish_queues()
            if queues:
                selector = self._publish[topic] = QueueSelector(queues)
                return selector
        raise ClientError(f"No route info of this topic: {topic}", ResponseCode.TOPIC_NOT_EXIST)

    async def fetch_publish_message_queues(self, topic: str) -> list[MessageQueue]:
        """The topic's writable queues, asked of the NameServer now (as Java does); for a
        topic it does not know yet, the queues a first send would create."""
        self._publish.setdefault(topic, QueueSelector([]))
        route = await self.instance.update_route(topic)
        if route is not None:
            self.update_publish_route(topic, route)
        return list((await self._publish_info(topic)).queues)

    def _select(self, selector: QueueSelector, last_broker: str | None) -> MessageQueue:
        if self.send_latency_fault_enable:
            return selector.select_avoiding(self.faults, last_broker)
        return selector.select(last_broker)

    def _fault(self, broker: str, latency_ms: float, isolation: bool) -> None:
        if self.send_latency_fault_enable:
            self.faults.update(broker, latency_ms, isolation)

    # the kernel: one attempt at one queue

    async def _addr(self, mq: MessageQueue, topic: str) -> str:
        addr = self.instance.master_addr(mq.broker_name)
        if addr is None:
            await self.instance.update_route(topic)
            addr = self.instance.master_addr(mq.broker_name)
        if addr is None:
            raise ClientError(f"The broker[{mq.broker_name}] not exist")
        return vip_addr(addr) if self.config.vip_channel_enabled else addr

    def _prepare(self, msg: Message) -> tuple[bytes, int]:
        """(body on the wire, sysFlag) for one message; sets its UNIQ_KEY."""
        if pk.UNIQ_CLIENT_MESSAGE_ID_KEYIDX not in msg.properties:
            assert self._ids is not None
            msg.properties[pk.UNIQ_CLIENT_MESSAGE_ID_KEYIDX] = self._ids.next_id()
        body, sys_flag = msg.body, 0
        if len(body) > self.compress_msg_body_over_howmuch:
            body = zlib.compress(body, self.compress_level)
            sys_flag |= pk.COMPRESSED_FLAG
        if msg.properties.get(pk.TRANSACTION_PREPARED) == "true":
            sys_flag |= pk.TRANSACTION_PREPARED_TYPE
        return body, sys_flag

    async def _send_kernel(self, msg: Message, mq: MessageQueue, timeout: float,
                           *, oneway: bool = False) -> SendResult | None:  # fmt: skip
        addr = await self._addr(mq, msg.topic)
        body, sys_flag = self._prepare(msg)
        header = send_header(self.group, msg, mq, sys_flag, default_topic=self.create_topic_key,
                             default_queue_nums=self.default_topic_queue_nums)  # fmt: skip
        return await self.instance.api.send(addr, mq, body, header, msg.properties[
            pk.UNIQ_CLIENT_MESSAGE_ID_KEYIDX], oneway=oneway, timeout=timeout)  # fmt: skip

    async def _send_default(self, msg: Message, timeout_ms: int, times: int,
                            *, oneway: bool = False) -> SendResult | None:  # fmt: skip
        validate_message(msg, self.max_message_size)
        begin = time.monotonic()
        selector = await self._publish_info(msg.topic)
        last_broker: str | None = None
        brokers: list[str] = []
        last_exc: BaseException | None = None
        result: SendResult | None = None
        for _ in range(times):
            remaining = timeout_ms / 1000 - (time.monotonic() - begin)
            if remaining <= 0:
                raise ClientError(f"sendDefaultImpl call timeout after {timeout_ms} ms",
                                  ResponseCode.SYSTEM_BUSY) from last_exc  # fmt: skip
            mq = self._select(selector, last_broker)
            last_broker = mq.broker_name
            brokers.append(mq.broker_name)
            began = time.monotonic()
            try:
                result = await self._send_kernel(msg, mq, remaining, oneway=oneway)
            except (RemotingError, ClientError) as exc:
                self._fault(mq.broker_name, (time.monotonic() - began) * 1000, True)
                log.info("send to %s failed, trying again: %s", mq, exc)
                last_exc = exc
                continue
            except BrokerError as exc:
                self._fault(mq.broker_name, (time.monotonic() - began) * 1000, True)
                if exc.code in RETRY_RESPONSE_CODES:
                    last_exc = exc
                    continue
                raise
            self._fault(mq.broker_name, (time.monotonic() - began) * 1000, False)
            if (
                result is not None
                and result.send_status is not SendStatus.SEND_OK
                and self.retry_another_broker_when_not_store_ok
            ):
                continue
            return result
        if result is not None:
            return result
        cost = int((time.monotonic() - begin) * 1000)
        raise ClientError(f"Send [{len(brokers)}] times, still failed, cost [{cost}]ms, "
                          f"Topic: {msg.topic}, BrokersSent: {brokers}: {last_exc}",
                          getattr(last_exc, "code", -1)) from last_exc  # fmt: skip

    async def _send_to_queue(self, msg: Message, mq: MessageQueue, timeout_ms: int | None,
                             *, oneway: bool = False) -> SendResult | None:  # fmt: skip
        validate_message(msg, self.max_message_size)
        if mq.topic != msg.topic:
            raise ClientError(f"message's topic not equal mq's topic: {msg.topic} {mq.topic}")
        return await self._send_kernel(msg, mq, (timeout_ms or self.send_msg_timeout) / 1000,
                                       oneway=oneway)  # fmt: skip

    async def _queue_of(self, msg: Message, selector: MessageQueueSelector, arg: Any
                        ) -> MessageQueue:  # fmt: skip
        queues = list((await self._publish_info(msg.topic)).queues)
        chosen = selector(queues, msg, arg)
        if chosen is None:
            raise ClientError("select message queue return null.")
        return chosen

    # the public sends

    async def send(self, msg: Message, queue: MessageQueue | None = None, *,
                   selector: MessageQueueSelector | None = None, arg: Any = None,
                   timeout: int | None = None) -> SendResult:  # fmt: skip
        """Send and wait for the broker's answer. ``queue`` or ``selector`` pin the queue
        (then there is no retry, as in Java); otherwise round robin with up to
        ``retry_times_when_send_failed`` more attempts on other brokers."""
        if selector is not None:
            queue = await self._queue_of(msg, selector, arg)
        if queue is not None:
            result = await self._send_to_queue(msg, queue, timeout)
        else:
            times = 1 + self.retry_times_when_send_failed
            result = await self._send_default(msg, timeout or self.send_msg_timeout, times)
        assert result is not None
        return result

    def send_async(self, msg: Message, callback: SendCallback | None = None,
                   queue: MessageQueue | None = None, *,
                   selector: MessageQueueSelector | None = None, arg: Any = None,
                   timeout: int | None = None) -> "asyncio.Task[SendResult]":  # fmt: skip
        """Start a send and return at once: await the task, or pass a callback. Failed
        attempts are retried ``retry_times_when_send_async_failed`` times."""

        async def run() -> SendResult:
            if selector is not None or queue is not None:
                return await self.send(msg, queue, selector=selector, arg=arg, timeout=timeout)
            times = 1 + self.retry_times_when_send_async_failed
            result = await self._send_default(msg, timeout or self.send_msg_timeout, times)
            assert result is not None
            return result

        task = asyncio.ensure_future(run())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        if callback is not None:
            task.add_done_callback(lambda t: _report(t, callback))
        return task

    async def send_oneway(self, msg: Message, queue: MessageQueue | None = None, *,
                          selector: MessageQueueSelector | None = None,
                          arg: Any = None) -> None:  # fmt: skip
        """Send without waiting for any answer: nothing tells whether it was stored."""
        if selector is not None:
            queue = await self._queue_of(msg, selector, arg)
        if queue is not None:
            await self._send_to_queue(msg, queue, None, oneway=True)
        else:
            await self._send_default(msg, self.send_msg_timeout, 1, oneway=True)

    def _batch_message(self, messages: Sequence[Message]) -> tuple[Message, str]:
        if not messages:
            raise ClientError("the message batch is empty", ResponseCode.MESSAGE_ILLEGAL)
        first = messages[0]
        elements = []
        ids = []
        for msg in messages:
            if msg.topic != first.topic:
                raise ClientError("The topic of the messages in one batch should be the same")
            if msg.delay_time_level > 0 or pk.DELAY_TIME_LEVEL in msg.properties:
                raise ClientError("TimeDelayLevel is not supported for batching")
            if msg.topic.startswith(RETRY_GROUP_TOPIC_PREFIX):
                raise ClientError("Retry Group is not supported for batching")
            if msg.wait_store_msg_ok != first.wait_store_msg_ok:
                raise ClientError("The waitStoreMsgOK of the messages in one batch should the same")
            validate_message(msg, self.max_message_size)
            if pk.UNIQ_CLIENT_MESSAGE_ID_KEYIDX not in msg.properties:
                assert self._ids is not None
                msg.properties[pk.UNIQ_CLIENT_MESSAGE_ID_KEYIDX] = self._ids.next_id()
            ids.append(msg.properties[pk.UNIQ_CLIENT_MESSAGE_ID_KEYIDX])
            elements.append(BatchElement(msg.flag, msg.body, encode_properties(msg.properties)))
        batch = Message(
            first.topic, encode_batch(elements), wait_store_msg_ok=first.wait_store_msg_ok
        )
        batch.properties.setdefault(pk.WAIT_STORE_MSG_OK, "true")
        return batch, ",".join(ids)

    async def send_batch(self, messages: Iterable[Message], queue: MessageQueue | None = None,
                         *, timeout: int | None = None) -> SendResult:  # fmt: skip
        """Send messages of one topic as one request; they land in one queue, in order.
        The encoded batch must fit ``max_message_size`` (see :func:`split_batch`)."""
        batch, ids = self._batch_message(list(messages))
        validate_message(batch, self.max_message_size)
        timeout_ms = timeout or self.send_msg_timeout
        begin = time.monotonic()
        selector = await self._publish_info(batch.topic)
        last_broker: str | None = None
        last_exc: BaseException | None = None
        times = 1 if queue is not None else 1 + self.retry_times_when_send_failed
        for _ in range(times):
            mq = queue or self._select(selector, last_broker)
            last_broker = mq.broker_name
            remaining = timeout_ms / 1000 - (time.monotonic() - begin)
            if remaining <= 0:
                break
            header = send_header(self.group, batch, mq, 0, batch=True,
                                 default_topic=self.create_topic_key,
                                 default_queue_nums=self.default_topic_queue_nums)  # fmt: skip
            try:
                addr = await self._addr(mq, batch.topic)
                result = await self.instance.api.send(addr, mq, batch.body, header, ids,
                                                      batch=True, timeout=remaining)  # fmt: skip
            except (RemotingError, ClientError) as exc:
                last_exc = exc
                continue
            except BrokerError as exc:
                if exc.code in RETRY_RESPONSE_CODES:
                    last_exc = exc
                    continue
                raise
            assert result is not None
            return result
        raise ClientError(f"batch send to {batch.topic} failed: {last_exc}",
                          getattr(last_exc, "code", -1)) from last_exc  # fmt: skip

    async def send_batches(self, messages: Sequence[Message], limit: int = BATCH_SIZE_LIMIT
                           ) -> list[SendResult]:  # fmt: skip
        """Split into batches under ``limit`` bytes and send each."""
        return [await self.send_batch(part) for part in split_batch(messages, limit)]


def _report(task: "asyncio.Task[SendResult]", callback: SendCallback) -> None:
    if task.cancelled():
        callback.on_exception(asyncio.CancelledError())
        return
    exc = task.exception()
    try:
        if exc is not None:
            callback.on_exception(exc)
        else:
            callback.on_success(task.result())
    except Exception:
        log.exception("send callback raised")
