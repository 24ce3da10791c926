"""CONSUMER_SEND_MSG_BACK: a consumer hands back a message it failed to consume
(Java: ``SendMessageProcessor.asyncConsumerSendMsgBack``).

The message is stored again in ``%RETRY%<group>`` with the next delay level (3 +
reconsumeTimes unless the client names one), so the delay service brings it back later;
past the group's maxReconsumeTimes (16) it goes to ``%DLQ%<group>`` instead."""

from typing import Final

from rmq.broker.context import BrokerContext
from rmq.common import property_keys as keys
from rmq.common import topic as names
from rmq.common.codes import RequestCode, ResponseCode
from rmq.common.message import MessageDecodeError, decode_record, encode_properties
from rmq.common.message_id import host_bytes_or_zero, offset_msg_id
from rmq.common.perm import PERM_READ, PERM_WRITE, is_writeable
from rmq.common.version import V3_4_9
from rmq.remoting.command import RemotingCommand
from rmq.remoting.connection import Connection
from rmq.remoting.dispatch import Dispatcher
from rmq.remoting.errors import RequestError
from rmq.remoting.fields import optional_int, required, required_int, required_long
from rmq.store.results import PutStatus
from rmq.store.store import MessageInput

DLQ_QUEUE_NUMS: Final = 1


class SendBackProcessor:
    def __init__(self, ctx: BrokerContext) -> None:
        self._ctx = ctx

    def register(self, dispatcher: Dispatcher) -> None:
        dispatcher.register(RequestCode.CONSUMER_SEND_MSG_BACK, self.send_back)

    def send_back(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        ctx = self._ctx
        offset = required_long(req, "offset")
        group = required(req, "group")
        delay_level = required_int(req, "delayLevel")
        config = ctx.groups.find(group)
        if config is None:
            raise RequestError(
                ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST, f"subscription group not exist, {group}"
            )
        if not is_writeable(ctx.broker.broker_permission):
            raise RequestError(
                ResponseCode.NO_PERMISSION,
                f"the broker[{ctx.broker.broker_ip1}] sending message is forbidden",
            )
        if config.retry_queue_nums <= 0:
            return req.answer()
        topic = f"{names.RETRY_GROUP_TOPIC_PREFIX}{group}"
        queue_id = ctx.rng.randrange(config.retry_queue_nums)
        retry = ctx.topics.create_retry(topic, config.retry_queue_nums, PERM_WRITE | PERM_READ)
        if not is_writeable(retry.perm):
            raise RequestError(
                ResponseCode.NO_PERMISSION, f"the topic[{topic}] sending message is forbidden"
            )
        record = ctx.store.read_record(offset) if offset >= 0 else None
        if record is None:
            raise RequestError(
                ResponseCode.SYSTEM_ERROR, f"look message by offset failed, {offset}"
            )
        try:
            msg = decode_record(record)
        except MessageDecodeError as exc:
            raise RequestError(ResponseCode.SYSTEM_ERROR, str(exc)) from None
        props = dict(msg.properties)
        props.setdefault(keys.RETRY_TOPIC, msg.topic)
        props.pop(keys.WAIT_STORE_MSG_OK, None)
        max_times = config.retry_max_times
        if req.version >= V3_4_9:
            max_times = optional_int(req, "maxReconsumeTimes", max_times)
        if msg.reconsume_times >= max_times or delay_level < 0:
            topic = f"{names.DLQ_GROUP_TOPIC_PREFIX}{group}"
            queue_id = ctx.rng.randrange(DLQ_QUEUE_NUMS)
            dlq = ctx.topics.create_retry(topic, DLQ_QUEUE_NUMS, PERM_WRITE | PERM_READ)
            if not is_writeable(dlq.perm):
                raise RequestError(
                    ResponseCode.NO_PERMISSION, f"the topic[{topic}] sending message is forbidden"
                )
            props.pop(keys.DELAY_TIME_LEVEL, None)
            level = 0
        else:
            level = delay_level or 3 + msg.reconsume_times
        origin = props.get(keys.ORIGIN_MESSAGE_ID) or offset_msg_id(
            host_bytes_or_zero(msg.store_host), msg.phy_offset
        )
        props[keys.ORIGIN_MESSAGE_ID] = origin
        store_topic, store_queue = topic, queue_id
        schedule = ctx.schedule
        if level > 0 and schedule is not None:
            level = min(level, schedule.max_level)
            props[keys.DELAY_TIME_LEVEL] = str(level)
            props[keys.REAL_TOPIC] = topic
            props[keys.REAL_QUEUE_ID] = str(queue_id)
            store_topic, store_queue = names.SCHEDULE_TOPIC, level - 1
        message = MessageInput(
            store_topic,
            store_queue,
            msg.body,
            encode_properties(props).encode("utf-8"),
            msg.flag,
            msg.sys_flag,
            msg.born_timestamp,
            host_bytes_or_zero(msg.born_host),
            ctx.store_host,
            msg.reconsume_times + 1,
            0,
        )
        (result,) = ctx.store.put_nowait([message])
        if result.status is not PutStatus.PUT_OK:
            raise RequestError(ResponseCode.SYSTEM_ERROR, result.status.name)
        ctx.stats.put.total += 1
        ctx.holds.notify(store_topic, store_queue, result.queue_offset + 1)
        return req.answer()
