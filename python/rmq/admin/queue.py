"""queryCq (Java: ``QueryConsumeQueueCommand``): raw consume queue units of one queue."""

from rmq.admin.admin_client import AdminClient, AdminError
from rmq.admin.command import Command, out
from rmq.admin.options import Args, Opt
from rmq.common import fastjson
from rmq.common.codes import RequestCode
from rmq.remoting.command import request

RULE = "======================================\n"


def _java_str(value: object) -> str:
    return "null" if value is None else str(value)


async def query_cq(args: Args, admin: AdminClient) -> None:
    topic = args.need("t").strip()
    queue_id, index = args.int("q", 0), args.int("i", 0)
    count = args.int("c", 10)
    broker = (args.get("b") or "").strip()
    if not broker:
        route = await admin.route(topic)
        addr = route.brokers[0].addrs.get(0) if route.brokers else None
        if addr is None:
            raise AdminError("No topic route data!")
        broker = addr
    header = {"topic": topic, "queueId": str(queue_id), "index": str(index),
              "count": str(count)}  # fmt: skip
    if args.has("g"):
        header["consumerGroup"] = args.need("g").strip()
    reply = await admin.call(broker, request(RequestCode.QUERY_CONSUME_QUEUE, header))
    if not reply.body:
        # Java decodes the missing body and fails there: one line instead of its trace.
        raise AdminError(reply.remark or "no consume queue data")
    body = fastjson.loads(reply.body)
    if body.get("subscriptionData") is not None:
        out("Subscription data: \n%s\n" % fastjson.dumps_pretty(body["subscriptionData"]))
        out(RULE)
    if body.get("filterData") is not None:
        out("Filter data: \n%s\n" % body["filterData"])
        out(RULE)
    out("Queue data: \nmax: %d, min: %d\n" % (body.get("maxQueueIndex", 0),
                                              body.get("minQueueIndex", 0)))  # fmt: skip
    out(RULE)
    for i, unit in enumerate(body.get("queueData") or (), index):
        ext, bits, msg = (_java_str(unit.get(k)) for k in ("extendDataJson", "bitMap", "msg"))
        evaluated = str(bool(unit.get("eval"))).lower()
        text = (f"ConsumeQueueData{{physicOffset={unit.get('physicOffset', 0)}, "
                f"physicSize={unit.get('physicSize', 0)}, tagsCode={unit.get('tagsCode', 0)}, "
                f"extendDataJson='{ext}', bitMap='{bits}', eval={evaluated}, "
                f"msg='{msg}'}}")  # fmt: skip
        out(f"idx: {i}\n{text}\n{RULE}")


COMMANDS = {
    "queryCq": Command(
        "queryCq", "Query cq command.",
        (Opt("t", "topic", True, "topic name", required=True),
         Opt("q", "queue", True, "queue num, ie. 1", required=True),
         Opt("i", "index", True, "start queue index.", required=True),
         Opt("c", "count", True, "how many."), Opt("b", "broker", True, "broker addr."),
         Opt("g", "consumer", True, "consumer group.")),
        query_cq,
    ),
}  # fmt: skip
