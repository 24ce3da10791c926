"""Message commands (Java: ``tools.command.message``): queryMsgById, queryMsgByKey,
queryMsgByUniqueKey, queryMsgByOffset, sendMessage."""

import os
import sys
from pathlib import Path

from rmq.admin.admin_client import AdminClient, AdminError
from rmq.admin.command import Command, out
from rmq.admin.options import Args, Opt
from rmq.admin.send_rt import send_result_text
from rmq.admin.topic import human_ms
from rmq.client.api import decode_messages
from rmq.client.config import ClientConfig
from rmq.client.errors import ClientError
from rmq.client.message import Message, MessageExt, MessageQueue
from rmq.client.producer import Producer
from rmq.common import fastjson
from rmq.common import property_keys as pk
from rmq.common.codes import RequestCode, ResponseCode
from rmq.remoting.command import request

#: Where mqadmin writes each printed message's body (Java's fixed path).
BODY_DIR = Path("/tmp/rocketmq/msgbodys")
QUERY_MAX: int = 64
JAVA_LONG_MAX: int = 2**63 - 1


def _java_map(props: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in props.items()) + "}"


def _body_file(msg: MessageExt, name: str | None = None) -> str:
    BODY_DIR.mkdir(parents=True, exist_ok=True)
    path = BODY_DIR / (name or msg.msg_id)
    path.write_bytes(msg.body)
    return str(path)


async def message_tracks(admin: AdminClient, msg: MessageExt
                         ) -> list[tuple[str, str, str | None]]:  # fmt: skip
    """Java ``messageTrackDetail``: for each group consuming the topic, whether it has
    consumed this message: (group, track type, exception description)."""
    lines: list[tuple[str, str, str | None]] = []
    try:
        groups = await admin.consumer_groups_of(msg.topic)
    except AdminError:
        groups = []
    info = await admin.cluster_info()
    for group in groups:
        kind, desc = "UNKNOWN", None
        try:
            cc = await admin.consumer_connection(group)
        except AdminError as exc:
            if exc.code == ResponseCode.CONSUMER_NOT_ONLINE:
                kind = "NOT_ONLINE"
            desc = f"CODE:{exc.code} DESC:{exc.remark or exc}"
            lines.append((group, kind, desc))
            continue
        if cc.get("consumeType") == "CONSUME_ACTIVELY":
            kind = "PULL"
        else:
            try:
                consumed = await _consumed(admin, msg, group, info.brokers)
            except AdminError as exc:
                if exc.code == ResponseCode.CONSUMER_NOT_ONLINE:
                    kind = "NOT_ONLINE"
                lines.append((group, kind, f"CODE:{exc.code} DESC:{exc.remark or exc}"))
                continue
            kind = "CONSUMED" if consumed else "NOT_CONSUME_YET"
            sub = (cc.get("subscriptionTable") or {}).get(msg.topic)
            tags = set((sub or {}).get("tagsSet") or [])
            if consumed and tags and "*" not in tags and msg.tags not in tags:
                kind = "CONSUMED_BUT_FILTERED"
        lines.append((group, kind, desc))
    return lines


async def _track(admin: AdminClient, msg: MessageExt) -> list[str]:
    return [_track_text(*row) for row in await message_tracks(admin, msg)]


def _track_text(group: str, kind: str, desc: str | None) -> str:
    return f"MessageTrack [consumerGroup={group}, trackType={kind}, exceptionDesc={desc}]"


async def _consumed(admin: AdminClient, msg: MessageExt, group: str,
                    brokers: dict[str, tuple[str, dict[int, str]]]) -> bool:  # fmt: skip
    table, _ = await admin.consume_stats(group)
    for mq, w in table.items():
        if mq.topic != msg.topic or mq.queue_id != msg.queue_id:
            continue
        master = brokers.get(mq.broker_name, ("", {}))[1].get(0)
        if master == msg.store_host and w.get("consumerOffset", 0) > msg.queue_offset:
            return True
    return False


async def print_msg(admin: AdminClient, msg: MessageExt | None, with_offset_id: bool = True,
                    body_name: str | None = None) -> None:  # fmt: skip
    """Java ``QueryMsgByIdSubCommand.printMsg`` (``QueryMsgByUniqueKeySubCommand
    .showMessage`` without the OffsetID line)."""
    if msg is None:
        out("\nMessage not found!")
        return
    rows: list[tuple[str, object]] = [("OffsetID:", msg.offset_msg_id)] if with_offset_id else []
    rows += [
        ("Topic:", msg.topic),
        ("Tags:", f"[{msg.tags}]"),
        ("Keys:", f"[{msg.keys}]"),
        ("Queue ID:", msg.queue_id),
        ("Queue Offset:", msg.queue_offset),
        ("CommitLog Offset:", msg.commit_log_offset),
        ("Reconsume Times:", msg.reconsume_times),
        ("Born Timestamp:", human_ms(msg.born_timestamp)),
        ("Store Timestamp:", human_ms(msg.store_timestamp)),
        ("Born Host:", msg.born_host),
        ("Store Host:", msg.store_host),
        ("System Flag:", msg.sys_flag),
        ("Properties:", _java_map(msg.properties)),
        ("Message Body Path:", _body_file(msg, body_name)),
    ]
    for label, value in rows:
        out("%-20s %s\n" % (label, value))
    tracks = await _track(admin, msg)
    if not tracks:
        out("\n\nWARN: No Consumer")
        return
    out("\n\n")
    for line in tracks:
        out(line)


def _decode(data: bytes, pulled: tuple[int, int] | None = None) -> list[MessageExt]:
    """Records as messages; only pulled ones carry MIN_OFFSET/MAX_OFFSET, as in Java."""
    try:
        msgs = decode_messages(data, "", *(pulled or (0, 0)))
    except ClientError as exc:
        raise AdminError(str(exc)) from None
    if pulled is None:
        for msg in msgs:
            msg.properties.pop(pk.MIN_OFFSET, None)
            msg.properties.pop(pk.MAX_OFFSET, None)
    return msgs


async def query_by_id(args: Args, admin: AdminClient) -> None:
    """Print each message; with -g and -d have that consumer consume it again
    (CONSUME_MESSAGE_DIRECTLY); with -s true send it again."""
    ids = [m.strip() for m in args.need("i").split(",") if m.strip()]
    if args.has("g") and args.has("d"):
        for msg_id in ids:
            await _push_again(admin, args.need("g").strip(), args.need("d").strip(), msg_id)
        return
    if args.has("s"):
        if (args.get("s") or "false").strip().lower() == "true":
            await _send_again(admin, ids, args.get("u"))
        return
    for msg_id in ids:
        msgs = _decode(await admin.view_message(msg_id))
        await print_msg(admin, msgs[0] if msgs else None)


async def _push_again(admin: AdminClient, group: str, client_id: str, msg_id: str) -> None:
    msgs = _decode(await admin.view_message(msg_id))
    if not msgs:
        raise AdminError(f"no message. msgId={msg_id}")
    header = {"consumerGroup": group, "clientId": client_id, "msgId": msg_id}
    cmd = request(RequestCode.CONSUME_MESSAGE_DIRECTLY, header)
    reply = await admin.call(msgs[0].store_host, cmd, timeout=admin.timeout * 3)
    r = fastjson.loads(reply.body or b"{}")
    out(f"ConsumeMessageDirectlyResult [order={str(bool(r.get('order'))).lower()}, "
        f"autoCommit={str(bool(r.get('autoCommit', True))).lower()}, "
        f"consumeResult={r.get('consumeResult')}, remark={r.get('remark')}, "
        f"spentTimeMills={int(r.get('spentTimeMills') or 0)}]")  # fmt: skip


async def _send_again(admin: AdminClient, ids: list[str], unit: str | None) -> None:
    config = ClientConfig(namesrv_addr=";".join(admin.namesrv),
                          instance_name=str(int(os.times().elapsed * 1000)),
                          unit_name=unit.strip() if unit else None)  # fmt: skip
    producer = Producer("ReSendMsgById", config=config)
    await producer.start()
    try:
        for msg_id in ids:
            msgs = _decode(await admin.view_message(msg_id))
            if not msgs:
                out(f"no message. msgId={msg_id}")
                continue
            old = msgs[0]
            out(f"prepare resend msg. originalMsgId={msg_id}")
            again = Message(old.topic, old.body)
            again.properties.update(old.properties)
            again.flag = old.flag
            try:
                result = await producer.send(again)
            except ClientError as exc:
                raise AdminError(str(exc)) from None
            out(send_result_text(result))
    finally:
        await producer.shutdown()


async def query_by_key(args: Args, admin: AdminClient) -> None:
    topic, key = args.need("t"), args.need("k")
    out("%-50s %4s %40s\n" % ("#Message ID", "#QID", "#Offset"))
    for batch in await admin.query_message(topic, key, QUERY_MAX, 0, JAVA_LONG_MAX):
        for msg in _decode(batch):
            if key in (msg.keys or "").split(" "):
                out("%-50s %4d %40d\n" % (msg.msg_id, msg.queue_id, msg.queue_offset))


async def query_by_unique_key(args: Args, admin: AdminClient) -> None:
    topic, msg_id = args.need("t"), args.need("i")
    found: list[MessageExt] = []
    for batch in await admin.query_message(topic, msg_id, 32, 0, JAVA_LONG_MAX, unique=True):
        found.extend(m for m in _decode(batch) if m.msg_id == msg_id)
    found.sort(key=lambda m: m.store_timestamp)
    for index, msg in enumerate(found if args.has("a") else found[:1]):
        await print_msg(admin, msg, with_offset_id=False, body_name=f"{msg.msg_id}_{index}")


async def query_by_offset(args: Args, admin: AdminClient) -> None:
    topic, broker = args.need("t"), args.need("b")
    data, low, high = await admin.pull_one(topic, broker, args.int("i", 0), args.int("o", 0))
    msgs = _decode(data, (low, high)) if data else []
    await print_msg(admin, msgs[0] if msgs else None)


async def send_message(args: Args, admin: AdminClient) -> None:
    topic = args.need("t")
    body = args.need("p").encode()
    broker, queue_id = args.get("b"), args.int("i", -1)
    if args.has("i") and broker is None:
        out("Broker name must be set if the queue is chosen!")
        return
    config = ClientConfig(namesrv_addr=";".join(admin.namesrv),
                          instance_name=f"rmq-admin-{os.getpid()}")  # fmt: skip
    producer = Producer(f"{int(os.times().elapsed * 1000)}", config=config)
    try:
        await producer.start()
        msg = Message(topic, body, tags=args.get("c"), keys=args.get("k"))
        queue = MessageQueue(topic, broker, queue_id) if broker and queue_id > -1 else None
        result = await producer.send(msg, queue)
    except ClientError as exc:
        raise AdminError(str(exc)) from None
    finally:
        await producer.shutdown()
    out("%-32s  %-4s  %-20s    %s\n" % ("#Broker Name", "#QID", "#Send Result", "#MsgId"))
    out("%-32s  %-4s  %-20s    %s\n" % (result.message_queue.broker_name,
                                        result.message_queue.queue_id,
                                        result.send_status.value, result.msg_id))  # fmt: skip
    sys.stdout.flush()


TOPIC = Opt("t", "topic", True, "topic name", required=True)

COMMANDS = {
    "queryMsgById": Command(
        "queryMsgById", "Query Message by Id",
        (Opt("i", "msgId", True, "Message Id", required=True),
         Opt("g", "consumerGroup", True, "consumer group name"),
         Opt("d", "clientId", True, "The consumer's client id"),
         Opt("s", "sendMessage", True, "resend message"),
         Opt("u", "unitName", True, "unit name")),
        query_by_id,
    ),
    "queryMsgByKey": Command(
        "queryMsgByKey", "Query Message by Key",
        (TOPIC, Opt("k", "msgKey", True, "Message Key", required=True)), query_by_key,
    ),
    "queryMsgByUniqueKey": Command(
        "queryMsgByUniqueKey", "Query Message by Unique key",
        (Opt("i", "msgId", True, "Message Id", required=True),
         Opt("g", "consumerGroup", True, "consumer group name"),
         Opt("d", "clientId", True, "The consumer's client id"),
         Opt("t", "topic", True, "The topic of msg", required=True),
         Opt("a", "showAll", False, "Print all message, the limit is 32")),
        query_by_unique_key,
    ),
    "queryMsgByOffset": Command(
        "queryMsgByOffset", "Query Message by offset",
        (TOPIC, Opt("b", "brokerName", True, "Broker Name", required=True),
         Opt("i", "queueId", True, "Queue Id", required=True),
         Opt("o", "offset", True, "Queue Offset", required=True)),
        query_by_offset,
    ),
    "sendMessage": Command(
        "sendMessage", "Send a message",
        (Opt("t", "topic", True, "Topic name", required=True),
         Opt("p", "body", True, "UTF-8 string format of the message body", required=True),
         Opt("k", "key", True, "Message keys"), Opt("c", "tags", True, "Message tags"),
         Opt("b", "broker", True, "Send message to target broker"),
         Opt("i", "qid", True, "Send message to target queue"),
         Opt("m", "msgTraceEnable", True, "Message Trace Enable, Default: false")),
        send_message,
    ),
}  # fmt: skip
