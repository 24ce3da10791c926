"""queryMsgTraceById (Java: ``QueryMsgTraceByIdSubCommand``, ``TraceView``,
``TraceDataEncoder``): the trace records a traced producer and consumers wrote to the trace
topic for one message id, as a Pub table and a Sub table per consumer group."""

import time
from dataclasses import dataclass
from datetime import datetime

from rmq.admin.admin_client import AdminClient
from rmq.admin.command import Command, out
from rmq.admin.message import JAVA_LONG_MAX, QUERY_MAX
from rmq.admin.options import Args, Opt
from rmq.client.api import decode_messages
from rmq.client.errors import ClientError
from rmq.common.fastjson import java_hashmap_order
from rmq.common.message_id import java_hash

TRACE_TOPIC = "RMQ_SYS_TRACE_TOPIC"
CONTENT_SPLIT = "\x01"
FIELD_SPLIT = "\x02"
ROW = "%-10s %-20s %-20s %-20s %-10s %-10s\n"


@dataclass(frozen=True, slots=True)
class TraceView:
    kind: str  # Pub, SubBefore, SubAfter, EndTransaction
    group: str
    client_host: str
    timestamp: int
    cost_ms: int
    success: bool


def _int(fields: list[str], i: int) -> int:
    try:
        return int(fields[i])
    except (IndexError, ValueError):
        return 0


def decode_trace(body: str, msg_id: str, client_host: str) -> list[TraceView]:
    """Java ``TraceDataEncoder.decoderFromTraceDataString``, keeping the contexts about
    ``msg_id``; malformed contexts are skipped."""
    views = []
    for context in body.split(FIELD_SPLIT):
        f = context.split(CONTENT_SPLIT)
        kind = f[0]
        if kind == "Pub" and len(f) >= 13:
            if f[5] != msg_id:
                continue
            ok = f[12] if len(f) == 13 else f[13]
            views.append(TraceView(kind, f[3], client_host, _int(f, 1), _int(f, 10),
                                   ok.lower() == "true"))  # fmt: skip
        elif kind == "SubAfter" and len(f) >= 6:
            if f[2] != msg_id:
                continue
            group = f[8] if len(f) >= 9 else ""
            stamp = _int(f, 7) if len(f) >= 9 else 0
            views.append(TraceView(kind, group, client_host, stamp, _int(f, 3),
                                   f[4].lower() == "true"))  # fmt: skip
        elif kind in ("SubBefore", "EndTransaction") and len(f) >= 6 and f[5] == msg_id:
            views.append(TraceView(kind, f[3], client_host, _int(f, 1), 0, True))
    return views


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def _row(label: str, v: TraceView) -> str:
    status = "success" if v.success else "failed"
    return ROW % (label, v.group, v.client_host, _when(v.timestamp), f"{v.cost_ms}ms", status)


async def trace_views(admin: AdminClient, msg_id: str, topic: str = TRACE_TOPIC
                      ) -> list[TraceView]:  # fmt: skip
    """Every trace record about ``msg_id`` in the trace topic (keyed by message id)."""
    now = int(time.time() * 1000)
    views: list[TraceView] = []
    for batch in await admin.query_message(topic, msg_id, QUERY_MAX, 0, min(now, JAVA_LONG_MAX)):
        try:
            msgs = decode_messages(batch, "")
        except ClientError:
            continue
        for msg in msgs:
            if msg_id not in (msg.keys or "").split(" "):
                continue
            host = msg.born_host.rpartition(":")[0]
            views.extend(decode_trace(msg.body.decode("utf-8", "replace"), msg_id, host))
    return views


async def query_trace(args: Args, admin: AdminClient) -> None:
    msg_id = args.need("i").strip()
    views = await trace_views(admin, msg_id, (args.get("t") or TRACE_TOPIC).strip())
    by_group: dict[str, list[TraceView]] = {}
    for v in views:
        if v.kind == "Pub":
            out(ROW % ("#Type", "#ProducerGroup", "#ClientHost", "#SendTime", "#CostTimes",
                       "#Status"))  # fmt: skip
            out(_row("Pub", v))
            out("\n")
        if v.kind == "SubAfter":
            by_group.setdefault(v.group, []).append(v)
    for group in java_hashmap_order(list(by_group), [java_hash(g) for g in by_group]):
        out(ROW % ("#Type", "#ConsumerGroup", "#ClientHost", "#ConsumerTime", "#CostTimes",
                   "#Status"))  # fmt: skip
        for v in by_group[group]:
            out(_row("Sub", v))
        out("\n")


COMMANDS = {
    "queryMsgTraceById": Command(
        "queryMsgTraceById", "query a message trace",
        (Opt("i", "msgId", True, "Message Id", required=True),
         Opt("t", "traceTopic", True, "The name value of message trace topic")),
        query_trace,
    ),
}  # fmt: skip
