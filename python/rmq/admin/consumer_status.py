"""consumerStatus (Java: ``ConsumerStatusSubCommand``): each online consumer's running info,
as ``ConsumerRunningInfo.formatString()`` prints it, saved to ``NOW/CLIENT_ID`` in the working
directory like mqadmin does, plus mqadmin's subscription and process-queue checks."""

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from rmq.admin.admin_client import AdminClient, AdminError
from rmq.admin.command import Command, out
from rmq.admin.options import Args, Opt
from rmq.client.message import MessageQueue
from rmq.common import fastjson
from rmq.common.codes import RequestCode
from rmq.common.message_id import java_hash
from rmq.common.version_names import version_desc
from rmq.remoting.command import request

_START_FOR_A_WHILE_MS = 2 * 60 * 1000


def java_properties_order(keys: list[str]) -> list[str]:
    """The order ``java.util.Properties`` iterates ``keys`` put in turn. Since Java 9 it keeps
    them in a ConcurrentHashMap of 16 bins that doubles once 3/4 full: bins in index order,
    insertion order within a bin."""
    capacity = 16
    while len(keys) >= capacity * 3 // 4:
        capacity *= 2
    slots = []
    for position, key in enumerate(keys):
        h = java_hash(key) & 0xFFFFFFFF
        slots.append((((h ^ (h >> 16)) & 0x7FFFFFFF) & (capacity - 1), position, key))
    return [key for _, _, key in sorted(slots)]


def _human(ms: int) -> str:
    """Java ``UtilAll.timeMillisToHumanString``: yyyyMMddHHmmssSSS, local time."""
    t = datetime.fromtimestamp(ms / 1000)
    return t.strftime("%Y%m%d%H%M%S") + f"{ms % 1000:03d}"


def _jbool(value: Any) -> str:
    return "true" if value is True or str(value).lower() == "true" else "false"


def process_queue_text(pq: dict[str, Any]) -> str:
    g = pq.get
    return (f"ProcessQueueInfo [commitOffset={int(g('commitOffset', 0))}, "
            f"cachedMsgMinOffset={int(g('cachedMsgMinOffset', 0))}, "
            f"cachedMsgMaxOffset={int(g('cachedMsgMaxOffset', 0))}, "
            f"cachedMsgCount={int(g('cachedMsgCount', 0))}, "
            f"cachedMsgSizeInMiB={int(g('cachedMsgSizeInMiB', 0))}, "
            f"transactionMsgMinOffset={int(g('transactionMsgMinOffset', 0))}, "
            f"transactionMsgMaxOffset={int(g('transactionMsgMaxOffset', 0))}, "
            f"transactionMsgCount={int(g('transactionMsgCount', 0))}, "
            f"locked={_jbool(g('locked'))}, tryUnlockTimes={int(g('tryUnlockTimes', 0))}, "
            f"lastLockTimestamp={_human(int(g('lastLockTimestamp', 0)))}, "
            f"droped={_jbool(g('droped'))}, "
            f"lastPullTimestamp={_human(int(g('lastPullTimestamp', 0)))}, "
            f"lastConsumeTimestamp={_human(int(g('lastConsumeTimestamp', 0)))}]")  # fmt: skip


def _mq_table(info: dict[str, Any]) -> list[tuple[MessageQueue, dict[str, Any]]]:
    table = [(MessageQueue.from_key(k), v) for k, v in (info.get("mqTable") or {}).items()]
    return sorted(table, key=lambda e: e[0])


def _subscriptions(info: dict[str, Any]) -> list[dict[str, Any]]:
    subs = list(info.get("subscriptionSet") or ())
    return sorted(subs, key=lambda s: f"{s.get('topic')}@{s.get('subString')}")


def format_running_info(info: dict[str, Any]) -> str:
    """Java ``ConsumerRunningInfo.formatString()``."""
    props: dict[str, Any] = info.get("properties") or {}
    parts = ["#Consumer Properties#\n"]
    parts += ["%-40s: %s\n" % (k, props[k]) for k in java_properties_order(list(props))]
    parts.append("\n\n#Consumer Subscription#\n")
    for i, sub in enumerate(_subscriptions(info), 1):
        mode = _jbool(sub.get("classFilterMode"))
        parts.append("%03d Topic: %-40s ClassFilter: %-8s SubExpression: %s\n" % (
            i, sub.get("topic"), mode, sub.get("subString")))  # fmt: skip
    parts.append("\n\n#Consumer Offset#\n")
    parts.append("%-64s  %-32s  %-4s  %-20s\n" % ("#Topic", "#Broker Name", "#QID",
                                                  "#Consumer Offset"))  # fmt: skip
    table = _mq_table(info)
    for mq, pq in table:
        parts.append("%-32s  %-32s  %-4d  %-20d\n" % (mq.topic, mq.broker_name, mq.queue_id,
                                                      int(pq.get("commitOffset", 0))))  # fmt: skip
    parts.append("\n\n#Consumer MQ Detail#\n")
    parts.append("%-64s  %-32s  %-4s  %-20s\n" % ("#Topic", "#Broker Name", "#QID",
                                                  "#ProcessQueueInfo"))  # fmt: skip
    for mq, pq in table:
        parts.append("%-64s  %-32s  %-4d  %s\n" % (mq.topic, mq.broker_name, mq.queue_id,
                                                   process_queue_text(pq)))  # fmt: skip
    parts.append("\n\n#Consumer RT&TPS#\n")
    parts.append("%-64s  %14s %14s %14s %14s %18s %25s\n" % (
        "#Topic", "#Pull RT", "#Pull TPS", "#Consume RT", "#ConsumeOK TPS",
        "#ConsumeFailed TPS", "#ConsumeFailedMsgsInHour"))  # fmt: skip
    status = info.get("statusTable") or {}
    for topic in sorted(status):
        s = status[topic]
        parts.append("%-32s  %14.2f %14.2f %14.2f %14.2f %18.2f %25d\n" % (
            topic, float(s.get("pullRT", 0)), float(s.get("pullTPS", 0)),
            float(s.get("consumeRT", 0)), float(s.get("consumeOKTPS", 0)),
            float(s.get("consumeFailedTPS", 0)), int(s.get("consumeFailedMsgs", 0))))  # fmt: skip
    if info.get("jstack") is not None:
        parts.append("\n\n#Consumer jstack#\n")
        parts.append(str(info["jstack"]))
    return "".join(parts)


def _push(info: dict[str, Any]) -> bool:
    props = info.get("properties") or {}
    return str(props.get("PROP_CONSUME_TYPE")) == "CONSUME_PASSIVELY"


def same_subscription(table: dict[str, dict[str, Any]]) -> bool:
    """Java ``analyzeSubscription``: push consumers running for over two minutes must all
    subscribe alike, and to something."""
    first = table[min(table)]
    started = int((first.get("properties") or {}).get("PROP_CONSUMER_START_TIMESTAMP", 0))
    if not (_push(first) and time.time() * 1000 - started > _START_FOR_A_WHILE_MS):
        return True
    key = [(s.get("topic"), s.get("subString")) for s in _subscriptions(first)]
    if any([(s.get("topic"), s.get("subString")) for s in _subscriptions(info)] != key
           for info in table.values()):  # fmt: skip
        return False
    return bool(key)


def process_queue_warnings(client_id: str, info: dict[str, Any]) -> str:
    """Java ``analyzeProcessQueue``."""
    if not _push(info):
        return ""
    orderly = str((info.get("properties") or {}).get("PROP_CONSUME_ORDERLY")).lower() == "true"
    now = int(time.time() * 1000)
    lines = []
    for mq, pq in _mq_table(info):
        name = (
            f"MessageQueue [topic={mq.topic}, brokerName={mq.broker_name}, queueId={mq.queue_id}]"
        )
        if orderly:
            if _jbool(pq.get("locked")) == "false":
                lines.append(f"{client_id} {name} can't lock for a while, "
                             f"{now - int(pq.get('lastLockTimestamp', 0))}ms\n")  # fmt: skip
            elif _jbool(pq.get("droped")) == "true" and int(pq.get("tryUnlockTimes", 0)) > 0:
                lines.append(f"{client_id} {name} unlock {int(pq['tryUnlockTimes'])} times, "
                             "still failed\n")  # fmt: skip
        else:
            diff = now - int(pq.get("lastConsumeTimestamp", 0))
            if diff > 60_000 and int(pq.get("cachedMsgCount", 0)) > 0:
                lines.append(f"{client_id} {name} can't consume for a while, maybe blocked, "
                             f"{diff}ms\n")  # fmt: skip
    return "".join(lines)


async def running_info(admin: AdminClient, group: str, client_id: str,
                       jstack: bool) -> dict[str, Any]:  # fmt: skip
    brokers = await admin.broker_addrs_of("%RETRY%" + group)
    if not brokers:
        raise AdminError(f"no broker knows consumer group {group}")
    header = {"consumerGroup": group, "clientId": client_id,
              "jstackEnable": "true" if jstack else "false"}  # fmt: skip
    reply = await admin.call(brokers[0], request(RequestCode.GET_CONSUMER_RUNNING_INFO, header))
    info: dict[str, Any] = fastjson.loads(reply.body or b"{}")
    return info


async def consumer_status(args: Args, admin: AdminClient) -> None:
    group = args.need("g").strip()
    jstack = args.has("s")
    if args.has("i"):
        info = await running_info(admin, group, args.need("i").strip(), jstack)
        out(format_running_info(info))
        return
    broker = args.get("b")
    cc = await admin.consumer_connection(group, broker.strip() if broker else None)
    now = int(time.time() * 1000)
    out("%-10s %-40s %-20s %s\n" % ("#Index", "#ClientId", "#Version", "#ConsumerRunningInfoFile"))
    table: dict[str, dict[str, Any]] = {}
    for conn in cc.get("connectionSet") or ():
        client_id = str(conn.get("clientId"))
        try:
            info = await running_info(admin, group, client_id, jstack)
        except AdminError as exc:
            out(f"{exc}\n")
            continue
        table[client_id] = info
        path = Path(str(now)) / client_id
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(format_running_info(info), encoding="utf-8")
        version = version_desc(int(conn.get("version") or 0))
        out("%-10d %-40s %-20s %s\n" % (len(table), client_id, version, path))
    if not table:
        return
    if not same_subscription(table):
        out("\n\nWARN: Different subscription in the same group of consumer!!!")
        return
    out("\n\nSame subscription in the same group of consumer")
    out("\n\nRebalance OK\n")
    for client_id in sorted(table):
        out(process_queue_warnings(client_id, table[client_id]))


COMMANDS = {
    "consumerStatus": Command(
        "consumerStatus", "Query consumer's internal data structure",
        (Opt("g", "consumerGroup", True, "consumer group name", required=True),
         Opt("i", "clientId", True, "The consumer's client id"),
         Opt("b", "brokerAddr", True, "broker address"),
         Opt("s", "jstack", False, "Run jstack command in the consumer progress")),
        consumer_status,
    ),
}  # fmt: skip
