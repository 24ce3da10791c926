"""What the Message, Dead-letter and Trace pages show: messages of a topic in a time range
(paged on the server: only the page's messages are pulled), by key, by id, one message with
its consumption state per group, a resend to a consumer, the trace of a message."""

import asyncio
import base64
from typing import Any, Final

from rmq.admin.admin_client import AdminClient, AdminError
from rmq.admin.message import message_tracks
from rmq.admin.trace import trace_views
from rmq.client.api import decode_messages
from rmq.client.errors import ClientError
from rmq.client.message import MessageExt, MessageQueue
from rmq.common import fastjson
from rmq.common.codes import RequestCode, ResponseCode
from rmq.common.message_id import MessageIdError, decode_offset_msg_id
from rmq.console.topic_data import BadInput, Page, checked_topic
from rmq.remoting.command import request

PULL_BATCH: Final = 32
MAX_KEY_HITS: Final = 64
MAX_PAGE: Final = 100
BODY_PREVIEW: Final = 256


def summary(msg: MessageExt) -> dict[str, Any]:
    return {
        "msgId": msg.msg_id,
        "offsetMsgId": msg.offset_msg_id,
        "topic": msg.topic,
        "tags": msg.tags or "",
        "keys": msg.keys or "",
        "broker": msg.broker_name,
        "queue": msg.queue_id,
        "queueOffset": msg.queue_offset,
        "storeTimestamp": msg.store_timestamp,
        "bodyPreview": msg.body[:BODY_PREVIEW].decode("utf-8", "replace"),
    }


def detail(msg: MessageExt) -> dict[str, Any]:
    return {
        **summary(msg),
        "properties": dict(sorted(msg.properties.items())),
        "body": msg.body.decode("utf-8", "replace"),
        "bodyHex": msg.body.hex(),
        "bodyBase64": base64.b64encode(msg.body).decode(),
        "bornHost": msg.born_host,
        "storeHost": msg.store_host,
        "bornTimestamp": msg.born_timestamp,
        "reconsumeTimes": msg.reconsume_times,
        "sysFlag": msg.sys_flag,
        "commitLogOffset": msg.commit_log_offset,
    }


def _decode(data: bytes, broker: str = "") -> list[MessageExt]:
    try:
        return decode_messages(data, broker)
    except ClientError as exc:
        raise AdminError(str(exc)) from None


def checked_range(begin: int, end: int) -> None:
    if begin < 0 or end <= begin:
        raise BadInput("the time range needs 0 <= begin < end (milliseconds since the epoch)")


async def _queue_window(
    admin: AdminClient, mq: MessageQueue, begin: int, end: int
) -> tuple[MessageQueue, int, int]:
    low, high = await admin.queue_bounds(mq)
    if high <= low:
        return mq, low, low
    first = max(low, await admin.search_offset(mq, begin))
    last = min(high, await admin.search_offset(mq, end) + 1)
    return mq, first, max(first, last)


async def _pull_range(
    admin: AdminClient, mq: MessageQueue, start: int, count: int
) -> list[MessageExt]:
    out: list[MessageExt] = []
    offset = start
    while len(out) < count:
        answer = await admin.pull(mq, "*", offset, min(PULL_BATCH, count - len(out)))
        if not answer.records:
            break
        msgs = _decode(answer.records, mq.broker_name)
        out.extend(msgs)
        offset = answer.next_begin
    return out[:count]


async def by_topic_and_time(
    admin: AdminClient, topic: str, begin: int, end: int, page: int, size: int
) -> Page:
    """Messages stored in [begin, end]: each queue's window is found by time, the windows
    are laid end to end, and only the slice for this page is pulled."""
    checked_topic(topic)
    checked_range(begin, end)
    if page < 1 or not 1 <= size <= MAX_PAGE:
        raise BadInput(f"page starts at 1 and size is 1..{MAX_PAGE}")
    queues = sorted(await admin.subscribe_queues(topic))
    windows = await asyncio.gather(*(_queue_window(admin, mq, begin, end) for mq in queues))
    total = sum(last - first for _, first, last in windows)
    skip, want = (page - 1) * size, size
    pulls = []
    for mq, first, last in windows:
        span = last - first
        if skip >= span:
            skip -= span
            continue
        take = min(want, span - skip)
        pulls.append(_pull_range(admin, mq, first + skip, take))
        skip, want = 0, want - take
        if want == 0:
            break
    rows = [
        summary(m)
        for batch in await asyncio.gather(*pulls)
        for m in batch
        if begin <= m.store_timestamp <= end
    ]
    return Page(rows, total, page, size)


async def by_key(admin: AdminClient, topic: str, key: str) -> list[dict[str, Any]]:
    checked_topic(topic)
    if not key or len(key) > 255:
        raise BadInput("the key is 1..255 characters")
    found: list[MessageExt] = []
    for batch in await admin.query_message(topic, key, MAX_KEY_HITS, 0, 2**63 - 1):
        found.extend(m for m in _decode(batch) if key in (m.keys or "").split(" "))
    found.sort(key=lambda m: m.store_timestamp)
    return [summary(await _named(admin, m)) for m in found]


async def find_message(admin: AdminClient, topic: str, msg_id: str) -> MessageExt:
    """By the producer's unique key in the topic's index, else by offset message id (broker
    address and commitlog offset); both are 32 hex digits, so both are tried."""
    checked_topic(topic)
    msg_id = msg_id.strip()
    if not msg_id or len(msg_id) > 128:
        raise BadInput("the message id is 1..128 characters")
    for batch in await admin.query_message(topic, msg_id, 32, 0, 2**63 - 1, unique=True):
        for msg in _decode(batch):
            if msg.msg_id == msg_id:
                return await _named(admin, msg)
    try:
        decode_offset_msg_id(msg_id)
        msgs = _decode(await admin.view_message(msg_id))
    except (MessageIdError, AdminError):
        msgs = []
    if msgs and msgs[0].topic == topic:
        return await _named(admin, msgs[0])
    raise LookupError(f"no message {msg_id} in topic {topic}")


async def _named(admin: AdminClient, msg: MessageExt) -> MessageExt:
    """Records read by id or key do not say which broker they came from: the store host
    does."""
    if not msg.broker_name:
        info = await admin.cluster_info()
        msg.broker_name = info.broker_name_of(msg.store_host) or ""
    return msg


async def message_view(admin: AdminClient, topic: str, msg_id: str) -> dict[str, Any]:
    msg = await find_message(admin, topic, msg_id)
    tracks = await message_tracks(admin, msg)
    return {
        **detail(msg),
        "tracks": [{"group": g, "type": t, "desc": d or ""} for g, t, d in tracks],
    }


async def resend(
    admin: AdminClient, topic: str, msg_id: str, group: str, client_id: str
) -> dict[str, Any]:
    """Have one online consumer of ``group`` consume the message again
    (CONSUME_MESSAGE_DIRECTLY, as the reference console's resend)."""
    msg = await find_message(admin, topic, msg_id)
    header = {"consumerGroup": group, "clientId": client_id, "msgId": msg.offset_msg_id}
    if msg.topic.startswith("%DLQ%") or msg.topic.startswith("%RETRY%"):
        header["topic"] = msg.properties.get("RETRY_TOPIC", msg.topic)
    cmd = request(RequestCode.CONSUME_MESSAGE_DIRECTLY, header)
    reply = await admin.call(msg.store_host, cmd, timeout=admin.timeout * 3)
    result: dict[str, Any] = fastjson.loads(reply.body or b"{}")
    return {
        "consumeResult": result.get("consumeResult"),
        "remark": result.get("remark"),
        "spentTimeMills": result.get("spentTimeMills"),
    }


async def trace(admin: AdminClient, msg_id: str, trace_topic: str) -> list[dict[str, Any]]:
    checked_topic(trace_topic)
    if not msg_id or len(msg_id) > 128:
        raise BadInput("the message id is 1..128 characters")
    try:
        views = await trace_views(admin, msg_id, trace_topic)
    except AdminError as exc:
        if exc.code != ResponseCode.TOPIC_NOT_EXIST:
            raise
        return []  # no traced client has written the trace topic yet
    return [
        {
            "type": v.kind,
            "group": v.group,
            "host": v.client_host,
            "timestamp": v.timestamp,
            "costMs": v.cost_ms,
            "success": v.success,
        }
        for v in views
    ]
