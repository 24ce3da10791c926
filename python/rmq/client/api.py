"""The requests a client sends and how their answers read (Java: ``MQClientAPIImpl``), over
one :class:`~rmq.remoting.client.RemotingClient`. No state beyond the connections: routes,
offsets and membership live in :mod:`rmq.client.instance` and the consumers."""

import contextlib
import random
import time
import zlib
from dataclasses import dataclass
from typing import Any, Final

from rmq.client.errors import BrokerError, ClientError
from rmq.client.message import (
    Message,
    MessageExt,
    MessageQueue,
    PullResult,
    PullStatus,
    SendResult,
    SendStatus,
)
from rmq.client.route import TopicRoute
from rmq.common import fastjson
from rmq.common import property_keys as pk
from rmq.common.codes import LanguageCode, RequestCode, ResponseCode
from rmq.common.message import MessageDecodeError, decode_records, encode_properties
from rmq.common.message_id import host_bytes, java_hash
from rmq.common.send_header import V2_NAMES
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import RemotingCommand, request
from rmq.remoting.errors import RemotingError

_SEND_STATUS: Final[dict[int, SendStatus]] = {
    ResponseCode.SUCCESS: SendStatus.SEND_OK,
    ResponseCode.FLUSH_DISK_TIMEOUT: SendStatus.FLUSH_DISK_TIMEOUT,
    ResponseCode.FLUSH_SLAVE_TIMEOUT: SendStatus.FLUSH_SLAVE_TIMEOUT,
    ResponseCode.SLAVE_NOT_AVAILABLE: SendStatus.SLAVE_NOT_AVAILABLE,
}
_PULL_STATUS: Final[dict[int, PullStatus]] = {
    ResponseCode.SUCCESS: PullStatus.FOUND,
    ResponseCode.PULL_NOT_FOUND: PullStatus.NO_NEW_MSG,
    ResponseCode.PULL_RETRY_IMMEDIATELY: PullStatus.NO_MATCHED_MSG,
    ResponseCode.PULL_OFFSET_MOVED: PullStatus.OFFSET_ILLEGAL,
}
PULL_FLAG_COMMIT_OFFSET: Final = 0x1
PULL_FLAG_SUSPEND: Final = 0x2
PULL_FLAG_SUBSCRIPTION: Final = 0x4


@dataclass(frozen=True, slots=True)
class Subscription:
    """A consumer's subscription as heartbeats and pulls carry it (Java SubscriptionData)."""

    topic: str
    expression: str = "*"
    expression_type: str = "TAG"
    sub_version: int = 0

    @property
    def tags(self) -> list[str]:
        if self.expression_type != "TAG" or self.expression.strip() in ("", "*"):
            return []
        return [t.strip() for t in self.expression.split("||") if t.strip()]

    def to_json(self) -> dict[str, Any]:
        tags = self.tags
        return {
            "classFilterMode": False,
            "codeSet": [java_hash(t) for t in tags],
            "expressionType": self.expression_type,
            "subString": self.expression if tags or self.expression_type != "TAG" else "*",
            "subVersion": self.sub_version,
            "tagsSet": tags,
            "topic": self.topic,
        }


def _check(reply: RemotingCommand, addr: str, *ok: int) -> RemotingCommand:
    if reply.code not in (ok or (ResponseCode.SUCCESS,)):
        raise BrokerError(reply.code, reply.remark, addr)
    return reply


class ClientAPI:
    def __init__(self, remoting: RemotingClient, timeout_ms: int = 3000,
                 language: int = LanguageCode.PYTHON) -> None:  # fmt: skip
        self.remoting = remoting
        self.timeout = timeout_ms / 1000
        self.language = language

    async def _invoke(self, addr: str, cmd: RemotingCommand, timeout: float | None = None
                      ) -> RemotingCommand:  # fmt: skip
        cmd.language = self.language
        return await self.remoting.invoke(addr, cmd, self.timeout if timeout is None else timeout)

    async def _oneway(self, addr: str, cmd: RemotingCommand) -> None:
        cmd.language = self.language
        await self.remoting.invoke_oneway(addr, cmd)

    # NameServer

    async def get_route(self, namesrv: list[str], topic: str) -> TopicRoute | None:
        """The route from one reachable NameServer; None when the topic has none."""
        last: Exception | None = None
        for addr in random.sample(namesrv, len(namesrv)):
            try:
                reply = await self._invoke(addr, request(RequestCode.GET_ROUTEINFO_BY_TOPIC,
                                                         {"topic": topic}))  # fmt: skip
            except RemotingError as exc:
                last = exc
                continue
            if reply.code == ResponseCode.TOPIC_NOT_EXIST:
                return None
            _check(reply, addr)
            return TopicRoute.from_json(topic, fastjson.loads(reply.body or b"{}"))
        raise ClientError(f"no NameServer of {namesrv} answered: {last}")

    # Sending

    async def send(self, addr: str, queue: MessageQueue, body: bytes, header: dict[str, str],
                   msg_id: str, *, batch: bool = False, oneway: bool = False,
                   timeout: float | None = None) -> SendResult | None:  # fmt: skip
        code = RequestCode.SEND_BATCH_MESSAGE if batch else RequestCode.SEND_MESSAGE_V2
        cmd = request(code, {V2_NAMES[k]: v for k, v in header.items()}, body, oneway=oneway)
        if oneway:
            await self._oneway(addr, cmd)
            return None
        reply = await self._invoke(addr, cmd, timeout)
        status = _SEND_STATUS.get(reply.code)
        if status is None:
            raise BrokerError(reply.code, reply.remark, addr)
        queue = MessageQueue(queue.topic, queue.broker_name, int(reply.field("queueId") or 0))
        return SendResult(
            status,
            msg_id,
            reply.field("msgId") or "",
            queue,
            int(reply.field("queueOffset") or 0),
            reply.field("transactionId"),
            reply.field(pk.MSG_REGION) or "DefaultRegion",
            reply.field(pk.TRACE_SWITCH) != "false",
        )

    # Consuming

    async def pull(self, addr: str, header: dict[str, str], timeout: float,
                   broker_name: str) -> PullResult:  # fmt: skip
        reply = await self._invoke(addr, request(RequestCode.PULL_MESSAGE, header), timeout)
        status = _PULL_STATUS.get(reply.code)
        if status is None:
            raise BrokerError(reply.code, reply.remark, addr)
        messages: list[MessageExt] = []
        low, high = int(reply.field("minOffset") or 0), int(reply.field("maxOffset") or 0)
        if status is PullStatus.FOUND and reply.body:
            messages = decode_messages(reply.body, broker_name, low, high)
        return PullResult(
            status,
            int(reply.field("nextBeginOffset") or 0),
            low,
            high,
            messages,
            int(reply.field("suggestWhichBrokerId") or 0),
        )

    async def heartbeat(self, addr: str, data: dict[str, Any]) -> None:
        reply = await self._invoke(addr, request(RequestCode.HEART_BEAT, body=fastjson.dumps(data)))
        _check(reply, addr)

    async def unregister(self, addr: str, client_id: str, producer_group: str | None,
                         consumer_group: str | None) -> None:  # fmt: skip
        header = {"clientID": client_id}
        if producer_group:
            header["producerGroup"] = producer_group
        if consumer_group:
            header["consumerGroup"] = consumer_group
        _check(await self._invoke(addr, request(RequestCode.UNREGISTER_CLIENT, header)), addr)

    async def consumer_ids(self, addr: str, group: str) -> list[str]:
        reply = await self._invoke(
            addr, request(RequestCode.GET_CONSUMER_LIST_BY_GROUP, {"consumerGroup": group})
        )
        if reply.code != ResponseCode.SUCCESS or not reply.body:
            return []
        return [str(c) for c in fastjson.loads(reply.body).get("consumerIdList") or ()]

    async def query_offset(self, addr: str, group: str, mq: MessageQueue) -> int:
        """The group's committed offset, -1 when it has none."""
        header = {"consumerGroup": group, "topic": mq.topic, "queueId": str(mq.queue_id)}
        reply = await self._invoke(addr, request(RequestCode.QUERY_CONSUMER_OFFSET, header))
        if reply.code == ResponseCode.QUERY_NOT_FOUND:
            return -1
        return int(_check(reply, addr).field("offset") or 0)

    async def update_offset(self, addr: str, group: str, mq: MessageQueue, offset: int,
                            *, oneway: bool = True) -> None:  # fmt: skip
        header = {"consumerGroup": group, "topic": mq.topic, "queueId": str(mq.queue_id),
                  "commitOffset": str(offset)}  # fmt: skip
        cmd = request(RequestCode.UPDATE_CONSUMER_OFFSET, header, oneway=oneway)
        if oneway:
            await self._oneway(addr, cmd)
        else:
            _check(await self._invoke(addr, cmd), addr)

    async def queue_offset(self, addr: str, code: int, mq: MessageQueue,
                           timestamp: int | None = None) -> int:  # fmt: skip
        header = {"topic": mq.topic, "queueId": str(mq.queue_id)}
        if timestamp is not None:
            header["timestamp"] = str(timestamp)
        reply = _check(await self._invoke(addr, request(code, header)), addr)
        return int(reply.field("offset") or 0)

    async def lock_batch(self, addr: str, group: str, client_id: str,
                         queues: list[MessageQueue]) -> set[MessageQueue]:  # fmt: skip
        body = {"clientId": client_id, "consumerGroup": group,
                "mqSet": [q.to_json() for q in queues]}  # fmt: skip
        reply = await self._invoke(
            addr, request(RequestCode.LOCK_BATCH_MQ, body=fastjson.dumps(body))
        )
        _check(reply, addr)
        locked = fastjson.loads(reply.body or b"{}").get("lockOKMQSet") or ()
        return {MessageQueue.from_json(q) for q in locked}

    async def unlock_batch(self, addr: str, group: str, client_id: str,
                           queues: list[MessageQueue]) -> None:  # fmt: skip
        body = {"clientId": client_id, "consumerGroup": group,
                "mqSet": [q.to_json() for q in queues]}  # fmt: skip
        cmd = request(RequestCode.UNLOCK_BATCH_MQ, body=fastjson.dumps(body), oneway=True)
        await self._oneway(addr, cmd)

    async def send_back(self, addr: str, msg: MessageExt, group: str, delay_level: int,
                        max_reconsume_times: int) -> None:  # fmt: skip
        header = {"offset": str(msg.commit_log_offset), "group": group,
                  "delayLevel": str(delay_level), "originMsgId": msg.msg_id,
                  "originTopic": msg.topic, "unitMode": "false",
                  "maxReconsumeTimes": str(max_reconsume_times)}  # fmt: skip
        reply = await self._invoke(addr, request(RequestCode.CONSUMER_SEND_MSG_BACK, header))
        _check(reply, addr)

    async def end_transaction(self, addr: str, header: dict[str, str], remark: str | None) -> None:
        cmd = request(RequestCode.END_TRANSACTION, header, oneway=True)
        cmd.remark = remark
        await self._oneway(addr, cmd)

    async def check_client_config(self, addr: str, client_id: str, group: str,
                                  sub: Subscription) -> None:  # fmt: skip
        body = {"clientId": client_id, "group": group, "subscriptionData": sub.to_json()}
        reply = await self._invoke(
            addr, request(RequestCode.CHECK_CLIENT_CONFIG, body=fastjson.dumps(body))
        )
        _check(reply, addr)


def pull_header(group: str, mq: MessageQueue, sub: Subscription, offset: int, max_nums: int,
                sys_flag: int, commit_offset: int = 0, suspend_ms: int = 15_000,
                post_subscription: bool = True) -> dict[str, str]:  # fmt: skip
    """PULL_MESSAGE's header; the subscription rides along unless the broker is to use the
    one the group's heartbeat registered."""
    header = {
        "consumerGroup": group,
        "topic": mq.topic,
        "queueId": str(mq.queue_id),
        "queueOffset": str(offset),
        "maxMsgNums": str(max_nums),
        "sysFlag": str(sys_flag | (PULL_FLAG_SUBSCRIPTION if post_subscription else 0)),
        "commitOffset": str(max(commit_offset, 0)),
        "suspendTimeoutMillis": str(suspend_ms),
        "subVersion": str(sub.sub_version),
        "expressionType": sub.expression_type,
    }
    if post_subscription:
        header["subscription"] = sub.expression
    return header


def decode_messages(body: bytes, broker_name: str, min_offset: int = 0,
                    max_offset: int = 0) -> list[MessageExt]:  # fmt: skip
    """A pull body's records as MessageExt, bodies inflated when the producer compressed."""
    try:
        stored = decode_records(body)
    except MessageDecodeError as exc:
        raise ClientError(f"bad pull body: {exc}") from None
    hosts: dict[str, bytes] = {}
    out = []
    for s in stored:
        host = hosts.get(s.store_host)
        if host is None:
            host = hosts[s.store_host] = host_bytes(s.store_host)
        data = s.body
        if s.sys_flag & pk.COMPRESSED_FLAG:
            with contextlib.suppress(zlib.error):
                data = zlib.decompress(data)
        s.properties[pk.MIN_OFFSET] = str(min_offset)
        s.properties[pk.MAX_OFFSET] = str(max_offset)
        out.append(MessageExt.of(s, host, broker_name, data))
    return out


def send_header(group: str, msg: Message, queue: MessageQueue, sys_flag: int,
                *, batch: bool = False, default_topic: str = "TBW102",
                default_queue_nums: int = 4) -> dict[str, str]:  # fmt: skip
    header = {
        "producerGroup": group,
        "topic": msg.topic,
        "defaultTopic": default_topic,
        "defaultTopicQueueNums": str(default_queue_nums),
        "queueId": str(queue.queue_id),
        "sysFlag": str(sys_flag),
        "bornTimestamp": str(int(time.time() * 1000)),
        "flag": str(msg.flag),
        "properties": encode_properties(msg.properties),
        "reconsumeTimes": "0",
        "unitMode": "false",
        "batch": "true" if batch else "false",
    }
    if msg.topic.startswith("%RETRY%"):
        reconsume = msg.properties.pop(pk.RECONSUME_TIME, None)
        if reconsume is not None:
            header["reconsumeTimes"] = reconsume
        max_times = msg.properties.pop(pk.MAX_RECONSUME_TIMES, None)
        if max_times is not None:
            header["maxReconsumeTimes"] = max_times
        header["properties"] = encode_properties(msg.properties)
    return header
