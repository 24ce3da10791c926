"""SEND_MESSAGE (V1 header), SEND_MESSAGE_V2 and SEND_BATCH_MESSAGE (short header names).

Java: ``SendMessageProcessor`` with ``AbstractSendMessageProcessor.msgCheck``; the checks
run in the same order so a client sees the same code for the same mistake."""

import logging
import time
from dataclasses import dataclass
from typing import Final

from rmq.broker.context import BrokerContext
from rmq.broker.schedule import delay_level_of
from rmq.broker.stats_items import TOPIC_PUT_NUMS, TOPIC_PUT_SIZE
from rmq.common import property_keys as keys
from rmq.common import topic as names
from rmq.common.batch import BatchDecodeError
from rmq.common.codes import RequestCode, ResponseCode
from rmq.common.message import (
    NAME_VALUE_SEPARATOR,
    PROPERTY_SEPARATOR,
    decode_properties,
    encode_properties,
)
from rmq.common.message_id import host_bytes_or_zero, offset_msg_id
from rmq.common.perm import PERM_READ, PERM_WRITE, is_writeable
from rmq.common.route import TopicConfig
from rmq.common.send_header import V2_NAMES
from rmq.common.version import V3_4_9
from rmq.remoting.command import RemotingCommand
from rmq.remoting.connection import Connection
from rmq.remoting.dispatch import Dispatcher, HandlerResult
from rmq.remoting.errors import RequestError
from rmq.remoting.fields import optional_bool, optional_int, required, required_int, required_long
from rmq.store.results import PutResult, PutStatus
from rmq.store.store import BatchInput, MessageInput

log = logging.getLogger(__name__)

#: Topics no producer may write to directly (TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET).
NOT_ALLOWED_SEND: Final = frozenset(
    {
        names.SCHEDULE_TOPIC,
        names.TRANS_HALF_TOPIC,
        names.TRANS_OP_HALF_TOPIC,
        names.TRANS_CHECK_MAX_TIME_TOPIC,
        names.SELF_TEST_TOPIC,
        names.OFFSET_MOVED_EVENT,
    }
)

DLQ_QUEUE_NUMS: Final = 1

_BUSY: Final = "[PC_SYNCHRONIZED]broker busy, start flow control for a while"
_STATUS_REPLY: Final[dict[PutStatus, tuple[int, str | None]]] = {
    PutStatus.PUT_OK: (ResponseCode.SUCCESS, None),
    PutStatus.FLUSH_DISK_TIMEOUT: (ResponseCode.FLUSH_DISK_TIMEOUT, None),
    PutStatus.FLUSH_SLAVE_TIMEOUT: (ResponseCode.FLUSH_SLAVE_TIMEOUT, None),
    PutStatus.SLAVE_NOT_AVAILABLE: (ResponseCode.SLAVE_NOT_AVAILABLE, None),
    PutStatus.CREATE_MAPEDFILE_FAILED: (
        ResponseCode.SYSTEM_ERROR,
        "create mapped file failed, server is busy or broken.",
    ),
    PutStatus.MESSAGE_ILLEGAL: (
        ResponseCode.MESSAGE_ILLEGAL,
        "the message is illegal, maybe msg body or properties length not matched. "
        "msg body length limit {max_size}B, msg properties length limit 32k.",
    ),
    PutStatus.PROPERTIES_SIZE_EXCEEDED: (
        ResponseCode.MESSAGE_ILLEGAL,
        "the message is illegal, maybe msg body or properties length not matched. "
        "msg body length limit {max_size}B, msg properties length limit 32k.",
    ),
    PutStatus.SERVICE_NOT_AVAILABLE: (
        ResponseCode.SERVICE_NOT_AVAILABLE,
        "service not available now. It may be caused by one of the following reasons: "
        "the broker's disk is full, messages are put to the slave, message store has been "
        "shut down, etc.",
    ),
    PutStatus.OS_PAGECACHE_BUSY: (ResponseCode.SYSTEM_ERROR, _BUSY),
    PutStatus.UNKNOWN_ERROR: (ResponseCode.SYSTEM_ERROR, "UNKNOWN_ERROR"),
}
#: Codes whose reply still names the stored message (it is stored; only a guarantee failed).
_STORED: Final = frozenset(
    {
        PutStatus.PUT_OK,
        PutStatus.FLUSH_DISK_TIMEOUT,
        PutStatus.FLUSH_SLAVE_TIMEOUT,
        PutStatus.SLAVE_NOT_AVAILABLE,
    }
)


@dataclass(slots=True)
class SendHeader:
    producer_group: str
    topic: str
    default_topic: str
    default_topic_queue_nums: int
    queue_id: int
    sys_flag: int
    born_timestamp: int
    flag: int
    properties: str
    reconsume_times: int
    max_reconsume_times: int | None
    batch: bool


_V1_KEYS: Final = tuple(V2_NAMES)
_V2_KEYS: Final = tuple(V2_NAMES.values())
_INT32_END: Final = 2**31
_INT64_END: Final = 2**63


def _header_of_well_formed(ext: dict[str, str], keys: tuple[str, ...]) -> SendHeader:
    """The header of a request whose fields are all present and in range (every client's);
    KeyError or ValueError otherwise, and :func:`parse_header` takes the checked path that
    names the bad field. Saves a send the view command and a call per field."""
    group, topic, default, nums, queue, sys_flag, born, flag, props, again, _, most, batch = keys
    numbers = (int(ext[nums]), int(ext[queue]), int(ext[sys_flag]), int(ext[flag]))
    reconsume = ext.get(again)
    reconsume_times = 0 if reconsume is None else int(reconsume)
    limit = ext.get(most)
    max_reconsume = None if limit is None else int(limit)
    born_timestamp = int(ext[born])
    if (
        min(numbers) < -_INT32_END
        or max(numbers) >= _INT32_END
        or not -_INT32_END <= reconsume_times < _INT32_END
        or not (max_reconsume is None or -_INT32_END <= max_reconsume < _INT32_END)
        or not -_INT64_END <= born_timestamp < _INT64_END
    ):
        raise ValueError("out of range")
    batched = ext.get(batch)
    return SendHeader(
        producer_group=ext[group],
        topic=ext[topic],
        default_topic=ext[default],
        default_topic_queue_nums=numbers[0],
        queue_id=numbers[1],
        sys_flag=numbers[2],
        born_timestamp=born_timestamp,
        flag=numbers[3],
        properties=ext.get(props) or "",
        reconsume_times=reconsume_times,
        max_reconsume_times=max_reconsume,
        batch=batched is not None and batched.strip().lower() == "true",
    )


def parse_header(req: RemotingCommand) -> SendHeader:
    if req.ext_fields is not None:
        keys = _V1_KEYS if req.code == RequestCode.SEND_MESSAGE else _V2_KEYS
        try:
            return _header_of_well_formed(req.ext_fields, keys)
        except (KeyError, ValueError):
            pass
    if req.code == RequestCode.SEND_MESSAGE:
        ext = req.ext_fields or {}
    else:
        short = req.ext_fields or {}
        ext = {long: short[s] for long, s in V2_NAMES.items() if s in short}
    view = RemotingCommand(code=req.code, ext_fields=ext)
    max_reconsume = view.field("maxReconsumeTimes")
    return SendHeader(
        producer_group=required(view, "producerGroup"),
        topic=required(view, "topic"),
        default_topic=required(view, "defaultTopic"),
        default_topic_queue_nums=required_int(view, "defaultTopicQueueNums"),
        queue_id=required_int(view, "queueId"),
        sys_flag=required_int(view, "sysFlag"),
        born_timestamp=required_long(view, "bornTimestamp"),
        flag=required_int(view, "flag"),
        properties=view.field("properties") or "",
        reconsume_times=optional_int(view, "reconsumeTimes", 0),
        max_reconsume_times=None
        if max_reconsume is None
        else optional_int(view, "maxReconsumeTimes", 16),
        batch=optional_bool(view, "batch", False),
    )


def waits_for_store(text: str) -> bool:
    """Java's ``isWaitStoreMsgOK``: without WAIT, or with WAIT=true, the answer waits for
    SYNC_FLUSH and SYNC_MASTER; any other value (a producer's waitStoreMsgOK=false) gets
    PUT_OK as soon as the message is written."""
    wait = f"{keys.WAIT_STORE_MSG_OK}{NAME_VALUE_SEPARATOR}"
    at = 0 if text.startswith(wait) else text.find(f"{PROPERTY_SEPARATOR}{wait}") + 1
    if at <= 0 and not text.startswith(wait):
        return True
    start = at + len(wait)
    end = text.find(PROPERTY_SEPARATOR, start)
    return text[start : None if end < 0 else end].lower() == "true"


def with_broker_properties(text: str, cluster: str, extra: dict[str, str] | None = None) -> str:
    """The stored property string: WAIT dropped (4.9.3+), CLUSTER added.

    Every Java producer sends WAIT, so the common case edits the text instead of parsing it."""
    if extra is None and f"{keys.CLUSTER}{NAME_VALUE_SEPARATOR}" not in text:
        wait = f"{keys.WAIT_STORE_MSG_OK}{NAME_VALUE_SEPARATOR}"
        at = text.find(wait)
        if at > 0 and text[at - 1] != PROPERTY_SEPARATOR:
            at = text.find(f"{PROPERTY_SEPARATOR}{wait}") + 1 or -1
        if at >= 0:
            end = text.find(PROPERTY_SEPARATOR, at)
            text = text[:at] + ("" if end < 0 else text[end + 1 :])
        text = text.rstrip(PROPERTY_SEPARATOR)
        tail = f"{keys.CLUSTER}{NAME_VALUE_SEPARATOR}{cluster}"
        return f"{text}{PROPERTY_SEPARATOR}{tail}" if text else tail
    props = decode_properties(text)
    props.pop(keys.WAIT_STORE_MSG_OK, None)
    if extra:
        props.update(extra)
    props[keys.CLUSTER] = cluster
    return encode_properties(props)


class SendProcessor:
    def __init__(self, ctx: BrokerContext) -> None:
        self._ctx = ctx

    def register(self, dispatcher: Dispatcher) -> None:
        for code in (RequestCode.SEND_MESSAGE, RequestCode.SEND_MESSAGE_V2,
                     RequestCode.SEND_BATCH_MESSAGE):  # fmt: skip
            dispatcher.register(code, self.send)

    def send(self, conn: Connection, req: RemotingCommand) -> HandlerResult:
        self._check_waited(req)
        header = parse_header(req)
        config = self._check(conn, req, header)
        if header.batch:
            return self._send_batch(conn, req, header, config)
        return self._send_one(conn, req, header, config)

    # checks (flow control, then msgCheck)

    def _check_waited(self, req: RemotingCommand) -> None:
        """Java's BrokerFastFailure: a send that waited too long is refused so the producer
        retries elsewhere, instead of every later send waiting behind it."""
        broker = self._ctx.broker
        if not broker.broker_fast_failure_enable or not req.received_at:
            return
        waited_ms = (time.monotonic() - req.received_at) * 1000
        if waited_ms > broker.wait_time_mills_in_send_queue:
            raise RequestError(
                ResponseCode.SYSTEM_BUSY,
                f"[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, "
                f"period in queue: {waited_ms:.0f}ms, size of queue: 0",
            )

    def _check(self, conn: Connection, req: RemotingCommand, h: SendHeader) -> TopicConfig:
        ctx = self._ctx
        broker = ctx.broker
        if not is_writeable(broker.broker_permission) and ctx.topics.is_order_topic(h.topic):
            raise RequestError(
                ResponseCode.NO_PERMISSION,
                f"the broker[{broker.broker_ip1}] sending message is forbidden",
            )
        try:
            names.validate_topic(h.topic)
        except names.InvalidTopicName as exc:
            raise RequestError(ResponseCode.SYSTEM_ERROR, str(exc)) from None
        if h.topic in NOT_ALLOWED_SEND:
            raise RequestError(
                ResponseCode.NO_PERMISSION,
                f"Sending message to topic[{h.topic}] is forbidden.",
            )
        config = ctx.topics.get(h.topic)
        if config is None:
            sys_flag = 0
            if h.topic.startswith(names.RETRY_GROUP_TOPIC_PREFIX):
                config = ctx.topics.create_retry(h.topic, 1, PERM_WRITE | PERM_READ, sys_flag)
            else:
                config = ctx.topics.create_for_send(
                    h.topic, h.default_topic, h.default_topic_queue_nums, sys_flag
                )
            if config is None:
                raise RequestError(
                    ResponseCode.TOPIC_NOT_EXIST,
                    f"topic[{h.topic}] not exist, apply first please!",
                )
        queue_count = max(config.write_queue_nums, config.read_queue_nums)
        if h.queue_id >= queue_count:
            raise RequestError(
                ResponseCode.SYSTEM_ERROR,
                f"request queueId[{h.queue_id}] is illegal, {config} Producer: {conn.peer}",
            )
        if not is_writeable(config.perm) or not is_writeable(broker.broker_permission):
            raise RequestError(
                ResponseCode.NO_PERMISSION,
                f"the topic[{h.topic}] sending message is forbidden",
            )
        return config

    def _queue_id(self, h: SendHeader, config: TopicConfig) -> int:
        if h.queue_id >= 0:
            return h.queue_id
        return self._ctx.rng.randrange(max(config.write_queue_nums, 1))

    def _retry_or_dlq(self, h: SendHeader, req: RemotingCommand, queue_id: int) -> tuple[str, int]:
        """Java ``handleRetryAndDLQ``: a retry message past its group's limit goes to DLQ."""
        topic = h.topic
        if not topic.startswith(names.RETRY_GROUP_TOPIC_PREFIX):
            return topic, queue_id
        group = topic[len(names.RETRY_GROUP_TOPIC_PREFIX) :]
        group_config = self._ctx.groups.find(group)
        if group_config is None:
            raise RequestError(
                ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST,
                f"subscription group not exist, {group}",
            )
        max_times = group_config.retry_max_times
        if req.version >= V3_4_9 and h.max_reconsume_times is not None:
            max_times = h.max_reconsume_times
        if h.reconsume_times < max_times:
            return topic, queue_id
        dlq = f"{names.DLQ_GROUP_TOPIC_PREFIX}{group}"
        self._ctx.topics.create_retry(dlq, DLQ_QUEUE_NUMS, PERM_WRITE | PERM_READ)
        return dlq, 0

    # storing

    def _input(
        self, conn: Connection, topic: str, queue_id: int, body: bytes, properties: str,
        flag: int, sys_flag: int, born: int, reconsume: int,
    ) -> MessageInput:  # fmt: skip
        return MessageInput(
            topic,
            queue_id,
            body,
            properties.encode("utf-8"),
            flag,
            sys_flag,
            born,
            _peer_host(conn),
            self._ctx.store_host,
            reconsume,
            0,
        )

    def _send_one(
        self, conn: Connection, req: RemotingCommand, h: SendHeader, config: TopicConfig
    ) -> HandlerResult:
        ctx = self._ctx
        queue_id = self._queue_id(h, config)
        topic, queue_id = self._retry_or_dlq(h, req, queue_id)
        text = h.properties
        if topic != h.topic and f"{keys.DELAY_TIME_LEVEL}{NAME_VALUE_SEPARATOR}" in text:
            # Dead-lettered: Java sets delayTimeLevel 0, so the DLQ copy is never parked.
            props = decode_properties(text)
            props[keys.DELAY_TIME_LEVEL] = "0"
            text = encode_properties(props)
        sys_flag = h.sys_flag
        if config.topic_filter_type == "MULTI_TAG":
            sys_flag |= keys.MULTI_TAGS_FLAG
        cluster = ctx.broker.broker_cluster_name
        if f"{keys.TRANSACTION_PREPARED}{NAME_VALUE_SEPARATOR}" in text:
            props = decode_properties(text)
            if props.get(keys.TRANSACTION_PREPARED, "").lower() == "true":
                if ctx.broker.reject_transaction_message:
                    raise RequestError(
                        ResponseCode.NO_PERMISSION,
                        f"the broker[{ctx.broker.broker_ip1}] sending transaction message "
                        "is forbidden",
                    )
                # The half message: kept out of the real queue until END_TRANSACTION.
                properties = with_broker_properties(
                    text,
                    cluster,
                    {keys.REAL_TOPIC: topic, keys.REAL_QUEUE_ID: str(queue_id)},
                )
                topic, queue_id = names.TRANS_HALF_TOPIC, 0
                sys_flag &= ~keys.TRANSACTION_TYPE_MASK
                ctx.topics.create_retry(names.TRANS_HALF_TOPIC, 1)
            else:
                properties = with_broker_properties(text, cluster)
        else:
            properties = with_broker_properties(text, cluster)
        reply_queue_id = queue_id
        if (
            f"{keys.DELAY_TIME_LEVEL}{NAME_VALUE_SEPARATOR}" in properties
            and topic != names.TRANS_HALF_TOPIC
        ):
            topic, queue_id, properties = self._delayed(topic, queue_id, properties)
        message = self._input(conn, topic, queue_id, req.body or b"", properties, h.flag,
                              sys_flag, h.born_timestamp, h.reconsume_times)  # fmt: skip
        return self._store(req, [message], topic, queue_id, reply_queue_id,
                           wait=waits_for_store(text))  # fmt: skip

    def _delayed(self, topic: str, queue_id: int, properties: str) -> tuple[str, int, str]:
        """Java's CommitLog rule: a DELAY level parks the message in SCHEDULE_TOPIC_XXXX."""
        schedule = self._ctx.schedule
        level = delay_level_of(properties)
        if schedule is None or level <= 0:
            return topic, queue_id, properties
        level = min(level, schedule.max_level)
        props = decode_properties(properties)
        props[keys.DELAY_TIME_LEVEL] = str(level)
        props[keys.REAL_TOPIC] = topic
        props[keys.REAL_QUEUE_ID] = str(queue_id)
        return names.SCHEDULE_TOPIC, level - 1, encode_properties(props)

    def _send_batch(
        self, conn: Connection, req: RemotingCommand, h: SendHeader, config: TopicConfig
    ) -> HandlerResult:
        ctx = self._ctx
        if h.topic.startswith(names.RETRY_GROUP_TOPIC_PREFIX):
            raise RequestError(
                ResponseCode.MESSAGE_ILLEGAL,
                f"batch request does not support retry group {h.topic}",
            )
        queue_id = self._queue_id(h, config)
        sys_flag = h.sys_flag
        if config.topic_filter_type == "MULTI_TAG":
            sys_flag |= keys.MULTI_TAGS_FLAG
        # The engine splits the body and merges properties: per element, its own pairs
        # without WAIT, the request's pairs it lacks, CLUSTER (checked before any write).
        batch = BatchInput(
            req.body or b"",
            h.topic,
            queue_id,
            sys_flag,
            h.born_timestamp,
            _peer_host(conn),
            ctx.store_host,
            h.reconsume_times,
            h.properties.encode("utf-8"),
            ctx.broker.broker_cluster_name,
        )
        return self._store(req, batch, h.topic, queue_id, wait=waits_for_store(h.properties))

    def _store(
        self, req: RemotingCommand, messages: list[MessageInput] | BatchInput, topic: str,
        queue_id: int,
        reply_queue_id: int | None = None, *, wait: bool = True,
    ) -> HandlerResult:  # fmt: skip
        store = self._ctx.store
        reply_to = queue_id if reply_queue_id is None else reply_queue_id
        if store.waits_for_ack and wait:
            return self._store_and_wait(req, messages, topic, queue_id, reply_to)
        # ASYNC_FLUSH: answered inline, without a task per send.
        try:
            results = store.put_nowait(messages)
        except BatchDecodeError as exc:
            raise _bad_batch(exc) from None
        return self._stored(req, results, topic, queue_id, reply_to)

    async def _store_and_wait(
        self, req: RemotingCommand, messages: list[MessageInput] | BatchInput, topic: str,
        queue_id: int,
        reply_queue_id: int,
    ) -> RemotingCommand:  # fmt: skip
        try:
            results = await self._ctx.store.put(messages)
        except BatchDecodeError as exc:
            raise _bad_batch(exc) from None
        return self._stored(req, results, topic, queue_id, reply_queue_id)

    def _stored(
        self, req: RemotingCommand, results: list[PutResult], topic: str, queue_id: int,
        reply_queue_id: int,
    ) -> RemotingCommand:  # fmt: skip
        ctx = self._ctx
        stored = [r for r in results if r.status in _STORED]
        if stored:
            stats = ctx.stats
            stats.put.total += len(stored)
            stats.items.add(TOPIC_PUT_NUMS, topic, len(stored))
            size = sum(r.size for r in stored)
            stats.put_bytes += size
            stats.items.add(TOPIC_PUT_SIZE, topic, size)
            # Dispatch ran inside the put: held pulls on this queue can be answered now.
            ctx.holds.notify(topic, queue_id, stored[-1].queue_offset + 1)
        return self._reply(req, results, reply_queue_id)

    def _reply(
        self, req: RemotingCommand, results: list[PutResult], queue_id: int
    ) -> RemotingCommand:
        ctx = self._ctx
        worst = next((r for r in results if r.status is not PutStatus.PUT_OK), results[0])
        code, remark = _STATUS_REPLY[worst.status]
        if remark is not None:
            remark = remark.format(max_size=ctx.store_config.max_message_size)
        if worst.status not in _STORED:
            return req.answer(code, remark)
        host = ctx.store_host
        msg_id = ",".join(offset_msg_id(host, r.phy_offset) for r in results)
        return req.answer(
            code,
            remark,
            ext_fields={
                "msgId": msg_id,
                "queueId": str(queue_id),
                "queueOffset": str(results[0].queue_offset),
                "MSG_REGION": ctx.broker.region_id,
                "TRACE_ON": "true" if ctx.broker.trace_on else "false",
            },
        )


def _bad_batch(exc: BatchDecodeError) -> RequestError:
    return RequestError(ResponseCode.MESSAGE_ILLEGAL, f"bad batch body: {exc}")


def _peer_host(conn: Connection) -> bytes:
    return host_bytes_or_zero(conn.peer)
