"""What the Topic page shows and changes: the topic list by kind (paged on the server),
per-queue status, route, consuming groups, create/update/delete, a test message."""

import asyncio
import os
from dataclasses import dataclass
from typing import Any, Final, Literal

from rmq.admin.admin_client import AdminClient, AdminError, ClusterInfo
from rmq.client.config import ClientConfig
from rmq.client.errors import ClientError
from rmq.client.message import Message
from rmq.client.producer import Producer
from rmq.common.perm import PERM_READ, PERM_WRITE
from rmq.common.topic import (
    DLQ_GROUP_TOPIC_PREFIX,
    RETRY_GROUP_TOPIC_PREFIX,
    InvalidTopicName,
    is_system_topic,
    validate_topic,
)

TopicKind = Literal["normal", "retry", "dlq", "system"]
KINDS: Final = ("normal", "retry", "dlq", "system")
ORDER_NAMESPACE: Final = "ORDER_TOPIC_CONFIG"
REPLY_TOPIC_SUFFIX: Final = "_REPLY_TOPIC"


class BadInput(ValueError):
    """A request the console refuses before asking any server (answered 400)."""


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Any]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "total": self.total,
            "page": self.page,
            "size": self.size,
            "pages": self.pages,
        }


def page_of(items: list[Any], page: int, size: int) -> Page:
    if page < 1 or not 1 <= size <= 500:
        raise BadInput("page starts at 1 and size is 1..500")
    start = (page - 1) * size
    return Page(items[start : start + size], len(items), page, size)


def topic_kind(topic: str, cluster_names: set[str]) -> TopicKind:
    if topic.startswith(RETRY_GROUP_TOPIC_PREFIX):
        return "retry"
    if topic.startswith(DLQ_GROUP_TOPIC_PREFIX):
        return "dlq"
    # Brokers also create topics named after their cluster (and its reply topic) and
    # after themselves.
    reply_of = topic.removesuffix(REPLY_TOPIC_SUFFIX) if topic.endswith(REPLY_TOPIC_SUFFIX) else ""
    if is_system_topic(topic) or topic in cluster_names or reply_of in cluster_names:
        return "system"
    return "normal"


async def topic_page(admin: AdminClient, kinds: set[str], query: str, page: int, size: int) -> Page:
    unknown = kinds - set(KINDS)
    if unknown:
        raise BadInput(f"unknown topic kind {sorted(unknown)[0]!r}; use {', '.join(KINDS)}")
    topics, info = await asyncio.gather(admin.topic_list(), admin.cluster_info())
    reserved = set(info.clusters) | set(info.brokers)
    rows = [
        {"topic": t, "kind": kind}
        for t in sorted(topics)
        if (kind := topic_kind(t, reserved)) in kinds and query.lower() in t.lower()
    ]
    return page_of(rows, page, size)


async def cluster_of(admin: AdminClient, cluster: str) -> ClusterInfo:
    """The NameServer's cluster table, or LookupError (404) when ``cluster`` is not in it."""
    info = await admin.cluster_info()
    if cluster not in info.clusters:
        raise LookupError(f"no cluster named {cluster}")
    return info


def checked_topic(topic: str) -> str:
    try:
        validate_topic(topic)
    except InvalidTopicName as exc:
        raise BadInput(str(exc)) from None
    return topic


async def topic_status(admin: AdminClient, topic: str) -> list[dict[str, Any]]:
    """Min/max offset and last update of every queue, from the masters of its route."""
    route = await admin.route(checked_topic(topic))
    masters = [b.master_addr for b in route.brokers if b.master_addr]
    tables = await asyncio.gather(*(admin.topic_stats(addr, topic) for addr in masters))
    rows = []
    for table in tables:
        for mq, stats in table.items():
            rows.append(
                {
                    "broker": mq.broker_name,
                    "queue": mq.queue_id,
                    "min": stats.get("minOffset", 0),
                    "max": stats.get("maxOffset", 0),
                    "lastUpdate": stats.get("lastUpdateTimestamp", 0),
                }
            )
    rows.sort(key=lambda r: (r["broker"], r["queue"]))
    return rows


async def topic_route(admin: AdminClient, topic: str) -> dict[str, Any]:
    return await admin.route_json(checked_topic(topic))


async def topic_groups(admin: AdminClient, topic: str) -> list[dict[str, Any]]:
    """The groups consuming a topic with their lag on it."""
    groups = await admin.consumer_groups_of(checked_topic(topic))

    async def lag(group: str) -> dict[str, Any]:
        try:
            table, tps = await admin.consume_stats(group, topic)
        except AdminError:
            return {"group": group, "lag": None, "tps": 0.0}
        diff = sum(w.get("brokerOffset", 0) - w.get("consumerOffset", 0) for w in table.values())
        return {"group": group, "lag": diff, "tps": tps}

    return list(await asyncio.gather(*(lag(g) for g in sorted(groups))))


async def save_topic(
    admin: AdminClient, cluster: str, topic: str, read: int, write: int, perm: int, order: bool
) -> list[str]:
    """Create or update the topic on every master of ``cluster`` (mqadmin updateTopic -c);
    the addresses written."""
    checked_topic(topic)
    if not (1 <= read <= 1024 and 1 <= write <= 1024):
        raise BadInput("read and write queue numbers are 1..1024")
    if perm not in (PERM_READ, PERM_WRITE, PERM_READ | PERM_WRITE):
        raise BadInput("perm is 2 (write), 4 (read) or 6 (read and write)")
    info = await cluster_of(admin, cluster)
    config = {
        "topic": topic,
        "readQueueNums": str(read),
        "writeQueueNums": str(write),
        "perm": str(perm),
        "topicFilterType": "SINGLE_TAG",
        "topicSysFlag": "0",
        "order": "true" if order else "false",
    }
    addrs = info.master_addrs(cluster)
    await asyncio.gather(*(admin.create_topic(addr, config) for addr in addrs))
    if order:
        conf = ";".join(f"{name}:{write}" for name in info.clusters[cluster])
        await admin.put_kv(ORDER_NAMESPACE, topic, conf)
    return addrs


async def delete_topic(admin: AdminClient, cluster: str, topic: str) -> None:
    """Every master of the cluster, then every NameServer (mqadmin deleteTopic)."""
    checked_topic(topic)
    info = await cluster_of(admin, cluster)
    for addr in info.master_addrs(cluster):
        await admin.delete_topic_in_broker(addr, topic)
    await admin.delete_topic_in_namesrv(topic, cluster)


async def send_test_message(
    admin: AdminClient, topic: str, tags: str, keys: str, body: str, vip_channel: bool
) -> dict[str, Any]:
    checked_topic(topic)
    if not body:
        raise BadInput("the message body is empty")
    if len(body.encode()) > 4 * 1024 * 1024:
        raise BadInput("the message body is larger than 4 MiB")
    config = ClientConfig(
        namesrv_addr=";".join(admin.namesrv),
        instance_name=f"rmq-console-{os.getpid()}",
        vip_channel_enabled=vip_channel,
    )
    producer = Producer("rmq-console-test-producer", config=config)
    try:
        await producer.start()
        msg = Message(topic, body.encode(), tags=tags or None, keys=keys or None)
        result = await producer.send(msg)
    except ClientError as exc:
        raise AdminError(str(exc)) from None
    finally:
        await producer.shutdown()
    mq = result.message_queue
    return {
        "status": result.send_status.name,
        "msgId": result.msg_id,
        "offsetMsgId": result.offset_msg_id,
        "broker": mq.broker_name,
        "queue": mq.queue_id,
        "queueOffset": result.queue_offset,
    }
