"""Topic commands (Java: ``tools.command.topic``): updateTopic, deleteTopic, updateTopicPerm,
topicRoute, topicStatus, topicClusterList, topicList."""

import datetime

from rmq.admin.admin_client import AdminClient, AdminError
from rmq.admin.command import Command, out
from rmq.admin.options import HELP, NAMESRV, Args, Opt, UsageError, help_text
from rmq.client.allocate import AllocateAveragely
from rmq.client.message import MessageQueue
from rmq.common import fastjson
from rmq.common.message_id import java_hash
from rmq.common.perm import PERM_READ, PERM_WRITE, is_readable, perm_to_string

TOPIC = Opt("t", "topic", True, "topic name", required=True)
#: Java TopicSysFlag bits.
FLAG_UNIT, FLAG_UNIT_SUB = 0x1, 0x2


def _bool(text: str | None) -> bool:
    return (text or "").strip().lower() == "true"


def topic_config_text(c: dict[str, str]) -> str:
    """Java ``TopicConfig.toString()``."""
    return (f"TopicConfig [topicName={c['topic']}, readQueueNums={c['readQueueNums']}, "
            f"writeQueueNums={c['writeQueueNums']}, perm={perm_to_string(int(c['perm']))}, "
            f"topicFilterType={c['topicFilterType']}, topicSysFlag={c['topicSysFlag']}, "
            f"order={c['order']}]")  # fmt: skip


def human_ms(ms: int) -> str:
    """Java ``UtilAll.timeMillisToHumanString2``: local time with milliseconds."""
    t = datetime.datetime.fromtimestamp(ms / 1000)
    return t.strftime("%Y-%m-%d %H:%M:%S") + f",{ms % 1000:03d}"


async def update_topic(args: Args, admin: AdminClient) -> None:
    sys_flag = (FLAG_UNIT if _bool(args.get("u")) else 0) | (
        FLAG_UNIT_SUB if _bool(args.get("s")) else 0)  # fmt: skip
    order = _bool(args.get("o"))
    config = {
        "topic": args.need("t"),
        "readQueueNums": str(args.int("r", 8)),
        "writeQueueNums": str(args.int("w", 8)),
        "perm": str(args.int("p", PERM_READ | PERM_WRITE)),
        "topicFilterType": "SINGLE_TAG",
        "topicSysFlag": str(sys_flag),
        "order": "true" if order else "false",
    }
    if args.has("b"):
        addr = args.need("b")
        await admin.create_topic(addr, config)
        if order:
            info = await admin.cluster_info()
            conf = f"{info.broker_name_of(addr)}:{config['writeQueueNums']}"
            await admin.put_kv("ORDER_TOPIC_CONFIG", config["topic"], conf)
            out(f"set broker orderConf. isOrder={order}, orderConf=[{conf}]")
        out(f"create topic to {addr} success.\n")
        out(topic_config_text(config))
        return
    cluster = args.need("c")
    info = await admin.cluster_info()
    for addr in info.master_addrs(cluster):
        await admin.create_topic(addr, config)
        out(f"create topic to {addr} success.\n")
    if order:
        conf = ";".join(f"{name}:{config['writeQueueNums']}" for name in info.clusters[cluster])
        await admin.put_kv("ORDER_TOPIC_CONFIG", config["topic"], conf)
        out(f"set cluster orderConf. isOrder={order}, orderConf=[{conf}]")
    out(topic_config_text(config))


async def delete_topic_everywhere(admin: AdminClient, cluster: str, topic: str) -> None:
    """Java ``DeleteTopicSubCommand.deleteTopic``: every master of the cluster, then every
    NameServer."""
    info = await admin.cluster_info()
    for addr in info.master_addrs(cluster):
        await admin.delete_topic_in_broker(addr, topic)
    out(f"delete topic [{topic}] from cluster [{cluster}] success.\n")
    await admin.delete_topic_in_namesrv(topic, cluster)
    out(f"delete topic [{topic}] from NameServer success.\n")


async def delete_topic(args: Args, admin: AdminClient) -> None:
    await delete_topic_everywhere(admin, args.need("c"), args.need("t"))


async def update_topic_perm(args: Args, admin: AdminClient) -> None:
    topic = args.need("t")
    perm = args.int("p", 0)
    route = await admin.route(topic)
    if not route.queues:
        raise AdminError(f"topic {topic} has no queues")
    first = route.queues[0]
    config = {"topic": topic, "readQueueNums": str(first.read_queue_nums),
              "writeQueueNums": str(first.write_queue_nums), "perm": str(perm),
              "topicFilterType": "SINGLE_TAG", "topicSysFlag": str(first.topic_sys_flag),
              "order": "false"}  # fmt: skip
    if args.has("b"):
        addr = args.need("b")
        name = next((b.broker_name for b in route.brokers if b.master_addr == addr), None)
        if name is None:
            out("updateTopicPerm error broker not exit or broker is not master!.\n")
            return
        old = next((q.perm for q in route.queues if q.broker_name == name), 0)
        if old == perm:
            out("new perm equals to the old one!\n")
            return
        await admin.create_topic(addr, config)
        out(f"update topic perm from {old} to {perm} in {addr} success.\n")
        out(f"{topic_config_text(config)}.\n")
        return
    if not args.has("c"):
        raise UsageError("updateTopicPerm needs -b or -c")
    info = await admin.cluster_info()
    for addr in info.master_addrs(args.need("c")):
        await admin.create_topic(addr, config)
        out(f"update topic perm from {first.perm} to {perm} in {addr} success.\n")


ROUTE_MAPS = frozenset({"brokerAddrs", "filterServerTable"})


def _route_json(data: dict[str, object]) -> str:
    """The route as mqadmin prints it (fastjson's pretty form)."""
    return fastjson.dumps_pretty(data, ROUTE_MAPS)


async def topic_route(args: Args, admin: AdminClient) -> None:
    topic = args.need("t")
    data = await admin.route_json(topic)
    if not args.has("l"):
        out(_route_json(data) + "\n")
        return
    route = await admin.route(topic)
    fmt = "%-45s %-32s %-50s %-10s %-11s %-5s\n"
    out(fmt % ("#ClusterName", "#BrokerName", "#BrokerAddrs", "#ReadQueue", "#WriteQueue", "#Perm"))
    queues = {q.broker_name: q for q in route.queues}
    total_read = total_write = 0
    for broker in sorted(route.brokers, key=lambda b: b.broker_name):
        q = queues[broker.broker_name]
        total_read += q.read_queue_nums
        total_write += q.write_queue_nums
        addrs = "{" + ", ".join(f"{k}={v}" for k, v in sorted(broker.addrs.items())) + "}"
        out(fmt % (broker.cluster, broker.broker_name, addrs, q.read_queue_nums,
                   q.write_queue_nums, q.perm))  # fmt: skip
    out("-" * 158 + "\n")
    out(fmt % ("Total:", len(queues), "", total_read, total_write, ""))


async def topic_status(args: Args, admin: AdminClient) -> None:
    topic = args.need("t")
    route = await admin.route(topic)
    table = {}
    for broker in route.brokers:
        addr = broker.master_addr
        if addr:
            table.update(await admin.topic_stats(addr, topic))
    out("%-32s  %-4s  %-20s  %-20s    %s\n" % ("#Broker Name", "#QID", "#Min Offset",
                                             "#Max Offset", "#Last Updated"))  # fmt: skip
    for mq in sorted(table):
        stats = table[mq]
        updated = stats.get("lastUpdateTimestamp", 0)
        shown = human_ms(updated) if updated > 0 else ""
        row = (mq.broker_name[:32], mq.queue_id, stats.get("minOffset", 0),
               stats.get("maxOffset", 0), shown)  # fmt: skip
        out("%-32s  %-4d  %-20d  %-20d    %s\n" % row)


async def topic_cluster_list(args: Args, admin: AdminClient) -> None:
    route = await admin.route(args.need("t"))
    info = await admin.cluster_info()
    clusters = {info.cluster_of(b.broker_name) or b.cluster for b in route.brokers}
    for cluster in sorted(c for c in clusters if c):
        out(f"{cluster}\n")


async def topic_list(args: Args, admin: AdminClient) -> None:
    topics = await admin.topic_list()
    if not args.has("c"):
        for topic in topics:
            out(f"{topic}\n")
        return
    info = await admin.cluster_info()
    out("%-20s  %-48s  %-48s\n" % ("#Cluster Name", "#Topic", "#Consumer Group"))
    for topic in topics:
        if topic.startswith(("%RETRY%", "%DLQ%")):
            continue
        cluster, groups = "", [""]
        try:
            route = await admin.route(topic)
            if route.brokers:
                cluster = info.cluster_of(route.brokers[0].broker_name) or ""
            groups = await admin.consumer_groups_of(topic) or [""]
        except AdminError:
            pass
        for group in groups:
            out("%-20s  %-64s  %-64s\n" % (cluster[:20], topic[:64], group[:64]))


ORDER_NAMESPACE = "ORDER_TOPIC_CONFIG"


async def update_order_conf(args: Args, admin: AdminClient) -> None:
    topic, method = args.need("t"), args.need("m")
    if method == "get":
        conf = await admin.get_kv(ORDER_NAMESPACE, topic)
        shown = "null" if conf is None else conf
        out(f"get orderConf success. topic=[{topic}], orderConf=[{shown}] ")
    elif method == "put":
        conf = args.get("v") or ""
        if not conf:
            raise AdminError("please set orderConf with option -v.")
        await admin.put_kv(ORDER_NAMESPACE, topic, conf)
        out(f"update orderConf success. topic=[{topic}], orderConf=[{conf}]")
    elif method == "delete":
        await admin.delete_kv(ORDER_NAMESPACE, topic)
        out(f"delete orderConf success. topic=[{topic}]")
    else:
        out(help_text("updateOrderConf", (HELP, NAMESRV, *COMMANDS["updateOrderConf"].options)))


async def allocate_mq(args: Args, admin: AdminClient) -> None:
    """Java ``AllocateMQSubCommand``: the averagely split of the topic's queues over the given
    clients, in the order Java's hash sets and maps give them."""
    topic = args.need("t")
    ips = args.need("i").split(",")
    route = await admin.route(topic)
    queues = [MessageQueue(topic, q.broker_name, i) for q in route.queues
              if is_readable(q.perm) for i in range(q.read_queue_nums)]  # fmt: skip
    unique = list(dict.fromkeys(queues))
    ordered = fastjson.java_hashmap_order(
        unique, [fastjson.java_message_queue_hash(q.topic, q.broker_name, q.queue_id)
                 for q in unique])  # fmt: skip
    strategy = AllocateAveragely()
    result = {ip: strategy.allocate("aa", ip, ordered, ips) for ip in ips}
    keys = fastjson.java_hashmap_order(
        list(dict.fromkeys(ips)), [java_hash(ip) for ip in dict.fromkeys(ips)]
    )
    body = ",".join(fastjson.dumps(ip).decode() + ":" + fastjson.dumps(
        [{"brokerName": q.broker_name, "queueId": q.queue_id, "topic": q.topic}
         for q in result[ip]]).decode() for ip in keys)  # fmt: skip
    out('{"result":{' + body + "}}\n")


COMMANDS = {
    "updateTopic": Command(
        "updateTopic", "Update or create topic",
        (Opt("b", "brokerAddr", True, "create topic to which broker"),
         Opt("c", "clusterName", True, "create topic to which cluster"), TOPIC,
         Opt("r", "readQueueNums", True, "set read queue nums"),
         Opt("w", "writeQueueNums", True, "set write queue nums"),
         Opt("p", "perm", True, "set topic's permission(2|4|6), intro[2:W 4:R; 6:RW]"),
         Opt("o", "order", True, "set topic's order(true|false)"),
         Opt("u", "unit", True, "is unit topic (true|false)"),
         Opt("s", "hasUnitSub", True, "has unit sub (true|false)")),
        update_topic, (("b", "c"),),
    ),
    "deleteTopic": Command(
        "deleteTopic", "Delete topic from broker and NameServer.",
        (TOPIC, Opt("c", "clusterName", True, "delete topic from which cluster", required=True)),
        delete_topic,
    ),
    "updateTopicPerm": Command(
        "updateTopicPerm", "Update topic perm",
        (Opt("b", "brokerAddr", True, "create topic to which broker"),
         Opt("c", "clusterName", True, "create topic to which cluster"), TOPIC,
         Opt("p", "perm", True, "set topic's permission(2|4|6), intro[2:W; 4:R; 6:RW]",
             required=True)),
        update_topic_perm,
    ),
    "topicRoute": Command(
        "topicRoute", "Examine topic route info",
        (TOPIC, Opt("l", "list", False, "Use list format to print data")), topic_route,
    ),
    "topicStatus": Command("topicStatus", "Examine topic Status info", (TOPIC,), topic_status),
    "topicClusterList": Command(
        "topicClusterList", "get cluster info for topic", (TOPIC,), topic_cluster_list,
    ),
    "updateOrderConf": Command(
        "updateOrderConf", "Create or update or delete order conf",
        (TOPIC, Opt("v", "orderConf", True, "set order conf [eg. brokerName1:num;brokerName2:num]"),
         Opt("m", "method", True, "option type [eg. put|get|delete", required=True)),
        update_order_conf,
    ),
    "allocateMQ": Command(
        "allocateMQ", "Allocate MQ",
        (TOPIC, Opt("i", "ipList", True, "ipList", required=True)), allocate_mq,
    ),
    "topicList": Command(
        "topicList", "Fetch all topic list from name server",
        (Opt("c", "clusterModel", False, "clusterModel"),), topic_list,
    ),
}  # fmt: skip
