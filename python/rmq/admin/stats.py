"""Traffic and backlog views (Java: ``StatsAllSubCommand``, ``StartMonitoringSubCommand`` with
``MonitorService`` and ``DefaultMonitorListener``): statsAll, startMonitoring."""

import asyncio
import logging
import os
import sys
import time
from typing import Any

from rmq.admin.admin_client import AdminClient, AdminError
from rmq.admin.command import Command, out
from rmq.admin.consumer_status import process_queue_warnings, running_info, same_subscription
from rmq.admin.options import Args, Opt
from rmq.client.api import decode_messages
from rmq.client.errors import ClientError
from rmq.client.message import MessageQueue
from rmq.common import fastjson
from rmq.common.codes import RequestCode
from rmq.common.fastjson import java_hashmap_order
from rmq.common.message_id import java_hash
from rmq.remoting.command import request

RETRY_PREFIX = "%RETRY%"
DLQ_PREFIX = "%DLQ%"
LOG_PREFIX = "[MONITOR] "
LOG_NOTIFY = LOG_PREFIX + " [NOTIFY] "


async def broker_stats(admin: AdminClient, addr: str, name: str, key: str) -> dict[str, Any] | None:
    header = {"statsName": name, "statsKey": key}
    try:
        reply = await admin.call(addr, request(RequestCode.VIEW_BROKER_STATS_DATA, header))
    except AdminError:
        return None
    data: dict[str, Any] = fastjson.loads(reply.body or b"{}")
    return data


def sum_24h(data: dict[str, Any]) -> int:
    """Java ``compute24HourSum``: the day's sum, else the hour's, else the minute's."""
    for window in ("statsDay", "statsHour", "statsMinute"):
        total = int((data.get(window) or {}).get("sum", 0))
        if total != 0:
            return total
    return 0


async def _topic_rows(admin: AdminClient, topic: str, active_only: bool) -> None:
    route = await admin.route(topic)
    masters = [b.master_addr for b in route.brokers if b.master_addr]
    in_tps, in_today = 0.0, 0
    for addr in masters:
        data = await broker_stats(admin, addr, "TOPIC_PUT_NUMS", topic)
        if data is not None:
            in_tps += float((data.get("statsMinute") or {}).get("tps", 0.0))
            in_today += sum_24h(data)
    try:
        found = await admin.consumer_groups_of(topic)
    except AdminError:
        found = []
    groups = java_hashmap_order(found, [java_hash(g) for g in found])  # Java's HashSet
    if not groups:
        if not active_only or in_today > 0:
            out("%-64s  %-64s %12d %11.2f %11s %14d %14s\n" % (
                topic[:64], "", 0, in_tps, "", in_today, "NO_CONSUMER"))  # fmt: skip
        return
    for group in groups:
        out_tps, out_today = 0.0, 0
        for addr in masters:
            data = await broker_stats(admin, addr, "GROUP_GET_NUMS", f"{topic}@{group}")
            if data is not None:
                out_tps += float((data.get("statsMinute") or {}).get("tps", 0.0))
                out_today += sum_24h(data)
        accumulate = 0
        try:
            table, _ = await admin.consume_stats(group, topic)
            accumulate = max(0, sum(w.get("brokerOffset", 0) - w.get("consumerOffset", 0)
                                    for w in table.values()))  # fmt: skip
        except AdminError:
            pass
        if not active_only or in_today > 0 or out_today > 0:
            row = (topic[:64], group[:64], accumulate, in_tps, out_tps, in_today, out_today)
            out("%-64s  %-64s %12d %11.2f %11.2f %14d %14d\n" % row)


async def stats_all(args: Args, admin: AdminClient) -> None:
    names = await admin.topic_list()
    # Java reads the list into a HashSet and walks it in hash order.
    topics = java_hashmap_order(names, [java_hash(t) for t in names])
    out("%-64s  %-64s %12s %11s %11s %14s %14s\n" % (
        "#Topic", "#Consumer Group", "#Accumulation", "#InTPS", "#OutTPS", "#InMsg24Hour",
        "#OutMsg24Hour"))  # fmt: skip
    selected = (args.get("t") or "").strip()
    for topic in topics:
        if topic.startswith((RETRY_PREFIX, DLQ_PREFIX)):
            continue
        if selected and topic != selected:
            continue
        try:
            await _topic_rows(admin, topic, args.has("a"))
        except AdminError:
            continue  # Java skips a topic whose route or stats fail


def _log(text: str) -> None:
    logging.getLogger("rmq.admin.monitor").info(text)


async def _undone(admin: AdminClient, group: str) -> None:
    """Java ``reportUndoneMsgs``: per topic of the group, the backlog in total, on the worst
    queue, and how far behind the newest message the consumed one was stored."""
    try:
        table, _ = await admin.consume_stats(group)
        await admin.consumer_connection(group)
    except AdminError:
        return
    by_topic: dict[str, list[tuple[MessageQueue, dict[str, int]]]] = {}
    for mq, wrapper in table.items():
        by_topic.setdefault(mq.topic, []).append((mq, wrapper))
    for topic, entries in by_topic.items():
        total = single = delay = 0
        for mq, w in entries:
            diff = w.get("brokerOffset", 0) - w.get("consumerOffset", 0)
            single = max(single, diff)
            total += max(diff, 0)
            last = w.get("lastTimestamp", 0)
            if last > 0:
                try:
                    _, high = await admin.queue_bounds(mq)
                    if high > 0:
                        answer = await admin.pull(mq, "*", high - 1, 1)
                        if answer.status == "FOUND":
                            newest = decode_messages(answer.records, mq.broker_name)[0]
                            delay = max(delay, newest.store_timestamp - last)
                except (AdminError, ClientError, IndexError):
                    pass
        _log(f"{LOG_PREFIX}reportUndoneMsgs: UndoneMsgs [consumerGroup={group}, topic={topic}, "
             f"undoneMsgsTotal={total}, undoneMsgsSingleMQ={single}, "
             f"undoneMsgsDelayTimeMills={delay}]")  # fmt: skip


async def _running_info(admin: AdminClient, group: str) -> None:
    try:
        cc = await admin.consumer_connection(group)
    except AdminError:
        return
    table: dict[str, dict[str, Any]] = {}
    for conn in cc.get("connectionSet") or ():
        client_id = str(conn.get("clientId"))
        try:
            table[client_id] = await running_info(admin, group, client_id, False)
        except AdminError:
            continue
    if not table:
        return
    if not same_subscription(table):
        _log(f"{LOG_NOTIFY}reportConsumerRunningInfo: ConsumerGroup: {group}, "
             "Subscription different")  # fmt: skip
    for client_id in sorted(table):
        warnings = process_queue_warnings(client_id, table[client_id])
        if warnings:
            _log(f"{LOG_NOTIFY}reportConsumerRunningInfo: ConsumerGroup: {group}, "
                 f"ClientId: {client_id}, {warnings}")  # fmt: skip


async def monitor_round(admin: AdminClient) -> None:
    began = time.monotonic()
    _log(f"{LOG_PREFIX}=========================================beginRound")
    for topic in await admin.topic_list():
        if topic.startswith(RETRY_PREFIX):
            group = topic[len(RETRY_PREFIX) :]
            await _undone(admin, group)
            await _running_info(admin, group)
    _log(f"{LOG_PREFIX}=========================================endRound")
    spent = int((time.monotonic() - began) * 1000)
    _log(f"Execute one round monitor work, spent timemills: {spent}")


async def start_monitoring(args: Args, admin: AdminClient) -> None:
    """Runs until interrupted: the first round after 20 s, then one a minute (Java's
    MonitorConfig; RMQ_MONITOR_DELAY_MS and RMQ_MONITOR_INTERVAL_MS change them)."""
    logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                        format="%(asctime)s INFO %(message)s")  # fmt: skip
    delay = int(os.environ.get("RMQ_MONITOR_DELAY_MS", "20000")) / 1000
    interval = int(os.environ.get("RMQ_MONITOR_INTERVAL_MS", "60000")) / 1000
    await asyncio.sleep(delay)
    while True:
        started = time.monotonic()
        try:
            await monitor_round(admin)
        except AdminError as exc:
            logging.getLogger("rmq.admin.monitor").error("doMonitorWork Exception: %s", exc)
        sys.stdout.flush()
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))


COMMANDS = {
    "statsAll": Command(
        "statsAll", "Topic and Consumer tps stats",
        (Opt("a", "activeTopic", False, "print active topic only"),
         Opt("t", "topic", True, "print select topic only")),
        stats_all,
    ),
    "startMonitoring": Command("startMonitoring", "Start Monitoring", (), start_monitoring),
}  # fmt: skip
