"""Export commands (Java: ``tools.command.export``): exportMetadata, exportConfigs and
exportMetrics write JSON files (fastjson's pretty layout) under /tmp/rocketmq/export."""

import time
from pathlib import Path
from typing import Any

from rmq.admin.admin_client import AdminClient, AdminError
from rmq.admin.command import Command, out
from rmq.admin.options import Args, Opt
from rmq.admin.stats import broker_stats, sum_24h
from rmq.common import fastjson
from rmq.common.codes import RequestCode
from rmq.common.version import CURRENT_VERSION
from rmq.common.version_names import version_desc
from rmq.remoting.command import request

DEFAULT_DIR = "/tmp/rocketmq/export"
#: Java ``DefaultMQAdminExtImpl.SYSTEM_GROUP_SET``: groups an export leaves out.
SYSTEM_GROUPS = frozenset({
    "DEFAULT_CONSUMER", "DEFAULT_PRODUCER", "TOOLS_CONSUMER", "FILTERSRV_CONSUMER",
    "__MONITOR_CONSUMER", "CLIENT_INNER_PRODUCER", "SELF_TEST_P_GROUP", "SELF_TEST_C_GROUP",
    "CID_ONS-HTTP-PROXY", "CID_ONSAPI_PERMISSION", "CID_ONSAPI_OWNER", "CID_ONSAPI_PULL",
    "CID_RMQ_SYS_TRANS",
})  # fmt: skip
#: Broker settings exportConfigs keeps (Java ``needBrokerProprties``).
CONFIG_KEYS = (
    "brokerClusterName", "brokerId", "brokerName", "brokerRole", "fileReservedTime",
    "filterServerNums", "flushDiskType", "maxMessageSize", "messageDelayLevel",
    "msgTraceTopicName", "slaveReadEnable", "traceOn", "traceTopicEnable", "useTLS",
    "autoCreateTopicEnable", "autoCreateSubscriptionGroup",
)  # fmt: skip


def _without_nulls(value: Any) -> Any:
    """fastjson leaves out null fields."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def _write(path: Path, value: Any, maps: frozenset[str] = frozenset()) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(fastjson.dumps_pretty(_without_nulls(value), maps), encoding="utf-8")


async def user_topics(admin: AdminClient, addr: str, special: bool) -> dict[str, Any]:
    """Java ``getUserTopicConfig``: the broker's topics minus its system topics and, unless
    ``special``, the retry and dead-letter topics."""
    reply = await admin.call(addr, request(RequestCode.GET_ALL_TOPIC_CONFIG), timeout=10.0)
    wrapper: dict[str, Any] = fastjson.loads(reply.body or b"{}")
    system = await admin.call(addr, request(RequestCode.GET_SYSTEM_TOPIC_LIST_FROM_BROKER),
                              timeout=10.0)  # fmt: skip
    hidden = set(fastjson.loads(system.body or b"{}").get("topicList") or ())
    table = wrapper.get("topicConfigTable") or {}
    wrapper["topicConfigTable"] = {
        name: config for name, config in table.items()
        if name not in hidden and (special or not name.startswith(("%RETRY%", "%DLQ%")))
    }  # fmt: skip
    return wrapper


async def user_groups(admin: AdminClient, addr: str) -> dict[str, Any]:
    reply = await admin.call(addr, request(RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG),
                             timeout=10.0)  # fmt: skip
    wrapper: dict[str, Any] = fastjson.loads(reply.body or b"{}")
    table = wrapper.get("subscriptionGroupTable") or {}
    wrapper["subscriptionGroupTable"] = {
        name: config for name, config in table.items()
        if not name.startswith("CID_RMQ_SYS_") and name not in SYSTEM_GROUPS
    }  # fmt: skip
    return wrapper


async def _masters(admin: AdminClient, cluster: str) -> list[str]:
    info = await admin.cluster_info()
    if cluster not in info.clusters:
        raise AdminError(f"cluster [{cluster}] not exist")
    return info.master_addrs(cluster)


async def export_metadata(args: Args, admin: AdminClient) -> None:
    base = Path((args.get("f") or DEFAULT_DIR).strip())
    special = args.has("s")
    maps = frozenset({"topicConfigTable", "subscriptionGroupTable", "offsetTable"})
    if args.has("b"):
        addr = args.need("b").strip()
        if args.has("t"):
            path = base / "topic.json"
            _write(path, await user_topics(admin, addr, special), maps)
            out(f"export {path} success")
        elif args.has("g"):
            path = base / "subscriptionGroup.json"
            _write(path, await user_groups(admin, addr), maps)
            out(f"export {path} success")
        return
    if not args.has("c"):
        raise AdminError("exportMetadata needs -c clusterName or -b brokerAddr")
    topics: dict[str, Any] = {}
    groups: dict[str, Any] = {}
    for addr in await _masters(admin, args.need("c").strip()):
        for name, config in (await user_topics(admin, addr, special))["topicConfigTable"].items():
            if name in topics:  # the same topic on several masters: queues add up
                config["writeQueueNums"] += topics[name]["writeQueueNums"]
                config["readQueueNums"] += topics[name]["readQueueNums"]
            topics[name] = config
        for name, config in (await user_groups(admin, addr))["subscriptionGroupTable"].items():
            if name in groups:
                config["retryQueueNums"] += groups[name]["retryQueueNums"]
            groups[name] = config
    result: dict[str, Any] = {}
    if args.has("t"):
        result["topicConfigTable"], path = topics, base / "topic.json"
    elif args.has("g"):
        result["subscriptionGroupTable"], path = groups, base / "subscriptionGroup.json"
    else:
        result["topicConfigTable"], result["subscriptionGroupTable"] = topics, groups
        path = base / "metadata.json"
    result["exportTime"] = int(time.time() * 1000)
    _write(path, result, maps)
    out(f"export {path} success\n")


async def export_configs(args: Args, admin: AdminClient) -> None:
    cluster = args.need("c").strip()
    base = Path((args.get("f") or DEFAULT_DIR).strip())
    info = await admin.cluster_info()
    configs: dict[str, dict[str, str]] = {}
    masters = slaves = 0
    for name in info.clusters.get(cluster, []):
        addrs = info.brokers.get(name, ("", {}))[1]
        master = addrs.get(0)
        if master is None:
            continue
        config = await admin.broker_config(master)
        masters += 1
        slaves += sum(1 for broker_id in addrs if broker_id != 0)
        configs[config.get("brokerName", name)] = {k: config.get(k, "null") for k in CONFIG_KEYS}
    result = {"brokerConfigs": configs,
              "clusterScale": {"namesrvSize": len(admin.namesrv), "masterBrokerSize": masters,
                               "slaveBrokerSize": slaves}}  # fmt: skip
    path = base / "configs.json"
    _write(path, result, frozenset({"brokerConfigs", "clusterScale"}))
    out(f"export {path} success")


def _first_rate(text: str | None) -> float:
    try:
        return float((text or "0").split(" ")[0])
    except ValueError:
        return 0.0


async def export_metrics(args: Args, admin: AdminClient) -> None:
    cluster = args.need("c").strip()
    base = Path((args.get("f") or DEFAULT_DIR).strip())
    info = await admin.cluster_info()
    total_tps = {"totalNormalInTps": 0.0, "totalNormalOutTps": 0.0, "totalTransInTps": 0.0,
                 "totalScheduleInTps": 0.0}  # fmt: skip
    total_day = {"normalOneDayInNum": 0, "normalOneDayOutNum": 0, "transOneDayInNum": 0,
                 "scheduleOneDayInNum": 0}  # fmt: skip
    report: dict[str, Any] = {}
    for name in info.clusters.get(cluster, []):
        addr = info.brokers.get(name, ("", {}))[1].get(0)
        if addr is None:
            continue
        kv = await admin.runtime_info(addr)
        config = await admin.broker_config(addr)
        groups = (await user_groups(admin, addr))["subscriptionGroupTable"]
        topics = (await user_topics(admin, addr, False))["topicConfigTable"]
        trans = await broker_stats(admin, addr, "TOPIC_PUT_NUMS", "RMQ_SYS_TRANS_HALF_TOPIC")
        sched = await broker_stats(admin, addr, "TOPIC_PUT_NUMS", "SCHEDULE_TOPIC_XXXX")
        tps = {
            "normalInTps": _first_rate(kv.get("putTps")),
            "normalOutTps": _first_rate(kv.get("getTransferedTps")),
            "transInTps": float((trans or {}).get("statsMinute", {}).get("tps", 0.0)),
            "scheduleInTps": float((sched or {}).get("statsMinute", {}).get("tps", 0.0)),
        }
        day = {
            "normalOneDayInNum": int(kv.get("msgPutTotalTodayMorning", 0))
            - int(kv.get("msgPutTotalYesterdayMorning", 0)),
            "normalOneDayOutNum": int(kv.get("msgGetTotalTodayMorning", 0))
            - int(kv.get("msgGetTotalYesterdayMorning", 0)),
            "transOneDayInNum": sum_24h(trans) if trans else 0,
            "scheduleOneDayInNum": sum_24h(sched) if sched else 0,
        }
        for key, value in zip(total_tps, tps.values(), strict=True):
            total_tps[key] += value
        for key, value in day.items():
            total_day[key] += value
        clients = set()
        for group in groups:
            try:
                cc = await admin.consumer_connection(group)
            except AdminError:
                continue
            for conn in cc.get("connectionSet") or ():
                clients.add(f"{conn.get('language')}%{version_desc(int(conn.get('version') or 0))}")
        report[name] = {
            "runtimeEnv": {"cpuNum": config.get("clientCallbackExecutorThreads"),
                           "totalMemKBytes": kv.get("totalMemKBytes")},
            "runtimeQuota": {
                "diskRatio": {"commitLogDiskRatio": kv.get("commitLogDiskRatio"),
                              "consumeQueueDiskRatio": kv.get("consumeQueueDiskRatio")},
                "tps": tps, "oneDayNum": day,
                "messageAverageSize": kv.get("putMessageAverageSize"),
                "topicSize": len(topics), "groupSize": len(groups),
            },
            "runtimeVersion": {"rocketmqVersion": version_desc(CURRENT_VERSION),
                               "clientInfo": sorted(clients)},
        }  # fmt: skip
    result = {"evaluateReport": report, "totalData": {"totalTps": total_tps,
                                                      "totalOneDayNum": total_day}}  # fmt: skip
    path = base / "metrics.json"
    _write(path, result, frozenset({"evaluateReport", "totalTps", "totalOneDayNum"}))
    out(f"export {path} success")


COMMANDS = {
    "exportMetadata": Command(
        "exportMetadata", "export metadata",
        (Opt("c", "clusterName", True, "choose a cluster to export"),
         Opt("b", "brokerAddr", True, "choose a broker to export"),
         Opt("f", "filePath", True, "export metadata.json path | default /tmp/rocketmq/export"),
         Opt("t", "topic", False, "only export topic metadata"),
         Opt("g", "subscriptionGroup", False, "only export subscriptionGroup metadata"),
         Opt("s", "specialTopic", False, "need retryTopic and dlqTopic")),
        export_metadata,
    ),
    "exportConfigs": Command(
        "exportConfigs", "export configs",
        (Opt("c", "clusterName", True, "choose a cluster to export", required=True),
         Opt("f", "filePath", True, "export configs.json path | default /tmp/rocketmq/export")),
        export_configs,
    ),
    "exportMetrics": Command(
        "exportMetrics", "export metrics",
        (Opt("c", "clusterName", True, "choose a cluster to export", required=True),
         Opt("f", "filePath", True, "export metrics.json path | default /tmp/rocketmq/export")),
        export_metrics,
    ),
}  # fmt: skip
