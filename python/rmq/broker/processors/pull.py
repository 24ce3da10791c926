"""PULL_MESSAGE with long polling (Java: ``PullMessageProcessor``).

The checks run in Java's order; a pull that finds nothing new and carries the SUSPEND flag
is held in :class:`~rmq.broker.long_polling.PullHolds` and then executed once more."""

import logging
import os
import time
from typing import Final

from rmq.broker.context import BrokerContext
from rmq.broker.stats_items import GROUP_GET_NUMS, GROUP_GET_SIZE
from rmq.broker.subscription import EXPRESSION_TAG, Subscription, SubscriptionParseError
from rmq.common import fastjson
from rmq.common import topic as names
from rmq.common.codes import RequestCode, ResponseCode
from rmq.common.message import encode_properties
from rmq.common.perm import is_readable
from rmq.remoting.command import RemotingCommand
from rmq.remoting.connection import Connection
from rmq.remoting.dispatch import Dispatcher, HandlerResult
from rmq.remoting.errors import RequestError
from rmq.remoting.fields import optional_long, required, required_int, required_long
from rmq.store.results import GetResult, GetStatus, PutStatus
from rmq.store.store import MessageInput

log = logging.getLogger(__name__)

FLAG_COMMIT_OFFSET: Final = 0x1
FLAG_SUSPEND: Final = 0x2
FLAG_SUBSCRIPTION: Final = 0x4
FLAG_CLASS_FILTER: Final = 0x8
MASTER_ID: Final = 0

_CODE: Final = {
    GetStatus.FOUND: ResponseCode.SUCCESS,
    GetStatus.NO_MATCHED_MESSAGE: ResponseCode.PULL_RETRY_IMMEDIATELY,
    GetStatus.MESSAGE_WAS_REMOVING: ResponseCode.PULL_RETRY_IMMEDIATELY,
    GetStatus.OFFSET_FOUND_NULL: ResponseCode.PULL_NOT_FOUND,
    GetStatus.OFFSET_OVERFLOW_ONE: ResponseCode.PULL_NOT_FOUND,
    GetStatus.OFFSET_OVERFLOW_BADLY: ResponseCode.PULL_OFFSET_MOVED,
    GetStatus.OFFSET_TOO_SMALL: ResponseCode.PULL_OFFSET_MOVED,
}


class PullProcessor:
    def __init__(self, ctx: BrokerContext) -> None:
        self._ctx = ctx

    def register(self, dispatcher: Dispatcher) -> None:
        dispatcher.register(RequestCode.PULL_MESSAGE, self.pull)

    def pull(self, conn: Connection, req: RemotingCommand) -> HandlerResult:
        ctx = self._ctx
        group = required(req, "consumerGroup")
        topic = required(req, "topic")
        queue_id = required_int(req, "queueId")
        offset = required_long(req, "queueOffset")
        max_nums = required_int(req, "maxMsgNums")
        sys_flag = required_int(req, "sysFlag")
        commit_offset = required_long(req, "commitOffset")
        suspend_ms = required_long(req, "suspendTimeoutMillis")
        sub_version = optional_long(req, "subVersion", 0)

        if not is_readable(ctx.broker.broker_permission):
            raise RequestError(
                ResponseCode.NO_PERMISSION,
                f"the broker[{ctx.broker.broker_ip1}] pulling message is forbidden",
            )
        group_config = ctx.groups.find(group)
        if group_config is None:
            raise RequestError(
                ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST,
                f"subscription group [{group}] does not exist",
            )
        if not group_config.consume_enable:
            raise RequestError(
                ResponseCode.NO_PERMISSION, f"subscription group no permission, {group}"
            )
        config = ctx.topics.get(topic)
        if config is None:
            raise RequestError(
                ResponseCode.TOPIC_NOT_EXIST,
                f"topic[{topic}] not exist, apply first please!",
            )
        if not is_readable(config.perm):
            raise RequestError(
                ResponseCode.NO_PERMISSION, f"the topic[{topic}] pulling message is forbidden"
            )
        if queue_id < 0 or queue_id >= config.read_queue_nums:
            raise RequestError(
                ResponseCode.SYSTEM_ERROR,
                f"queueId[{queue_id}] is illegal, topic:[{topic}] "
                f"topicConfig.readQueueNums:[{config.read_queue_nums}] consumer:[{conn.peer}]",
            )
        if sys_flag & FLAG_SUBSCRIPTION:
            try:
                sub = Subscription.parse(
                    topic, req.field("subscription"), req.field("expressionType"), sub_version
                )
            except SubscriptionParseError as exc:
                raise RequestError(
                    ResponseCode.SUBSCRIPTION_PARSE_FAILED,
                    f"parse the consumer's subscription failed: {exc}",
                ) from None
        else:
            info = ctx.clients.consumer_group(group)
            if info is None:
                raise RequestError(
                    ResponseCode.SUBSCRIPTION_NOT_EXIST,
                    f"the consumer's group info not exist, group: {group}",
                )
            if not group_config.consume_broadcast_enable and info.message_model == "BROADCASTING":
                raise RequestError(
                    ResponseCode.NO_PERMISSION,
                    f"the consumer group[{group}] can not consume by broadcast way",
                )
            found = info.subscriptions.get(topic)
            if found is None:
                raise RequestError(
                    ResponseCode.SUBSCRIPTION_NOT_EXIST,
                    f"the consumer's subscription not exist, group: {group} topic: {topic}",
                )
            if found.sub_version < sub_version:
                raise RequestError(
                    ResponseCode.SUBSCRIPTION_NOT_LATEST,
                    f"the consumer's subscription not latest, group: {group}",
                )
            sub = found
            if sub.expression_type != EXPRESSION_TAG and sub.selector is None:
                raise RequestError(
                    ResponseCode.FILTER_DATA_NOT_EXIST,
                    "The broker's consumer filter data is not exist!Your expression may be wrong!",
                )
        if sub.expression_type != EXPRESSION_TAG and not ctx.broker.enable_property_filter:
            raise RequestError(
                ResponseCode.SYSTEM_ERROR,
                f"The broker does not support consumer to filter message by {sub.expression_type}",
            )
        if sys_flag & FLAG_COMMIT_OFFSET and not ctx.is_slave:
            ctx.offsets.commit(group, topic, queue_id, commit_offset)

        result = self._get(topic, queue_id, offset, max_nums, sub)
        code = self._code(result, offset)
        if code == ResponseCode.PULL_NOT_FOUND and sys_flag & FLAG_SUSPEND:
            hold = (
                suspend_ms
                if ctx.broker.long_polling_enable
                else ctx.broker.short_polling_time_mills
            )
            return self._held(req, topic, queue_id, offset, max_nums, sub, hold / 1000)
        return self._answer(req, result, code)

    async def _held(
        self, req: RemotingCommand, topic: str, queue_id: int, offset: int, max_nums: int,
        sub: Subscription, timeout: float,
    ) -> RemotingCommand:  # fmt: skip
        await self._ctx.holds.hold(topic, queue_id, offset, timeout)
        result = self._get(topic, queue_id, offset, max_nums, sub)
        return self._answer(req, result, self._code(result, offset))

    def _get(
        self, topic: str, queue_id: int, offset: int, max_nums: int, sub: Subscription
    ) -> GetResult:
        store = self._ctx.store_config
        count = max(1, min(max_nums, store.max_transfer_count_on_message_in_memory))
        max_bytes = store.max_transfer_bytes_on_message_in_memory
        if sub.selector is not None:
            return self._ctx.store.get_matching(
                topic, queue_id, offset, count, max_bytes, sub.selector.native
            )
        return self._ctx.store.get(topic, queue_id, offset, count, max_bytes, sub.tag_codes)

    def _code(self, result: GetResult, offset: int) -> int:
        status = result.status
        if status in (GetStatus.NO_MESSAGE_IN_QUEUE, GetStatus.NO_MATCHED_LOGIC_QUEUE):
            code: int = (
                ResponseCode.PULL_OFFSET_MOVED if offset != 0 else ResponseCode.PULL_NOT_FOUND
            )
        else:
            code = _CODE[status]
        slave_lenient = self._ctx.is_slave and not self._ctx.store_config.offset_check_in_slave
        if code == ResponseCode.PULL_OFFSET_MOVED and slave_lenient:
            code = ResponseCode.PULL_RETRY_IMMEDIATELY
        return code

    def _suggest_broker(self, req: RemotingCommand, result: GetResult) -> int:
        """Java: with slaveReadEnable, a consumer whose next messages are no longer in
        memory (further behind the log's end than accessMessageInMemoryMaxRatio of RAM) is
        sent to the group's whichBrokerWhenConsumeSlowly, others to its brokerId."""
        ctx = self._ctx
        if not ctx.broker.slave_read_enable:
            return MASTER_ID
        group = ctx.groups.groups.get(req.field("consumerGroup") or "")
        if group is None:
            return MASTER_ID
        last = _last_phy_offset(result.buffer)
        if last is not None:
            ratio = ctx.store_config.access_message_in_memory_max_ratio / 100
            if ctx.store.commitlog_offsets()[1] - last > TOTAL_MEMORY * ratio:
                return group.which_broker_when_consume_slowly
        return group.broker_id

    def _answer(self, req: RemotingCommand, result: GetResult, code: int) -> RemotingCommand:
        next_begin = result.next_begin_offset
        slave_lenient = self._ctx.is_slave and not self._ctx.store_config.offset_check_in_slave
        if slave_lenient and code != ResponseCode.SUCCESS:
            next_begin = int(req.field("queueOffset") or 0)
        ext = {
            "suggestWhichBrokerId": str(self._suggest_broker(req, result)),
            "nextBeginOffset": str(next_begin),
            "minOffset": str(result.min_offset),
            "maxOffset": str(result.max_offset),
        }
        if code == ResponseCode.SUCCESS:
            stats = self._ctx.stats
            stats.get.total += result.count
            key = f"{req.field('topic')}@{req.field('consumerGroup')}"
            stats.items.add(GROUP_GET_NUMS, key, result.count)
            stats.items.add(GROUP_GET_SIZE, key, len(result.buffer))
            return req.answer(code, result.status.name, ext, result.buffer)
        if code == ResponseCode.PULL_OFFSET_MOVED:
            self._offset_moved_event(req, next_begin)
            log.warning(
                "pull offset moved: group=%s topic=%s queue=%s request=%s next=%d",
                req.field("consumerGroup"), req.field("topic"), req.field("queueId"),
                req.field("queueOffset"), next_begin,
            )  # fmt: skip
        return req.answer(code, result.status.name, ext)

    def _offset_moved_event(self, req: RemotingCommand, offset_new: int) -> None:
        """Java's generateOffsetMovedEvent: a record in OFFSET_MOVED_EVENT (tagged and keyed
        by the group) of every pull whose offset the broker corrected, for operators'
        tooling to notice consumers that skipped or re-read."""
        ctx = self._ctx
        group = req.field("consumerGroup") or ""
        event = {
            "consumerGroup": group,
            "messageQueue": {"brokerName": ctx.broker.broker_name,
                             "queueId": int(req.field("queueId") or 0),
                             "topic": req.field("topic") or ""},
            "offsetNew": offset_new,
            "offsetRequest": int(req.field("queueOffset") or 0),
        }  # fmt: skip
        properties = encode_properties({"TAGS": group, "KEYS": group, "DELAY": "0"})
        message = MessageInput(names.OFFSET_MOVED_EVENT, 0, fastjson.dumps(event),
                               properties.encode(), 0, 0, int(time.time() * 1000),
                               ctx.store_host, ctx.store_host)  # fmt: skip
        (result,) = ctx.store.put_nowait([message])
        if result.status is PutStatus.PUT_OK:
            ctx.holds.notify(names.OFFSET_MOVED_EVENT, 0, result.queue_offset + 1)
        else:
            log.warning("offset moved event for %s not stored: %s", group, result.status.name)


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 8 << 30


TOTAL_MEMORY: Final = _physical_memory()
#: Where a stored record keeps its own commitlog offset.
_PHY_OFFSET_AT: Final = 28


def _last_phy_offset(buffer: bytes) -> int | None:
    """Commitlog offset of the last record in a pull's buffer (records back to back)."""
    pos, last = 0, None
    view = memoryview(buffer)
    while pos + _PHY_OFFSET_AT + 8 <= len(view):
        size = int.from_bytes(view[pos : pos + 4], "big")
        if size <= 0:
            break
        last = int.from_bytes(view[pos + _PHY_OFFSET_AT : pos + _PHY_OFFSET_AT + 8], "big")
        pos += size
    return last
