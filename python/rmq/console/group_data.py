"""What the Consumer and Producer pages show and change: subscription groups with online
clients, TPS and lag (stats only for the page shown), per-queue consume detail, client
connections, group create/update/delete, reset offset by time, skip accumulated."""

import asyncio
from typing import Any

from rmq.admin.admin_client import AdminClient, AdminError
from rmq.admin.offset import reset_offline
from rmq.client.message import MessageQueue
from rmq.common import fastjson
from rmq.common.codes import RequestCode
from rmq.console.topic_data import BadInput, Page, checked_topic, cluster_of, page_of
from rmq.remoting.command import request

#: Groups every broker creates for itself; listed only when asked for system groups.
SYSTEM_GROUPS = frozenset(
    {
        "TOOLS_CONSUMER",
        "FILTERSRV_CONSUMER",
        "SELF_TEST_C_GROUP",
        "CID_ONS-HTTP-PROXY",
        "CID_ONSAPI_PERMISSION",
        "CID_ONSAPI_OWNER",
        "CID_ONSAPI_PULL",
        "CID_RMQ_SYS_TRANS",
        "SELF_TEST_P_GROUP",
        "CLIENT_INNER_PRODUCER",
        "TBW102",
    }
)


async def _group_table(admin: AdminClient) -> dict[str, dict[str, Any]]:
    """Every subscription group of every master, with the brokers that hold it."""
    info = await admin.cluster_info()
    masters = [(name, addrs[0]) for name, (_, addrs) in sorted(info.brokers.items()) if 0 in addrs]
    replies = await asyncio.gather(
        *(
            admin.call(addr, request(RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG))
            for _, addr in masters
        ),
        return_exceptions=True,
    )
    groups: dict[str, dict[str, Any]] = {}
    for (name, _), reply in zip(masters, replies, strict=True):
        if isinstance(reply, BaseException):
            continue
        table = fastjson.loads(reply.body or b"{}").get("subscriptionGroupTable") or {}
        for group, config in table.items():
            entry = groups.setdefault(str(group), {"config": config, "brokers": []})
            entry["brokers"].append(name)
    return groups


async def _summary(admin: AdminClient, group: str, brokers: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "group": group,
        "brokers": brokers,
        "online": 0,
        "tps": 0.0,
        "lag": None,
        "model": "",
        "version": "",
    }
    conn, stats = await asyncio.gather(
        admin.consumer_connection(group), admin.consume_stats(group), return_exceptions=True
    )
    if isinstance(conn, dict):
        clients = conn.get("connectionSet") or []
        row["online"] = len(clients)
        row["model"] = str(conn.get("messageModel") or "")
        versions = {str(c.get("versionDesc") or c.get("version") or "") for c in clients}
        row["version"] = ", ".join(sorted(v for v in versions if v))
    if isinstance(stats, tuple):
        table, tps = stats
        row["tps"] = round(tps, 2)
        row["lag"] = sum(
            w.get("brokerOffset", 0) - w.get("consumerOffset", 0) for w in table.values()
        )
    return row


async def group_page(admin: AdminClient, query: str, system: bool, page: int, size: int) -> Page:
    table = await _group_table(admin)
    names = [
        g
        for g in sorted(table)
        if query.lower() in g.lower() and (system or g not in SYSTEM_GROUPS)
    ]
    shown = page_of(names, page, size)
    rows = await asyncio.gather(*(_summary(admin, g, table[g]["brokers"]) for g in shown.rows))
    return Page(list(rows), shown.total, shown.page, shown.size)


def checked_group(group: str) -> str:
    try:
        checked_topic(group)
    except BadInput as exc:
        raise BadInput(str(exc).replace("topic", "group")) from None
    return group


async def consume_detail(admin: AdminClient, group: str) -> dict[str, Any]:
    """Per queue: broker offset, consumer offset, lag, the client holding it."""
    checked_group(group)
    table, tps = await admin.consume_stats(group)
    owners: dict[MessageQueue, str] = {}
    try:
        conn = await admin.consumer_connection(group)
        for c in conn.get("connectionSet") or ():
            client = str(c.get("clientId"))
            for mq in await admin.running_info_queues(group, client):
                owners[mq] = client
    except AdminError:
        pass
    rows = []
    for mq in sorted(table):
        w = table[mq]
        rows.append(
            {
                "topic": mq.topic,
                "broker": mq.broker_name,
                "queue": mq.queue_id,
                "brokerOffset": w.get("brokerOffset", 0),
                "consumerOffset": w.get("consumerOffset", 0),
                "lag": w.get("brokerOffset", 0) - w.get("consumerOffset", 0),
                "client": owners.get(mq, ""),
                "lastTimestamp": w.get("lastTimestamp", 0),
            }
        )
    return {"group": group, "tps": tps, "lag": sum(r["lag"] for r in rows), "queues": rows}


async def connection(admin: AdminClient, group: str) -> dict[str, Any]:
    """Online clients and their subscriptions (empty when none is online)."""
    checked_group(group)
    try:
        conn = await admin.consumer_connection(group)
    except AdminError as exc:
        if "CONSUMER_NOT_ONLINE" in str(exc) or "Not found" in str(exc) or exc.code == 206:
            return {"clients": [], "subscriptions": [], "consumeType": "", "messageModel": ""}
        raise
    clients = [
        {
            "clientId": c.get("clientId"),
            "addr": c.get("clientAddr"),
            "language": c.get("language"),
            "version": c.get("versionDesc") or c.get("version"),
        }
        for c in conn.get("connectionSet") or ()
    ]
    subs = [
        {"topic": s.get("topic"), "expression": s.get("subString"), "type": s.get("expressionType")}
        for s in (conn.get("subscriptionTable") or {}).values()
    ]
    return {
        "clients": clients,
        "subscriptions": subs,
        "consumeType": conn.get("consumeType"),
        "messageModel": conn.get("messageModel"),
    }


async def producer_connection(admin: AdminClient, group: str, topic: str) -> list[dict[str, Any]]:
    checked_group(group)
    checked_topic(topic)
    try:
        data = await admin.producer_connection(group, topic)
    except AdminError as exc:
        # Apache answers SYSTEM_ERROR "the producer group[...] not exist" when none is online.
        if "Not found" in str(exc) or "not exist" in exc.remark:
            return []
        raise
    return [
        {
            "clientId": c.get("clientId"),
            "addr": c.get("clientAddr"),
            "language": c.get("language"),
            "version": c.get("versionDesc") or c.get("version"),
        }
        for c in data.get("connectionSet") or ()
    ]


async def save_group(
    admin: AdminClient,
    cluster: str,
    group: str,
    retry_queues: int,
    max_retries: int,
    broadcast: bool,
    enabled: bool,
) -> list[str]:
    checked_group(group)
    if not (1 <= retry_queues <= 64 and 0 <= max_retries <= 64):
        raise BadInput("retry queues are 1..64 and max reconsume times 0..64")
    info = await cluster_of(admin, cluster)
    config = {
        "groupName": group,
        "consumeEnable": enabled,
        "consumeFromMinEnable": True,
        "consumeBroadcastEnable": broadcast,
        "retryQueueNums": retry_queues,
        "retryMaxTimes": max_retries,
        "brokerId": 0,
        "whichBrokerWhenConsumeSlowly": 1,
        "notifyConsumerIdsChangedEnable": True,
    }
    addrs = info.master_addrs(cluster)
    await asyncio.gather(*(admin.put_group(addr, config) for addr in addrs))
    return addrs


async def delete_group(admin: AdminClient, cluster: str, group: str) -> None:
    checked_group(group)
    info = await cluster_of(admin, cluster)
    for addr in info.master_addrs(cluster):
        await admin.delete_group(addr, group, remove_offset=True)


def _queue_key(mq: MessageQueue) -> str:
    return f"{mq.broker_name}:{mq.queue_id}"


async def reset_offset(
    admin: AdminClient, group: str, topic: str, timestamp: int
) -> dict[str, int]:
    """Online consumers are told (INVOKE_BROKER_TO_RESET_OFFSET); an offline group's stored
    offsets are rewritten, as mqadmin resetOffsetByTime does. "broker:queue" -> new offset;
    a timestamp of -1 means the end of every queue."""
    checked_group(group)
    checked_topic(topic)
    pushed = await admin.reset_offset_online(topic, group, timestamp, force=True, cplus=False)
    if pushed is not None:
        return {_queue_key(mq): off for mq, off in sorted(pushed.items())}
    rows = await reset_offline(admin, group, topic, timestamp, force=True)
    return {f"{name}:{qid}": target for name, qid, _, _, target, _ in sorted(rows)}


async def skip_accumulated(admin: AdminClient, group: str, topic: str) -> dict[str, int]:
    """Move the group to the end of every queue of the topic (mqadmin skipAccumulatedMessage)."""
    return await reset_offset(admin, group, topic, -1)
