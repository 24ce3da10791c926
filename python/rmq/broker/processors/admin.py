"""Admin requests mqadmin and the console send to a broker (Java: ``AdminBrokerProcessor``)."""

import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from rmq.broker.context import BrokerContext
from rmq.broker.groups import GroupConfig
from rmq.broker.locks import Queue, QueueLocks
from rmq.common import fastjson
from rmq.common import topic as names
from rmq.common.codes import RequestCode, ResponseCode
from rmq.common.message import MessageDecodeError, decode_record
from rmq.common.message_id import MessageIdError, decode_offset_msg_id
from rmq.common.route import TopicConfig
from rmq.common.version import CURRENT_VERSION, CURRENT_VERSION_DESC
from rmq.config.properties import PropertiesError, parse_properties
from rmq.remoting.command import RemotingCommand, request
from rmq.remoting.connection import Connection
from rmq.remoting.dispatch import Dispatcher
from rmq.remoting.errors import RemotingError, RemotingTimeoutError, RequestError
from rmq.remoting.fields import optional_bool, optional_int, required, required_int

if TYPE_CHECKING:
    from rmq.broker.app import BrokerApp

log = logging.getLogger(__name__)

#: Java ``Broker2Client.callClient``: how long a forwarded request waits for the client.
CALL_CLIENT_TIMEOUT: Final = 10.0

#: Keys UPDATE_BROKER_CONFIG may change at run time. Nothing naming a path, a command, a
#: port or the filter server: CVE-2023-33246 turned rocketmqHome + filterServerNums into
#: remote command execution.
UPDATABLE_KEYS: Final = frozenset(
    {
        "brokerPermission",
        "autoCreateTopicEnable",
        "autoCreateSubscriptionGroup",
        "defaultTopicQueueNums",
        "namesrvAddr",
        "longPollingEnable",
        "shortPollingTimeMills",
        "notifyConsumerIdsChangedEnable",
        "rejectTransactionMessage",
        "traceOn",
        "slaveReadEnable",
        "transactionTimeOut",
        "transactionCheckMax",
        "transactionCheckInterval",
        "waitTimeMillsInSendQueue",
        "waitTimeMillsInPullQueue",
        "brokerFastFailureEnable",
        "registerNameServerPeriod",
        "enablePropertyFilter",
        "fileReservedTime",
        "deleteWhen",
        "diskMaxUsedSpaceRatio",
        "cleanFileForciblyEnable",
        "offsetCheckInSlave",
        "maxTransferCountOnMessageInMemory",
        "maxTransferBytesOnMessageInMemory",
        "defaultQueryMaxNum",
    }
)


class BrokerConfigView:
    """GET/UPDATE_BROKER_CONFIG's access to the running settings."""

    def __init__(self, app: "BrokerApp") -> None:
        self._app = app

    def snapshot(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for model in self._app.models:
            out.update(model.to_java_properties())
        return out

    def apply(self, values: dict[str, str]) -> None:
        self._app.apply_config_update(values)


def _mq(topic: str, broker_name: str, queue_id: int) -> dict[str, Any]:
    return {"brokerName": broker_name, "queueId": queue_id, "topic": topic}


class AdminProcessor:
    def __init__(self, ctx: BrokerContext, config: BrokerConfigView) -> None:
        self._ctx = ctx
        self._config = config
        self.locks = QueueLocks(max_live=ctx.broker.rebalance_lock_max_live_time / 1000)

    def register(self, dispatcher: Dispatcher) -> None:
        table: dict[int, Callable[[Connection, RemotingCommand], RemotingCommand]] = {
            RequestCode.DELETE_TOPIC_IN_BROKER: self.delete_topic,
            RequestCode.GET_ALL_TOPIC_CONFIG: self.all_topics,
            RequestCode.UPDATE_BROKER_CONFIG: self.update_config,
            RequestCode.GET_BROKER_CONFIG: self.get_config,
            RequestCode.GET_BROKER_RUNTIME_INFO: self.runtime_info,
            RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: self.put_group,
            RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG: self.all_groups,
            RequestCode.DELETE_SUBSCRIPTIONGROUP: self.delete_group,
            RequestCode.GET_TOPIC_STATS_INFO: self.topic_stats,
            RequestCode.GET_CONSUME_STATS: self.consume_stats,
            RequestCode.GET_CONSUMER_CONNECTION_LIST: self.consumer_connections,
            RequestCode.GET_PRODUCER_CONNECTION_LIST: self.producer_connections,
            RequestCode.GET_ALL_CONSUMER_OFFSET: self.all_offsets,
            RequestCode.QUERY_TOPIC_CONSUME_BY_WHO: self.consumed_by,
            RequestCode.LOCK_BATCH_MQ: self.lock,
            RequestCode.UNLOCK_BATCH_MQ: self.unlock,
            RequestCode.CLEAN_EXPIRED_CONSUMEQUEUE: self.clean_expired_cq,
            RequestCode.CLEAN_UNUSED_TOPIC: self.clean_unused_topic,
            RequestCode.QUERY_CONSUME_TIME_SPAN: self.consume_time_span,
            RequestCode.CLONE_GROUP_OFFSET: self.clone_group_offset,
            RequestCode.GET_ALL_DELAY_OFFSET: self.all_delay_offsets,
        }
        for code, handler in table.items():
            dispatcher.register(code, handler)
        dispatcher.register(RequestCode.UPDATE_AND_CREATE_TOPIC, self.create_topic)
        dispatcher.register(RequestCode.GET_CONSUMER_RUNNING_INFO, self.call_consumer)
        dispatcher.register(RequestCode.CONSUME_MESSAGE_DIRECTLY, self.consume_directly)

    # topics

    async def create_topic(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        ctx = self._ctx
        if ctx.is_slave:
            raise RequestError(ResponseCode.SYSTEM_ERROR, "the slave broker can not create topic")
        topic = required(req, "topic")
        try:
            names.validate_topic(topic)
        except names.InvalidTopicName as exc:
            raise RequestError(ResponseCode.SYSTEM_ERROR, str(exc)) from None
        if names.is_system_topic(topic) or topic == ctx.broker.broker_cluster_name:
            raise RequestError(
                ResponseCode.SYSTEM_ERROR, f"The topic[{topic}] is conflict with system topic."
            )
        filter_type = req.field("topicFilterType") or "SINGLE_TAG"
        if filter_type not in ("SINGLE_TAG", "MULTI_TAG"):
            raise RequestError(ResponseCode.SYSTEM_ERROR, f"bad topicFilterType {filter_type!r}")
        config = TopicConfig(
            topic,
            _queue_nums(req, "readQueueNums"),
            _queue_nums(req, "writeQueueNums"),
            required_int(req, "perm"),
            filter_type,
            optional_int(req, "topicSysFlag", 0),
            optional_bool(req, "order", False),
        )
        ctx.topics.put(config)
        log.info("topic created or updated by %s: %s", conn.peer, config)
        if ctx.register_now is not None:
            await ctx.register_now()
        return req.answer()

    def delete_topic(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        topic = required(req, "topic")
        if names.is_system_topic(topic):
            raise RequestError(
                ResponseCode.SYSTEM_ERROR, f"The topic[{topic}] is conflict with system topic."
            )
        self._ctx.topics.delete(topic)
        for group in self._ctx.offsets.groups_of_topic(topic):
            self._ctx.offsets.remove_group(group, topic)
        return req.answer()

    def all_topics(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        return req.answer(body=fastjson.dumps(self._ctx.topics.to_json()))

    # broker config

    def get_config(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        from rmq.config.properties import format_properties

        version = fastjson.dumps(self._ctx.topics.data_version.to_json()).decode()
        return req.answer(
            ext_fields={"version": version},
            body=format_properties(self._config.snapshot()).encode(),
        )

    def update_config(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        try:
            entries = parse_properties((req.body or b"").decode("utf-8"), "request body")
        except (PropertiesError, UnicodeDecodeError) as exc:
            raise RequestError(ResponseCode.SYSTEM_ERROR, f"bad properties body: {exc}") from None
        values = {k: e.value for k, e in entries.items()}
        refused = sorted(k for k in values if k not in UPDATABLE_KEYS)
        if refused:
            log.warning("UPDATE_BROKER_CONFIG from %s refused keys %s", conn.peer, refused)
            raise RequestError(
                ResponseCode.NO_PERMISSION,
                f"can not update config {', '.join(refused)}: not changeable at run time "
                f"(changeable: {', '.join(sorted(UPDATABLE_KEYS))})",
            )
        try:
            self._config.apply(values)
        except ValueError as exc:
            raise RequestError(ResponseCode.SYSTEM_ERROR, str(exc)) from None
        log.info("broker config updated by %s: %s", conn.peer, values)
        return req.answer()

    def runtime_info(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        ctx = self._ctx
        stats = ctx.stats
        now = time.monotonic()
        low, high = ctx.store.commitlog_offsets()
        root = os.path.expanduser(ctx.store_config.store_path_root_dir)
        try:
            vfs = os.statvfs(root)
            ratio = 1 - vfs.f_bavail / vfs.f_blocks if vfs.f_blocks else 0.0
        except OSError:
            ratio = -1.0
        table = {
            "brokerVersionDesc": CURRENT_VERSION_DESC,
            "brokerVersion": str(CURRENT_VERSION),
            "msgPutTotalYesterdayMorning": str(stats.put.yesterday_morning),
            "msgPutTotalTodayMorning": str(stats.put.today_morning),
            "msgPutTotalTodayNow": str(stats.put.total),
            "msgGetTotalYesterdayMorning": str(stats.get.yesterday_morning),
            "msgGetTotalTodayMorning": str(stats.get.today_morning),
            "msgGetTotalTodayNow": str(stats.get.total),
            "putMessageTimesTotal": str(stats.put.total),
            "putMessageSizeTotal": str(stats.put_bytes),
            "putMessageAverageSize": str(stats.put_bytes / max(stats.put.total, 1)),
            "putTps": stats.put.rates(now),
            "getTransferedTps": stats.get.rates(now),
            "sendThreadPoolQueueSize": "0",
            "sendThreadPoolQueueCapacity": str(ctx.broker.send_thread_pool_queue_capacity),
            "pullThreadPoolQueueSize": "0",
            "pullThreadPoolQueueCapacity": str(ctx.broker.pull_thread_pool_queue_capacity),
            "queryThreadPoolQueueSize": "0",
            "queryThreadPoolQueueCapacity": str(ctx.broker.query_thread_pool_queue_capacity),
            "sendThreadPoolQueueHeadWaitTimeMills": "0",
            "pullThreadPoolQueueHeadWaitTimeMills": "0",
            "pageCacheLockTimeMills": "0",
            "dispatchBehindBytes": "0",
            "earliestMessageTimeStamp": str(self._earliest_time(low, high)),
            "startAcceptSendRequestTimeStamp": str(ctx.broker.start_accept_send_request_time_stamp),
            "commitLogDiskRatio": f"{ratio}",
            "consumeQueueDiskRatio": f"{ratio}",
            "commitLogMinOffset": str(low),
            "commitLogMaxOffset": str(high),
            "bootTimestamp": str(int(stats.started * 1000)),
            "runtime": _uptime(time.time() - stats.started),
            "heldPullRequests": str(len(ctx.holds)),
            **self._ha_info(high),
        }
        return req.answer(body=fastjson.dumps({"table": table}))

    def _ha_info(self, max_offset: int) -> dict[str, str]:
        """Replication state (rmq additions; Java 4.9 shows none): acked offset and lag of
        each slave on a master, the master and how far behind it on a slave."""
        ctx = self._ctx
        info: dict[str, str] = {}
        if ctx.ha_master is not None:
            master = ctx.ha_master
            info["haConnectionCount"] = str(master.connection_count)
            info["haPush2SlaveMaxOffset"] = str(master.push2slave_max)
            info["haSlaveFallBehindBytes"] = str(max(0, max_offset - master.push2slave_max))
            for slave in master.slaves():
                info[f"haSlave_{slave.addr}"] = (
                    f"ackOffset={slave.acked_offset}, behindBytes={slave.lag_bytes}"
                )
        if ctx.ha_slave is not None:
            client = ctx.ha_slave
            info["haMasterAddress"] = client.master_addr or ""
            info["haMasterConnected"] = str(client.connected).lower()
            info["haMasterOffset"] = str(client.master_offset)
            info["haSlaveFallBehindBytes"] = str(client.fall_behind)
        return info

    def _earliest_time(self, low: int, high: int) -> int:
        if high <= low:
            return -1
        record = self._ctx.store.read_record(low)
        if record is None:
            return -1
        try:
            return decode_record(record).store_timestamp
        except MessageDecodeError:
            return -1

    # groups

    def put_group(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        try:
            config = GroupConfig.from_json(fastjson.loads(req.body or b"{}"))
        except (ValueError, TypeError) as exc:
            raise RequestError(
                ResponseCode.SYSTEM_ERROR, f"bad subscription group: {exc}"
            ) from None
        self._ctx.groups.put(config)
        return req.answer()

    def all_groups(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        return req.answer(body=fastjson.dumps(self._ctx.groups.to_json()))

    def delete_group(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        group = required(req, "groupName")
        self._ctx.groups.delete(group)
        if optional_bool(req, "removeOffset", False):
            self._ctx.offsets.remove_group(group)
        return req.answer()

    # stats and connections

    def _last_store_time(self, topic: str, queue_id: int, offset: int) -> int:
        if offset < 0:
            return 0
        result = self._ctx.store.get(topic, queue_id, offset, 1, 64 * 1024)
        if result.count == 0:
            return 0
        try:
            return decode_record(result.buffer).store_timestamp
        except MessageDecodeError:
            return 0

    def topic_stats(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        topic = required(req, "topic")
        config = self._ctx.topics.get(topic)
        if config is None:
            raise RequestError(ResponseCode.TOPIC_NOT_EXIST, f"topic[{topic}] not exist")
        name = self._ctx.broker.broker_name
        entries = []
        for queue_id in range(config.write_queue_nums):
            low, high = self._ctx.store.queue_offsets(topic, queue_id) or (0, 0)
            last = self._last_store_time(topic, queue_id, high - 1) if high > 0 else 0
            entries.append(
                (
                    _mq(topic, name, queue_id),
                    {"lastUpdateTimestamp": last, "maxOffset": high, "minOffset": low},
                )
            )
        return req.answer(body=b'{"offsetTable":' + fastjson.dumps_object_keyed(entries) + b"}")

    def consume_stats(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        ctx = self._ctx
        group = required(req, "consumerGroup")
        asked = req.field("topic")
        topics = [asked] if asked else sorted(ctx.offsets.topics_of_group(group))
        info = ctx.clients.consumer_group(group)
        name = ctx.broker.broker_name
        entries = []
        for topic in topics:
            config = ctx.topics.get(topic)
            if config is None:
                continue
            if info is not None and info.subscriptions and topic not in info.subscriptions:
                continue
            for queue_id in range(config.read_queue_nums):
                _, high = ctx.store.queue_offsets(topic, queue_id) or (0, 0)
                consumer = max(ctx.offsets.query(group, topic, queue_id), 0)
                last = self._last_store_time(topic, queue_id, consumer - 1) if consumer else 0
                entries.append(
                    (
                        _mq(topic, name, queue_id),
                        {"brokerOffset": high, "consumerOffset": consumer, "lastTimestamp": last},
                    )
                )
        body = b'{"consumeTps":0.0,"offsetTable":' + fastjson.dumps_object_keyed(entries) + b"}"
        return req.answer(body=body)

    def consumer_connections(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        group = required(req, "consumerGroup")
        info = self._ctx.clients.consumer_group(group)
        if info is None or not info.channels:
            raise RequestError(
                ResponseCode.CONSUMER_NOT_ONLINE, f"the consumer group[{group}] not online"
            )
        body = {
            "connectionSet": [c.to_json() for c in info.channels.values()],
            "consumeFromWhere": info.consume_from_where,
            "consumeType": info.consume_type,
            "messageModel": info.message_model,
            "subscriptionTable": {t: s.to_json() for t, s in info.subscriptions.items()},
        }
        return req.answer(body=fastjson.dumps(body))

    def producer_connections(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        group = required(req, "producerGroup")
        channels = self._ctx.clients.producers.get(group)
        if not channels:
            raise RequestError(ResponseCode.SYSTEM_ERROR, f"the producer group[{group}] not exist")
        body = {"connectionSet": [c.to_json() for c in channels.values()]}
        return req.answer(body=fastjson.dumps(body))

    def all_offsets(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        return req.answer(body=fastjson.dumps(self._ctx.offsets.to_json()))

    def consumed_by(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        topic = required(req, "topic")
        groups = self._ctx.clients.groups_subscribing(topic) | self._ctx.offsets.groups_of_topic(
            topic
        )
        return req.answer(body=fastjson.dumps({"groupList": sorted(groups)}))

    def consume_time_span(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        ctx = self._ctx
        topic = required(req, "topic")
        group = required(req, "group")
        config = ctx.topics.get(topic)
        if config is None:
            raise RequestError(ResponseCode.TOPIC_NOT_EXIST, f"topic[{topic}] not exist")
        spans = []
        now = int(time.time() * 1000)
        for queue_id in range(config.write_queue_nums):
            _, high = ctx.store.queue_offsets(topic, queue_id) or (0, 0)
            earliest = ctx.store.earliest_store_time(topic, queue_id)
            low_time = earliest if earliest is not None else -1
            consumer = ctx.offsets.query(group, topic, queue_id)
            span: dict[str, Any] = {
                "messageQueue": _mq(topic, ctx.broker.broker_name, queue_id),
                "minTimeStamp": low_time,
                "maxTimeStamp": self._last_store_time(topic, queue_id, high - 1),
                "consumeTimeStamp": (
                    self._last_store_time(topic, queue_id, consumer - 1)
                    if consumer > 0
                    else low_time
                ),
                "delayTime": 0,
            }
            if consumer < high:
                span["delayTime"] = now - self._last_store_time(topic, queue_id, max(consumer, 0))
            spans.append(span)
        return req.answer(body=fastjson.dumps({"consumeTimeSpanSet": spans}))

    def clone_group_offset(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        ctx = self._ctx
        src, dest = required(req, "srcGroup"), required(req, "destGroup")
        topic = req.field("topic")
        topics = [topic] if topic else sorted(ctx.offsets.topics_of_group(src))
        info = ctx.clients.consumer_group(src)
        for name in topics:
            if ctx.topics.get(name) is None:
                continue
            online = not optional_bool(req, "offline", False)
            if (
                online
                and info is not None
                and info.subscriptions
                and name not in info.subscriptions
            ):
                continue
            for queue_id, offset in ctx.offsets.table(src, name).items():
                ctx.offsets.commit(dest, name, queue_id, offset)
        return req.answer()

    def all_delay_offsets(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        """delayOffset.json as it stands (what a slave copies from its master)."""
        schedule = self._ctx.schedule
        if schedule is None:
            raise RequestError(ResponseCode.SYSTEM_ERROR, "No delay offset in this broker")
        return req.answer(body=fastjson.dumps(schedule.to_json()))

    async def call_consumer(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        """Forward to one consumer client and return its answer (Java ``callConsumer``)."""
        group, client_id = required(req, "consumerGroup"), required(req, "clientId")
        info = self._ctx.clients.consumer_group(group)
        channel = None
        if info is not None:
            channel = next((c for c in info.channels.values() if c.client_id == client_id), None)
        if channel is None or channel.conn.is_closed:
            raise RequestError(
                ResponseCode.SYSTEM_ERROR, f"The Consumer <{group}> <{client_id}> not online"
            )
        forwarded = request(req.code, dict(req.ext_fields or {}), req.body)
        try:
            answer = await channel.conn.request(forwarded, CALL_CLIENT_TIMEOUT)
        except RemotingTimeoutError as exc:
            raise RequestError(
                ResponseCode.CONSUME_MSG_TIMEOUT, f"consumer <{group}> <{client_id}> Timeout: {exc}"
            ) from None
        except RemotingError as exc:
            raise RequestError(
                ResponseCode.SYSTEM_ERROR,
                f"invoke consumer <{group}> <{client_id}> Exception: {exc}",
            ) from None
        return req.answer(answer.code, answer.remark, answer.ext_fields, answer.body)

    async def consume_directly(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        msg_id = required(req, "msgId")
        try:
            _, offset = decode_offset_msg_id(msg_id)
        except MessageIdError as exc:
            raise RequestError(ResponseCode.SYSTEM_ERROR, str(exc)) from None
        record = self._ctx.store.read_record(offset)
        ext = dict(req.ext_fields or {})
        ext["brokerName"] = self._ctx.broker.broker_name
        forwarded = RemotingCommand(
            code=req.code, opaque=req.opaque, flag=req.flag, ext_fields=ext, body=record,
            serialize_type=req.serialize_type,
        )  # fmt: skip
        return await self.call_consumer(conn, forwarded)

    # orderly consumers' queue locks

    def _lock_body(self, req: RemotingCommand) -> tuple[str, str, list[Queue]]:
        try:
            body = fastjson.loads(req.body or b"{}")
            queues = [
                (str(q["topic"]), str(q["brokerName"]), int(q["queueId"]))
                for q in body.get("mqSet") or ()
            ]
            return str(body["consumerGroup"]), str(body["clientId"]), queues
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RequestError(ResponseCode.SYSTEM_ERROR, f"bad lock body: {exc}") from None

    def lock(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        group, client_id, queues = self._lock_body(req)
        held = self.locks.lock(group, client_id, queues)
        body = {"lockOKMQSet": [_mq(t, b, q) for t, b, q in held]}
        return req.answer(body=fastjson.dumps(body))

    def unlock(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        group, client_id, queues = self._lock_body(req)
        self.locks.unlock(group, client_id, queues)
        return req.answer()

    # housekeeping

    def clean_expired_cq(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        # The store trims consume queues below the commitlog's minimum on every retention pass.
        return req.answer()

    def clean_unused_topic(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        return req.answer()


def _queue_nums(req: RemotingCommand, name: str) -> int:
    value = required_int(req, name)
    if not 0 <= value <= 1024:
        raise RequestError(ResponseCode.SYSTEM_ERROR, f"{name}={value} is out of range 0..1024")
    return value


def _uptime(seconds: float) -> str:
    s = int(seconds)
    days, hours, minutes = s // 86400, s % 86400 // 3600, s % 3600 // 60
    return f"[ {days} days, {hours} hours, {minutes} minutes, {s % 60} seconds ]"
