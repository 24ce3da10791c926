"""Broker commands (Java: ``tools.command.broker``): brokerStatus, getBrokerConfig,
updateBrokerConfig."""

from datetime import datetime

from rmq.admin.admin_client import AdminClient, AdminError
from rmq.admin.command import Command, out
from rmq.admin.options import Args, Opt, UsageError
from rmq.client.message import MessageQueue
from rmq.common import fastjson
from rmq.common.codes import RequestCode
from rmq.remoting.command import request


async def broker_status(args: Args, admin: AdminClient) -> None:
    if args.has("b"):
        table = await admin.runtime_info(args.need("b"))
        for key in sorted(table):
            out("%-32s: %s\n" % (key, table[key]))
        return
    if not args.has("c"):
        raise UsageError("brokerStatus needs -b or -c")
    info = await admin.cluster_info()
    for addr in info.all_addrs(args.need("c")):
        try:
            table = await admin.runtime_info(addr)
        except AdminError as exc:
            out(f"{exc}\n")
            continue
        for key in sorted(table):
            out("%-24s %-32s: %s\n" % (addr, key, table[key]))


async def broker_consume_stats(args: Args, admin: AdminClient) -> None:
    addr = args.need("b").strip()
    header = {"isOrder": str((args.get("o") or "false").strip().lower() == "true").lower()}
    timeout = args.int("t", 50000) / 1000
    reply = await admin.call(addr, request(RequestCode.GET_BROKER_CONSUME_STATS, header),
                             timeout=timeout)  # fmt: skip
    level = args.int("l", 0)
    body = fastjson.loads(reply.body or b"{}")
    out("%-64s  %-64s  %-32s  %-4s  %-20s  %-20s  %-20s  %s\n" % (
        "#Topic", "#Group", "#Broker Name", "#QID", "#Broker Offset", "#Consumer Offset",
        "#Diff", "#LastTime"))  # fmt: skip
    for by_group in body.get("consumeStatsList") or ():
        for group, stats_list in by_group.items():
            for stats in stats_list:
                table = [(MessageQueue.from_key(k), v)
                         for k, v in (stats.get("offsetTable") or {}).items()]  # fmt: skip
                for mq, w in sorted(table, key=lambda e: e[0]):
                    diff = int(w.get("brokerOffset", 0)) - int(w.get("consumerOffset", 0))
                    if diff < level:
                        continue
                    last = int(w.get("lastTimestamp", 0))
                    if last > 0:
                        when = datetime.fromtimestamp(last / 1000).strftime("%Y-%m-%d %H:%M:%S")
                        out("%-64s  %-64s  %-32s  %-4d  %-20d  %-20d  %-20d  %s\n" % (
                            mq.topic[:64], group, mq.broker_name[:32], mq.queue_id,
                            int(w.get("brokerOffset", 0)), int(w.get("consumerOffset", 0)), diff,
                            when))  # fmt: skip
    out("\nDiff Total: %d\n" % int(body.get("totalDiff", 0)))


async def _print_config(admin: AdminClient, banner: str, addr: str) -> None:
    out(banner)
    config = await admin.broker_config(addr)
    if not config:
        out(f"Broker[{addr}] has no config property!\n")
        return
    for key, value in config.items():
        out("%-50s=  %s\n" % (key, value))
    out("\n")


async def get_broker_config(args: Args, admin: AdminClient) -> None:
    if args.has("b"):
        addr = args.need("b")
        await _print_config(admin, f"============{addr}============\n", addr)
        return
    if not args.has("c"):
        raise UsageError("getBrokerConfig needs -b or -c")
    info = await admin.cluster_info()
    for name in info.clusters.get(args.need("c"), []):
        addrs = info.brokers.get(name, ("", {}))[1]
        master = addrs.get(0)
        if master is None:
            continue
        await _print_config(admin, f"============Master: {master}============\n", master)
        for broker_id, slave in sorted(addrs.items()):
            if broker_id != 0:
                banner = f"============My Master: {master}=====Slave: {slave}============\n"
                await _print_config(admin, banner, slave)


async def update_broker_config(args: Args, admin: AdminClient) -> None:
    values = {args.need("k"): args.need("v")}
    if args.has("b"):
        addr = args.need("b")
        await admin.update_broker_config(addr, values)
        out(f"update broker config success, {addr}\n")
        return
    if not args.has("c"):
        raise UsageError("updateBrokerConfig needs -b or -c")
    info = await admin.cluster_info()
    for addr in info.master_addrs(args.need("c")):
        try:
            await admin.update_broker_config(addr, values)
        except AdminError as exc:
            out(f"update broker config failed, {addr}: {exc}\n")
            continue
        out(f"update broker config success, {addr}\n")


async def _each_broker(args: Args, admin: AdminClient, code: int) -> bool:
    """Java's ``cleanExpiredConsumerQueue``-style fan-out: one broker (-b), or every broker
    of one cluster (-c) or of all clusters; true if the last one answered SUCCESS."""
    if args.has("b"):
        return await admin.broker_job(args.need("b"), code)
    info = await admin.cluster_info()
    cluster = args.get("c")
    result = False
    for name in [cluster] if cluster else list(info.clusters):
        for addr in info.all_addrs(name):
            result = await admin.broker_job(addr, code)
    return result


async def clean_expired_cq(args: Args, admin: AdminClient) -> None:
    ok = await _each_broker(args, admin, RequestCode.CLEAN_EXPIRED_CONSUMEQUEUE)
    out("success" if ok else "false")


async def delete_expired_commitlog(args: Args, admin: AdminClient) -> None:
    ok = await _each_broker(args, admin, RequestCode.DELETE_EXPIRED_COMMITLOG)
    out("success" if ok else "false")


async def clean_unused_topic(args: Args, admin: AdminClient) -> None:
    ok = await _each_broker(args, admin, RequestCode.CLEAN_UNUSED_TOPIC)
    out("success" if ok else "false")


COMMANDS = {
    "brokerConsumeStats": Command(
        "brokerConsumeStats", "Fetch broker consume stats data",
        (Opt("b", "brokerAddr", True, "Broker address", required=True),
         Opt("t", "timeoutMillis", True, "request timeout Millis"),
         Opt("l", "level", True, "threshold of print diff"),
         Opt("o", "order", True, "order topic")),
        broker_consume_stats,
    ),
    "brokerStatus": Command(
        "brokerStatus", "Fetch broker runtime status data",
        (Opt("b", "brokerAddr", True, "Broker address"),
         Opt("c", "clusterName", True, "which cluster")),
        broker_status,
    ),
    "getBrokerConfig": Command(
        "getBrokerConfig", "Get broker config by cluster or special broker!",
        (Opt("b", "brokerAddr", True, "get which broker"),
         Opt("c", "clusterName", True, "get which cluster")),
        get_broker_config,
    ),
    "cleanExpiredCQ": Command(
        "cleanExpiredCQ", "Clean expired ConsumeQueue on broker.",
        (Opt("b", "brokerAddr", True, "Broker address"), Opt("c", "cluster", True, "clustername")),
        clean_expired_cq,
    ),
    "deleteExpiredCommitLog": Command(
        "deleteExpiredCommitLog", "Delete expired CommitLog files",
        (Opt("b", "brokerAddr", True, "Broker address"), Opt("c", "cluster", True, "clustername"),
         Opt("n", "namesrvAddr", True, "Name server address")),
        delete_expired_commitlog,
    ),
    "cleanUnusedTopic": Command(
        "cleanUnusedTopic", "Clean unused topic on broker.",
        (Opt("b", "brokerAddr", True, "Broker address"),
         Opt("c", "cluster", True, "cluster name")),
        clean_unused_topic,
    ),
    "updateBrokerConfig": Command(
        "updateBrokerConfig", "Update broker's config",
        (Opt("b", "brokerAddr", True, "update which broker"),
         Opt("c", "clusterName", True, "update which cluster"),
         Opt("k", "key", True, "config key", required=True),
         Opt("v", "value", True, "config value", required=True)),
        update_broker_config,
    ),
}  # fmt: skip
