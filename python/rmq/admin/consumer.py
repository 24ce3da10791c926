"""Group and connection commands (Java: ``tools.command.consumer``, ``.connection``):
updateSubGroup, deleteSubGroup, getConsumerConfig, consumerConnection, producerConnection,
consumerProgress."""

import datetime
from typing import Any

from rmq.admin.admin_client import AdminClient, AdminError
from rmq.admin.command import Command, out
from rmq.admin.options import Args, Opt, UsageError
from rmq.admin.topic import delete_topic_everywhere
from rmq.client.message import MessageQueue
from rmq.common import fastjson
from rmq.common.codes import RequestCode
from rmq.common.version_names import version_desc
from rmq.remoting.command import request

GROUP_FIELDS = ("groupName", "consumeEnable", "consumeFromMinEnable", "consumeBroadcastEnable",
                "retryQueueNums", "retryMaxTimes", "brokerId", "whichBrokerWhenConsumeSlowly",
                "notifyConsumerIdsChangedEnable")  # fmt: skip


def _java(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def group_text(c: dict[str, Any]) -> str:
    """Java ``SubscriptionGroupConfig.toString()``."""
    return ("SubscriptionGroupConfig [" + ", ".join(f"{f}={_java(c.get(f))}" for f in GROUP_FIELDS)
            + "]")  # fmt: skip


def _flag(args: Args, short: str) -> bool | None:
    value = args.get(short)
    return None if value is None else value.lower() == "true"


async def update_sub_group(args: Args, admin: AdminClient) -> None:
    config: dict[str, Any] = {
        "groupName": args.need("g"), "consumeEnable": True, "consumeFromMinEnable": False,
        "consumeBroadcastEnable": False, "retryQueueNums": 1, "retryMaxTimes": 16,
        "brokerId": 0, "whichBrokerWhenConsumeSlowly": 1, "notifyConsumerIdsChangedEnable": True,
    }  # fmt: skip
    flags = (("s", "consumeEnable"), ("m", "consumeFromMinEnable"),
             ("d", "consumeBroadcastEnable"), ("a", "notifyConsumerIdsChangedEnable"))  # fmt: skip
    for short, name in flags:
        flag = _flag(args, short)
        if flag is not None:
            config[name] = flag
    for short, name in (("q", "retryQueueNums"), ("r", "retryMaxTimes"), ("i", "brokerId"),
                        ("w", "whichBrokerWhenConsumeSlowly")):  # fmt: skip
        if args.has(short):
            config[name] = args.int(short, 0)
    if args.has("b"):
        addr = args.need("b")
        await admin.put_group(addr, config)
        out(f"create subscription group to {addr} success.\n")
        out(group_text(config))
        return
    if not args.has("c"):
        raise UsageError("updateSubGroup needs -b or -c")
    info = await admin.cluster_info()
    for addr in info.master_addrs(args.need("c")):
        await admin.put_group(addr, config)
        out(f"create subscription group to {addr} success.\n")
    out(group_text(config))


async def delete_sub_group(args: Args, admin: AdminClient) -> None:
    group = args.need("g")
    remove = (args.get("r") or "false").lower() == "true"
    if args.has("b"):
        addr = args.need("b")
        await admin.delete_group(addr, group, remove)
        out(f"delete subscription group [{group}] from broker [{addr}] success.\n")
        return
    if not args.has("c"):
        raise UsageError("deleteSubGroup needs -b or -c")
    cluster = args.need("c")
    info = await admin.cluster_info()
    for addr in info.master_addrs(cluster):
        await admin.delete_group(addr, group, remove)
        out(f"delete subscription group [{group}] from broker [{addr}] in cluster [{cluster}] "
            "success.\n")  # fmt: skip
    for prefix in ("%RETRY%", "%DLQ%"):
        try:
            await delete_topic_everywhere(admin, cluster, prefix + group)
        except AdminError as exc:
            out(f"{exc}\n")


async def get_consumer_config(args: Args, admin: AdminClient) -> None:
    group = args.need("g")
    info = await admin.cluster_info()
    for name, (_, addrs) in info.brokers.items():
        addr = addrs.get(0) or next(iter(sorted(addrs.items())), (0, None))[1]
        if addr is None:
            continue
        config = await admin.group_config(addr, group)
        if config is None:
            continue
        out(f"============================={info.cluster_of(name)}:{name}"
            "=============================\n")  # fmt: skip
        for field in GROUP_FIELDS:
            out("%s%-40s=  %s\n" % ("", field, _java(config.get(field))))


async def consumer_connection(args: Args, admin: AdminClient) -> None:
    cc = await admin.consumer_connection(args.need("g"), args.get("b"))
    out("%-36s %-22s %-10s %s\n" % ("#ClientId", "#ClientAddr", "#Language", "#Version"))
    for conn in cc.get("connectionSet") or ():
        out("%-36s %-22s %-10s %s\n" % (conn.get("clientId"), conn.get("clientAddr"),
                                        conn.get("language"),
                                        version_desc(int(conn.get("version") or 0))))  # fmt: skip
    out("\nBelow is subscription:\n")
    out("%-20s %s\n" % ("#Topic", "#SubExpression"))
    for sub in (cc.get("subscriptionTable") or {}).values():
        out("%-20s %s\n" % (sub.get("topic"), sub.get("subString")))
    out("\n")
    out(f"ConsumeType: {cc.get('consumeType')}\n")
    out(f"MessageModel: {cc.get('messageModel')}\n")
    out(f"ConsumeFromWhere: {cc.get('consumeFromWhere')}\n")


async def producer_connection(args: Args, admin: AdminClient) -> None:
    pc = await admin.producer_connection(args.need("g"), args.need("t"))
    for i, conn in enumerate(pc.get("connectionSet") or (), 1):
        version = version_desc(int(conn.get("version") or 0))
        row = (i, conn.get("clientId"), conn.get("clientAddr"), conn.get("language"), version)
        out("%04d  %-32s %-22s %-8s %s\n" % row)


async def producer_table(args: Args, admin: AdminClient) -> None:
    reply = await admin.call(args.need("b").strip(), request(RequestCode.GET_ALL_PRODUCER_INFO))
    data = fastjson.loads(reply.body or b"{}").get("data") or {}
    for group, producers in data.items():
        if not producers:
            out(f"producer group ({group}) instances are empty\n")
            continue
        for p in producers:
            out(f"producer group ({group}) instance : clientId={p.get('clientId')},"
                f"remoteIP={p.get('remoteIP')}, language={p.get('language')}, "
                f"version={int(p.get('version') or 0)}, "
                f"lastUpdateTimestamp={int(p.get('lastUpdateTimestamp') or 0)}\n")  # fmt: skip


def _date(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


async def _group_progress(args: Args, admin: AdminClient, group: str) -> None:
    table, tps = await admin.consume_stats(group)
    show_ip = (args.get("s") or "").lower() == "true"
    owners: dict[MessageQueue, str] = {}
    if show_ip:
        owners = await _owners(admin, group)
        out("%-64s  %-32s  %-4s  %-20s  %-20s  %-20s %-20s  %s\n" % (
            "#Topic", "#Broker Name", "#QID", "#Broker Offset", "#Consumer Offset", "#Client IP",
            "#Diff", "#LastTime"))  # fmt: skip
    else:
        out("%-64s  %-32s  %-4s  %-20s  %-20s  %-20s  %s\n" % (
            "#Topic", "#Broker Name", "#QID", "#Broker Offset", "#Consumer Offset", "#Diff",
            "#LastTime"))  # fmt: skip
    total = 0
    for mq in sorted(table):
        w = table[mq]
        diff = w.get("brokerOffset", 0) - w.get("consumerOffset", 0)
        total += diff
        last = w.get("lastTimestamp", 0)
        when = "N/A" if last == 0 else _date(last)
        head = (mq.topic[:64], mq.broker_name[:32], mq.queue_id, w.get("brokerOffset", 0),
                w.get("consumerOffset", 0))  # fmt: skip
        if show_ip:
            out("%-64s  %-32s  %-4d  %-20d  %-20d  %-20s %-20d  %s\n" % (
                *head, owners.get(mq, "N/A"), diff, when))  # fmt: skip
        else:
            out("%-64s  %-32s  %-4d  %-20d  %-20d  %-20d  %s\n" % (*head, diff, when))
    out("\n")
    out("Consume TPS: %.2f\n" % tps)
    out(f"Diff Total: {total}\n")


async def _owners(admin: AdminClient, group: str) -> dict[MessageQueue, str]:
    """Which client holds each queue, from every client's running info (best effort)."""
    owners: dict[MessageQueue, str] = {}
    try:
        cc = await admin.consumer_connection(group)
        for conn in cc.get("connectionSet") or ():
            client = str(conn.get("clientId"))
            for mq in await admin.running_info_queues(group, client):
                owners[mq] = client.split("@")[0]
    except AdminError:
        pass
    return owners


async def consumer_progress(args: Args, admin: AdminClient) -> None:
    if args.has("g"):
        await _group_progress(args, admin, args.need("g"))
        return
    out("%-64s  %-6s  %-24s %-5s  %-14s  %-7s  %s\n" % (
        "#Group", "#Count", "#Version", "#Type", "#Model", "#TPS", "#Diff Total"))  # fmt: skip
    for topic in await admin.topic_list():
        if not topic.startswith("%RETRY%"):
            continue
        group = topic[len("%RETRY%") :]
        tps, diff = 0, 0
        try:
            table, rate = await admin.consume_stats(group)
            tps = int(rate)
            diff = sum(w.get("brokerOffset", 0) - w.get("consumerOffset", 0)
                       for w in table.values())  # fmt: skip
        except AdminError:
            pass
        count, version, kind, model = 0, "OFFLINE", "", ""
        try:
            cc = await admin.consumer_connection(group)
            conns = cc.get("connectionSet") or []
            count = len(conns)
            if count:
                version = version_desc(min(int(c.get("version") or 0) for c in conns))
                passive = cc.get("consumeType") == "CONSUME_PASSIVELY"
                kind = "PUSH" if passive else "PULL"
                model = str(cc.get("messageModel")) if passive else ""
        except AdminError:
            pass
        out("%-64s  %-6d  %-24s %-5s  %-14s  %-7d  %d\n" % (group[:64], count, version, kind,
                                                            model, tps, diff))  # fmt: skip


GROUP = Opt("g", "groupName", True, "consumer group name", required=True)

COMMANDS = {
    "producer": Command(
        "producer", "Query producer's instances, connection, status, etc.",
        (Opt("b", "broker", True, "broker address", required=True),),
        producer_table,
    ),
    "updateSubGroup": Command(
        "updateSubGroup", "Update or create subscription group",
        (Opt("b", "brokerAddr", True, "create subscription group to which broker"),
         Opt("c", "clusterName", True, "create subscription group to which cluster"), GROUP,
         Opt("s", "consumeEnable", True, "consume enable"),
         Opt("m", "consumeFromMinEnable", True, "from min offset"),
         Opt("d", "consumeBroadcastEnable", True, "broadcast"),
         Opt("q", "retryQueueNums", True, "retry queue nums"),
         Opt("r", "retryMaxTimes", True, "retry max times"),
         Opt("i", "brokerId", True, "consumer from which broker id"),
         Opt("w", "whichBrokerWhenConsumeSlowly", True, "which broker id when consume slowly"),
         Opt("a", "notifyConsumerIdsChanged", True, "notify consumerId changed")),
        update_sub_group,
    ),
    "deleteSubGroup": Command(
        "deleteSubGroup", "Delete subscription group from broker.",
        (Opt("b", "brokerAddr", True, "delete subscription group from which broker"),
         Opt("c", "clusterName", True, "delete subscription group from which cluster"),
         Opt("g", "groupName", True, "subscription group name", required=True),
         Opt("r", "removeOffset", True, "remove offset")),
        delete_sub_group,
    ),
    "getConsumerConfig": Command(
        "getConsumerConfig", "Get consumer config by subscription group name!",
        (Opt("g", "groupName", True, "subscription group name", required=True),),
        get_consumer_config,
    ),
    "consumerConnection": Command(
        "consumerConnection",
        "Query consumer's socket connection, client version and subscription",
        (Opt("g", "consumerGroup", True, "consumer group name", required=True),
         Opt("b", "brokerAddr", True, "broker address")),
        consumer_connection,
    ),
    "producerConnection": Command(
        "producerConnection", "Query producer's socket connection and client version",
        (Opt("g", "producerGroup", True, "producer group name", required=True),
         Opt("t", "topic", True, "topic name", required=True)),
        producer_connection,
    ),
    "consumerProgress": Command(
        "consumerProgress", "Query consumers's progress, speed",
        (Opt("g", "groupName", True, "consumer group name"),
         Opt("s", "showClientIP", True, "Show Client IP per Queue")),
        consumer_progress,
    ),
}  # fmt: skip
