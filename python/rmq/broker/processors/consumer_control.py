"""Requests that act on a consumer group's online clients through the broker (Java:
``Broker2Client.resetOffset`` and ``getConsumeStatus``): mqadmin's resetOffsetByTime and
skipAccumulatedMessage, and getConsumerStatus.

A reset computes each queue's new offset here and pushes it to every online client of the
group (RESET_CONSUMER_CLIENT_OFFSET, oneway); the clients drop their cached messages and
commit the new offsets back. With nobody online the broker answers CONSUMER_NOT_ONLINE and
mqadmin falls back to writing offsets itself (UPDATE_CONSUMER_OFFSET), as with Java."""

import logging
from typing import Any, Final

from rmq.broker.clients import ClientChannel
from rmq.broker.context import BrokerContext
from rmq.common import fastjson
from rmq.common.codes import LanguageCode, RequestCode, ResponseCode
from rmq.remoting.command import RemotingCommand, request
from rmq.remoting.connection import Connection
from rmq.remoting.dispatch import Dispatcher
from rmq.remoting.errors import RemotingError, RequestError
from rmq.remoting.fields import optional_bool, required, required_long

log = logging.getLogger(__name__)

#: Java ``Broker2Client``: oneway push and the status call both give the client 5 s.
CLIENT_CALL_TIMEOUT: Final = 5.0
#: Java rejects clients older than V3_0_7_SNAPSHOT for these requests.
MIN_CLIENT_VERSION: Final = 28
SKIP_ACCUMULATED: Final = -1


def _mq(topic: str, broker_name: str, queue_id: int) -> dict[str, Any]:
    return {"brokerName": broker_name, "queueId": queue_id, "topic": topic}


def _offset_body(entries: list[tuple[dict[str, Any], int]], for_cpp: bool) -> bytes:
    if for_cpp:
        # Java ResetOffsetBodyForC: a list, because the C++ client cannot read object keys.
        rows = [{**mq, "offset": offset} for mq, offset in entries]
        return fastjson.dumps({"offsetTable": rows})
    return b'{"offsetTable":' + fastjson.dumps_object_keyed(entries) + b"}"


class ConsumerControlProcessor:
    def __init__(self, ctx: BrokerContext) -> None:
        self._ctx = ctx

    def register(self, dispatcher: Dispatcher) -> None:
        dispatcher.register(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, self.reset_offset)
        dispatcher.register(RequestCode.INVOKE_BROKER_TO_GET_CONSUMER_STATUS, self.consumer_status)

    def reset_offset(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        ctx = self._ctx
        topic, group = required(req, "topic"), required(req, "group")
        timestamp = required_long(req, "timestamp")
        force = optional_bool(req, "isForce", False)
        log.info(
            "reset offset started by %s: topic=%s group=%s timestamp=%d force=%s",
            conn.peer, topic, group, timestamp, force,
        )  # fmt: skip
        config = ctx.topics.get(topic)
        if config is None:
            raise RequestError(
                ResponseCode.SYSTEM_ERROR,
                f"[reset-offset] reset offset failed, no topic in this broker. topic={topic}",
            )
        entries: list[tuple[dict[str, Any], int]] = []
        for queue_id in range(config.write_queue_nums):
            current = ctx.offsets.query(group, topic, queue_id)
            if current == -1:
                raise RequestError(
                    ResponseCode.SYSTEM_ERROR, f"THe consumer group <{group}> not exist"
                )
            if timestamp == SKIP_ACCUMULATED:
                _, target = ctx.store.queue_offsets(topic, queue_id) or (0, 0)
            else:
                target = max(ctx.store.search_offset(topic, queue_id, timestamp), 0)
            chosen = target if force or target < current else current
            entries.append((_mq(topic, ctx.broker.broker_name, queue_id), chosen))

        info = ctx.clients.consumer_group(group)
        channels = list(info.channels.values()) if info is not None else []
        if not channels:
            raise RequestError(
                ResponseCode.CONSUMER_NOT_ONLINE,
                f"Consumer not online, so can not reset offset, Group: {group} "
                f"Topic: {topic} Timestamp: {timestamp}",
            )
        self._check_versions(channels)
        header = {"topic": topic, "group": group, "timestamp": str(timestamp),
                  "isForce": "true" if force else "false"}  # fmt: skip
        for channel in channels:
            push = request(
                RequestCode.RESET_CONSUMER_CLIENT_OFFSET,
                header,
                _offset_body(entries, channel.language == LanguageCode.CPP),
                oneway=True,
            )
            try:
                channel.conn.oneway(push)
                log.info("reset offset pushed: topic=%s group=%s client=%s",
                         topic, group, channel.client_id)  # fmt: skip
            except RemotingError as exc:
                log.error("reset offset push to %s failed: %s", channel.client_id, exc)
        return req.answer(body=_offset_body(entries, req.language == LanguageCode.CPP))

    async def consumer_status(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        topic, group = required(req, "topic"), required(req, "group")
        origin = req.field("clientAddr") or ""
        info = self._ctx.clients.consumer_group(group)
        channels = list(info.channels.values()) if info is not None else []
        if not channels:
            raise RequestError(
                ResponseCode.SYSTEM_ERROR,
                f"No Any Consumer online in the consumer group: [{group}]",
            )
        self._check_versions(channels)
        tables: list[bytes] = []
        for channel in channels:
            if origin and channel.client_id != origin:
                continue
            ask = request(RequestCode.GET_CONSUMER_STATUS_FROM_CLIENT,
                          {"topic": topic, "group": group})  # fmt: skip
            try:
                answer = await channel.conn.request(ask, CLIENT_CALL_TIMEOUT)
            except RemotingError as exc:
                log.error("consumer status from %s failed: %s", channel.client_id, exc)
                continue
            if answer.code == ResponseCode.SUCCESS and answer.body:
                table = _message_queue_table(answer.body)
                if table is not None:
                    tables.append(fastjson.dumps(channel.client_id) + b":" + table)
            if origin:
                break
        body = b'{"consumerTable":{' + b",".join(tables) + b'},"messageQueueTable":{}}'
        return req.answer(body=body)

    @staticmethod
    def _check_versions(channels: list[ClientChannel]) -> None:
        for channel in channels:
            if channel.version < MIN_CLIENT_VERSION:
                raise RequestError(
                    ResponseCode.SYSTEM_ERROR,
                    f"the client does not support this feature. version={channel.version}",
                )


def _message_queue_table(body: bytes) -> bytes | None:
    """The client's ``messageQueueTable`` re-encoded with object keys, as Java relays it."""
    try:
        data = fastjson.loads(body)
    except ValueError:
        return None
    table = data.get("messageQueueTable") if isinstance(data, dict) else None
    if not isinstance(table, dict):
        return None
    entries = [
        (key.as_dict(), int(offset))
        for key, offset in table.items()
        if isinstance(key, fastjson.ObjectKey)
    ]
    return fastjson.dumps_object_keyed(entries)
