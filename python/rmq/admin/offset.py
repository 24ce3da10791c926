"""Offset commands (Java: ``tools.command.offset``): cloneGroupOffset, resetOffsetByTime,
skipAccumulatedMessage."""

import datetime

from rmq.admin.admin_client import AdminClient
from rmq.admin.command import Command, out
from rmq.admin.options import Args, Opt, UsageError
from rmq.client.message import MessageQueue
from rmq.common.codes import RequestCode


async def clone_group_offset(args: Args, admin: AdminClient) -> None:
    src, dest, topic = args.need("s"), args.need("d"), args.need("t")
    table, _ = await admin.consume_stats(src)
    if table:
        addrs = {name: addr for addr, (name, _) in (await admin.topic_queue_counts(topic)).items()}
        for mq, w in table.items():
            offset = w.get("consumerOffset", -1)
            addr = addrs.get(mq.broker_name)
            if offset >= 0 and addr is not None:
                await admin.update_consumer_offset(addr, dest, mq, offset)
    out(f"clone group offset success. srcGroup[{src}], destGroup=[{dest}], topic[{topic}]")


def parse_timestamp(text: str) -> int:
    """``now`` (-1), milliseconds, or yyyy-MM-dd#HH:mm:ss:SSS in local time."""
    if text == "now":
        return -1
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        parsed = datetime.datetime.strptime(text, "%Y-%m-%d#%H:%M:%S:%f")
    except ValueError:
        raise UsageError(f"bad timestamp {text!r}: now, milliseconds or "
                         "yyyy-MM-dd#HH:mm:ss:SSS") from None  # fmt: skip
    return int(parsed.timestamp() * 1000)


async def reset_offline(admin: AdminClient, group: str, topic: str, timestamp: int,
                         force: bool) -> list[tuple[str, int, int, int, int, int]]:  # fmt: skip
    """mqadmin's fallback with nobody online: rewrite the stored offsets directly."""
    rows = []
    try:
        table, _ = await admin.consume_stats(group)
    except Exception:
        table = {}
    for addr, (name, reads) in (await admin.topic_queue_counts(topic)).items():
        mine = {mq: w for mq, w in table.items() if mq.topic == topic and mq.broker_name == name}
        if not mine:
            stats = await admin.topic_stats(addr, topic)
            mine = {MessageQueue(topic, name, i): {
                "brokerOffset": stats.get(MessageQueue(topic, name, i), {}).get("maxOffset", 0),
                "consumerOffset": stats.get(MessageQueue(topic, name, i), {}).get("minOffset", 0)}
                for i in range(reads)}  # fmt: skip
        for mq, w in mine.items():
            if timestamp == -1:
                target = await admin.queue_offset(addr, RequestCode.GET_MAX_OFFSET, mq)
            else:
                target = await admin.queue_offset(addr, RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, mq,
                                                  timestamp)  # fmt: skip
            consumer = w.get("consumerOffset", 0)
            rollback = consumer
            if force or target <= consumer:
                rollback = target
                await admin.update_consumer_offset(addr, group, mq, target)
            rows.append((name, mq.queue_id, w.get("brokerOffset", 0), consumer, target, rollback))
    return rows


def _print_rollback(rows: list[tuple[str, int, int, int, int, int]]) -> None:
    out("%-20s  %-20s  %-20s  %-20s  %-20s  %-20s\n" % (
        "#brokerName", "#queueId", "#brokerOffset", "#consumerOffset", "#timestampOffset",
        "#rollbackOffset"))  # fmt: skip
    for name, qid, broker, consumer, stamp, rollback in rows:
        out("%-20s  %-20d  %-20d  %-20d  %-20d  %-20d\n" % (name[:32], qid, broker, consumer,
                                                            stamp, rollback))  # fmt: skip


def _print_offsets(table: dict[MessageQueue, int]) -> None:
    out("%-40s  %-40s  %-40s\n" % ("#brokerName", "#queueId", "#offset"))
    for mq, offset in table.items():
        out("%-40s  %-40d  %-40d\n" % (mq.broker_name[:32], mq.queue_id, offset))


async def reset_offset_by_time(args: Args, admin: AdminClient) -> None:
    group, topic, text = args.need("g"), args.need("t"), args.need("s")
    timestamp = parse_timestamp(text)
    force = (args.get("f") or "true").lower() == "true"
    table = await admin.reset_offset_online(topic, group, timestamp, force, args.has("c"))
    if table is None:
        rows = await reset_offline(admin, group, topic, timestamp, force)
        out(f"rollback consumer offset by specified consumerGroup[{group}], topic[{topic}], "
            f"force[{str(force).lower()}], timestamp(string)[{text}], "
            f"timestamp(long)[{timestamp}]\n")  # fmt: skip
        _print_rollback(rows)
        return
    out(f"rollback consumer offset by specified group[{group}], topic[{topic}], "
        f"force[{str(force).lower()}], timestamp(string)[{text}], "
        f"timestamp(long)[{timestamp}]\n")  # fmt: skip
    _print_offsets(table)


async def skip_accumulated(args: Args, admin: AdminClient) -> None:
    group, topic = args.need("g"), args.need("t")
    force = (args.get("f") or "true").lower() == "true"
    table = await admin.reset_offset_online(topic, group, -1, force, False)
    if table is None:
        _print_rollback(await reset_offline(admin, group, topic, -1, force))
        return
    _print_offsets(table)


COMMANDS = {
    "cloneGroupOffset": Command(
        "cloneGroupOffset", "clone offset from other group.",
        (Opt("s", "srcGroup", True, "set source consumer group", required=True),
         Opt("d", "destGroup", True, "set destination consumer group", required=True),
         Opt("t", "topic", True, "set the topic", required=True),
         Opt("o", "offline", True, "the group or the topic is offline")),
        clone_group_offset,
    ),
    "resetOffsetByTime": Command(
        "resetOffsetByTime", "Reset consumer offset by timestamp(without client restart).",
        (Opt("g", "group", True, "set the consumer group", required=True),
         Opt("t", "topic", True, "set the topic", required=True),
         Opt("s", "timestamp", True,
             "set the timestamp[now|currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]", required=True),
         Opt("f", "force", True, "set the force rollback by timestamp switch[true|false]"),
         Opt("c", "cplus", False, "reset c++ client offset")),
        reset_offset_by_time,
    ),
    "skipAccumulatedMessage": Command(
        "skipAccumulatedMessage",
        "Skip all messages that are accumulated (not consumed) currently",
        (Opt("g", "group", True, "set the consumer group", required=True),
         Opt("t", "topic", True, "set the topic", required=True),
         Opt("f", "force", True, "set the force rollback by timestamp switch[true|false]")),
        skip_accumulated,
    ),
}  # fmt: skip
