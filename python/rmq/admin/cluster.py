"""clusterList (Java: ``ClusterListSubCommand``)."""

import asyncio
import time

from rmq.admin.admin_client import AdminClient
from rmq.admin.command import Command, out
from rmq.admin.options import Args, Opt


def _float(text: str | None) -> float:
    try:
        return float((text or "").split(" ")[0])
    except ValueError:
        return 0.0


def _j(value: object) -> object:
    """Java's %s of a missing value."""
    return "null" if value is None else value


def _long(table: dict[str, str], key: str) -> int:
    try:
        return int(table.get(key, "0"))
    except ValueError:
        return 0


async def _base_info(admin: AdminClient) -> None:
    info = await admin.cluster_info()
    fmt = "%-16s  %-22s  %-4s  %-22s %-16s %19s %19s %10s %5s %6s\n"
    out(fmt % ("#Cluster Name", "#Broker Name", "#BID", "#Addr", "#Version", "#InTPS(LOAD)",
               "#OutTPS(LOAD)", "#PCWait(ms)", "#Hour", "#SPACE"))  # fmt: skip
    for cluster, names in info.clusters.items():
        for name in sorted(names):
            addrs = info.brokers.get(name, ("", {}))[1]
            for broker_id, addr in addrs.items():
                try:
                    kv = await admin.runtime_info(addr)
                except Exception:
                    kv = {}
                hour = 0.0
                earliest = kv.get("earliestMessageTimeStamp")
                if earliest:
                    hour = (time.time() * 1000 - int(earliest)) / 1000 / 3600
                space = float(kv.get("commitLogDiskRatio") or 0.0)
                in_tps = "%9.2f(%s,%sms)" % (
                    _float(kv.get("putTps")),
                    _j(kv.get("sendThreadPoolQueueSize")),
                    _j(kv.get("sendThreadPoolQueueHeadWaitTimeMills")),
                )
                out_tps = "%9.2f(%s,%sms)" % (
                    _float(kv.get("getTransferedTps")),
                    _j(kv.get("pullThreadPoolQueueSize")),
                    _j(kv.get("pullThreadPoolQueueHeadWaitTimeMills")),
                )
                out(
                    fmt
                    % (
                        cluster,
                        name,
                        broker_id,
                        addr,
                        kv.get("brokerVersionDesc", ""),
                        in_tps,
                        out_tps,
                        _j(kv.get("pageCacheLockTimeMills")),
                        "%2.2f" % hour,
                        "%.4f" % space,
                    )
                )


async def _more_stats(admin: AdminClient) -> None:
    info = await admin.cluster_info()
    fmt = "%-16s  %-32s %14s %14s %14s %14s\n"
    out(fmt % ("#Cluster Name", "#Broker Name", "#InTotalYest", "#OutTotalYest", "#InTotalToday",
               "#OutTotalToday"))  # fmt: skip
    row = "%-16s  %-32s %14d %14d %14d %14d\n"
    for cluster, names in info.clusters.items():
        for name in sorted(names):
            for addr in info.brokers.get(name, ("", {}))[1].values():
                try:
                    kv = await admin.runtime_info(addr)
                except Exception:
                    kv = {}
                put_y, put_t, put_n = (
                    _long(kv, f"msgPutTotal{k}")
                    for k in ("YesterdayMorning", "TodayMorning", "TodayNow")
                )
                get_y, get_t, get_n = (
                    _long(kv, f"msgGetTotal{k}")
                    for k in ("YesterdayMorning", "TodayMorning", "TodayNow")
                )
                out(row % (cluster, name, put_t - put_y, get_t - get_y, put_n - put_t,
                           get_n - get_t))  # fmt: skip


async def cluster_list(args: Args, admin: AdminClient) -> None:
    interval = args.int("i", 0)
    first = True
    while first or interval:
        if not first:
            await asyncio.sleep(interval)
        first = False
        await (_more_stats(admin) if args.has("m") else _base_info(admin))


COMMANDS = {
    "clusterList": Command(
        "clusterList",
        "List all of clusters",
        (Opt("m", "moreStats", False, "Print more stats"),
         Opt("i", "interval", True, "specify intervals numbers, it is in seconds")),
        cluster_list,
    ),
}  # fmt: skip
