"""Read-only views for operators' tools (Java: parts of ``AdminBrokerProcessor``): raw consume
queue units (queryCq), every group's consume stats (brokerConsumeStats), the producer table
(producer) and the per-topic and per-group counters (statsAll)."""

import time
from typing import Any

from rmq.broker.context import BrokerContext
from rmq.broker.stats_items import GROUP_GET_NUMS
from rmq.broker.subscription import EXPRESSION_SQL92
from rmq.common import fastjson
from rmq.common.codes import LanguageCode, RequestCode, ResponseCode
from rmq.common.message import MessageDecodeError, decode_record
from rmq.remoting.command import RemotingCommand
from rmq.remoting.connection import Connection
from rmq.remoting.dispatch import Dispatcher
from rmq.remoting.errors import RequestError
from rmq.remoting.fields import optional_bool, required, required_int, required_long


class InspectionProcessor:
    def __init__(self, ctx: BrokerContext) -> None:
        self._ctx = ctx

    def register(self, dispatcher: Dispatcher) -> None:
        dispatcher.register(RequestCode.QUERY_CONSUME_QUEUE, self.query_consume_queue)
        dispatcher.register(RequestCode.GET_BROKER_CONSUME_STATS, self.broker_consume_stats)
        dispatcher.register(RequestCode.GET_ALL_PRODUCER_INFO, self.producer_table)
        dispatcher.register(RequestCode.VIEW_BROKER_STATS_DATA, self.stats_data)
        dispatcher.register(RequestCode.GET_SYSTEM_TOPIC_LIST_FROM_BROKER, self.system_topics)

    def system_topics(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        topics = sorted(self._ctx.topics.system_topics)
        return req.answer(body=fastjson.dumps({"topicList": topics}))

    def query_consume_queue(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        ctx = self._ctx
        topic = required(req, "topic")
        queue_id = required_int(req, "queueId")
        index = required_long(req, "index")
        count = required_int(req, "count")
        group = req.field("consumerGroup")
        offsets = ctx.store.queue_offsets(topic, queue_id)
        if offsets is None:
            raise RequestError(ResponseCode.SYSTEM_ERROR, f"{queue_id}@{topic} is not exist!")
        body: dict[str, Any] = {"maxQueueIndex": offsets[1], "minQueueIndex": offsets[0]}
        if group is not None:
            info = ctx.clients.consumer_group(group)
            sub = info.subscriptions.get(topic) if info is not None else None
            if sub is None:
                body["filterData"] = f"{group}@{topic} is not online!"
            else:
                body["subscriptionData"] = sub.to_json()
                # Java's ConsumerFilterData exists for SQL92 subscriptions only.
                body["filterData"] = "null"
                if sub.expression_type == EXPRESSION_SQL92:
                    body["filterData"] = fastjson.dumps_pretty({
                        "consumerGroup": group, "topic": topic, "expression": sub.sub_string,
                        "expressionType": sub.expression_type, "clientVersion": sub.sub_version,
                        "bornTime": sub.sub_version, "deadTime": 0,
                    })  # fmt: skip
        units = ctx.store.queue_units(topic, queue_id, index, max(count, 0)) or []
        if not units:
            return req.answer(
                ResponseCode.SUCCESS, f"Index {index} of {queue_id}@{topic} is not exist!"
            )
        body["queueData"] = [
            {"eval": False, "physicOffset": phy, "physicSize": size, "tagsCode": tags}
            for phy, size, tags in units
        ]
        return req.answer(body=fastjson.dumps(body))

    def broker_consume_stats(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        ctx = self._ctx
        order_only = optional_bool(req, "isOrder", False)
        name = ctx.broker.broker_name
        stats_list = []
        total_diff = 0
        for group in ctx.groups.groups:
            per_topic = []
            info = ctx.clients.consumer_group(group)
            for topic in sorted(ctx.offsets.topics_of_group(group)):
                config = ctx.topics.get(topic)
                if config is None or (order_only and not config.order):
                    continue
                if info is not None and info.subscriptions and topic not in info.subscriptions:
                    continue
                table = []
                for queue_id in range(config.write_queue_nums):
                    _, high = ctx.store.queue_offsets(topic, queue_id) or (0, 0)
                    consumer = max(ctx.offsets.query(group, topic, queue_id), 0)
                    last = self._store_time(topic, queue_id, consumer - 1)
                    wrapper = {"brokerOffset": high, "consumerOffset": consumer,
                               "lastTimestamp": last}  # fmt: skip
                    total_diff += high - consumer
                    table.append(({"brokerName": name, "queueId": queue_id, "topic": topic},
                                  wrapper))  # fmt: skip
                tps = ctx.stats.items.minute_tps(GROUP_GET_NUMS, f"{topic}@{group}")
                per_topic.append(
                    b'{"consumeTps":' + fastjson.dumps(float(tps))
                    + b',"offsetTable":' + fastjson.dumps_object_keyed(table) + b"}"
                )  # fmt: skip
            stats_list.append(b"{" + fastjson.dumps(group) + b":[" + b",".join(per_topic) + b"]}")
        body = (
            b'{"brokerAddr":' + fastjson.dumps(ctx.addr)
            + b',"consumeStatsList":[' + b",".join(stats_list)
            + b'],"totalDiff":' + str(total_diff).encode() + b"}"
        )  # fmt: skip
        return req.answer(body=body)

    def _store_time(self, topic: str, queue_id: int, offset: int) -> int:
        if offset < 0:
            return 0
        units = self._ctx.store.queue_units(topic, queue_id, offset, 1)
        if not units:
            return 0
        record = self._ctx.store.read_record(units[0][0])
        if record is None:
            return 0
        try:
            return decode_record(record).store_timestamp
        except MessageDecodeError:
            return 0

    def producer_table(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        data: dict[str, list[dict[str, Any]]] = {}
        # Channels keep monotonic times; Java shows wall-clock milliseconds.
        now, clock = time.time(), time.monotonic()
        for group, channels in self._ctx.clients.producers.items():
            for channel in channels.values():
                try:
                    language = LanguageCode(channel.language).name
                except ValueError:
                    language = "OTHER"
                data.setdefault(group, []).append({
                    "clientId": channel.client_id, "remoteIP": "/" + channel.conn.peer,
                    "language": language, "version": channel.version,
                    "lastUpdateTimestamp": int((now - (clock - channel.last_update)) * 1000),
                })  # fmt: skip
        return req.answer(body=fastjson.dumps({"data": data}))

    def stats_data(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        name, key = required(req, "statsName"), required(req, "statsKey")
        snapshot = self._ctx.stats.items.snapshot(name, key, time.time())
        if snapshot is None:
            raise RequestError(ResponseCode.SYSTEM_ERROR, f"The stats <{name}> <{key}> not exist")
        return req.answer(body=fastjson.dumps(snapshot))
