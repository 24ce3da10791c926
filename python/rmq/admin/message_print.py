"""Commands that read queues through pulls and print each message as Java's
``MessageExt.toString()`` (Java: ``PrintMessageSubCommand``, ``PrintMessageByQueueCommand``,
``ConsumeMessageCommand``): printMsg, printMsgByQueue, consumeMessage."""

import time
from datetime import datetime

from rmq.admin.admin_client import AdminClient, AdminError, PullAnswer
from rmq.admin.command import Command, out
from rmq.admin.options import Args, Opt
from rmq.client.api import decode_messages
from rmq.client.errors import ClientError
from rmq.client.message import MessageExt, MessageQueue
from rmq.common.fastjson import java_hashmap_order
from rmq.common.message_id import java_hash

PULL_BATCH = 32
TIMESTAMP_HELP = "timestamp[currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]"


def java_map(values: dict[str, str]) -> str:
    """Java ``HashMap.toString()``, entries in the order the HashMap keeps them."""
    keys = java_hashmap_order(list(values), [java_hash(k) for k in values])
    return "{" + ", ".join(f"{k}={values[k]}" for k in keys) + "}"


def _java_bytes(data: bytes) -> str:
    return "[" + ", ".join(str(b - 256 if b > 127 else b) for b in data) + "]"


def message_ext_text(msg: MessageExt) -> str:
    """Java ``MessageExt.toString()`` of a pulled message."""
    message = (f"Message{{topic='{msg.topic}', flag={msg.flag}, "
               f"properties={java_map(msg.properties)}, body={_java_bytes(msg.body)}, "
               f"transactionId='null'}}")  # fmt: skip
    return (f"MessageExt [brokerName={msg.broker_name}, queueId={msg.queue_id}, "
            f"storeSize={msg.store_size}, queueOffset={msg.queue_offset}, "
            f"sysFlag={msg.sys_flag}, bornTimestamp={msg.born_timestamp}, "
            f"bornHost=/{msg.born_host}, storeTimestamp={msg.store_timestamp}, "
            f"storeHost=/{msg.store_host}, msgId={msg.offset_msg_id}, "
            f"commitLogOffset={msg.commit_log_offset}, bodyCRC={msg.body_crc}, "
            f"reconsumeTimes={msg.reconsume_times}, "
            f"preparedTransactionOffset={msg.prepared_transaction_offset}, "
            f"toString()={message}]")  # fmt: skip


def print_messages(msgs: list[MessageExt], charset: str, print_body: bool) -> None:
    for msg in msgs:
        try:
            body = msg.body.decode(charset, errors="replace") if print_body else "NOT PRINT BODY"
        except LookupError:
            continue  # Java skips the message on an unsupported charset
        out(f"MSGID: {msg.msg_id} {message_ext_text(msg)} BODY: {body}\n")


def timestamp_of(text: str) -> int:
    """Milliseconds, or ``yyyy-MM-dd#HH:mm:ss:SSS`` in local time (Java ``timestampFormat``)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        when = datetime.strptime(text, "%Y-%m-%d#%H:%M:%S:%f")
    except ValueError:
        raise AdminError(f"bad timestamp {text!r}: want milliseconds or "
                         "yyyy-MM-dd#HH:mm:ss:SSS") from None  # fmt: skip
    return int(when.timestamp() * 1000)


def queue_text(mq: MessageQueue) -> str:
    return f"MessageQueue [topic={mq.topic}, brokerName={mq.broker_name}, queueId={mq.queue_id}]"


def matched(answer: PullAnswer, mq: MessageQueue, subscription: str) -> list[MessageExt]:
    """The pulled messages, kept by exact tag as Java's client does after the broker's
    hash-code filter."""
    try:
        msgs = decode_messages(answer.records, mq.broker_name, answer.min_offset,
                               answer.max_offset)  # fmt: skip
    except ClientError as exc:
        raise AdminError(str(exc)) from None
    if subscription.strip() in ("", "*"):
        return msgs
    tags = {t.strip() for t in subscription.split("||") if t.strip()}
    return [m for m in msgs if m.tags in tags]


async def _bounds(admin: AdminClient, mq: MessageQueue, args: Args, begin: str,
                  end: str) -> tuple[int, int]:  # fmt: skip
    low, high = await admin.queue_bounds(mq)
    if args.has(begin):
        low = await admin.search_offset(mq, timestamp_of(args.need(begin)))
    if args.has(end):
        high = await admin.search_offset(mq, timestamp_of(args.need(end)))
    return low, high


def _flag(args: Args, short: str, default: bool) -> bool:
    value = args.get(short)
    return default if value is None else value.strip().lower() == "true"


async def print_msg(args: Args, admin: AdminClient) -> None:
    topic = args.need("t").strip()
    charset = (args.get("c") or "UTF-8").strip()
    subscription = (args.get("s") or "*").strip()
    print_body = _flag(args, "d", True)
    for mq in await admin.subscribe_queues(topic):
        low, high = await _bounds(admin, mq, args, "b", "e")
        out(f"minOffset={low}, maxOffset={high}, {queue_text(mq)}\n")
        offset = low
        while offset < high:
            answer = await admin.pull(mq, subscription, offset, PULL_BATCH)
            offset = answer.next_begin
            if answer.status == "FOUND":
                print_messages(matched(answer, mq, subscription), charset, print_body)
            elif answer.status == "NO_MATCHED_MSG":
                out(f"{queue_text(mq)} no matched msg. status={answer.status}, offset={offset}\n")
            else:
                out(f"{queue_text(mq)} print msg finished. status={answer.status}, "
                    f"offset={offset}\n")  # fmt: skip
                break
        out("--------------------------------------------------------\n")


async def print_msg_by_queue(args: Args, admin: AdminClient) -> None:
    charset = (args.get("c") or "UTF-8").strip()
    print_msg_too, print_body = _flag(args, "p", False), _flag(args, "d", False)
    by_tag = _flag(args, "f", False)
    subscription = (args.get("s") or "*").strip()
    mq = MessageQueue(args.need("t").strip(), args.need("a").strip(), args.int("i", 0))
    low, high = await _bounds(admin, mq, args, "b", "e")
    counts: dict[str, int] = {}
    offset = low
    while offset < high:
        answer = await admin.pull(mq, subscription, offset, PULL_BATCH)
        offset = answer.next_begin
        if answer.status != "FOUND":
            break
        msgs = matched(answer, mq, subscription)
        if by_tag:
            for msg in msgs:
                if msg.tags and msg.tags.strip():
                    counts[msg.tags] = counts.get(msg.tags, 0) + 1
        if print_msg_too:
            print_messages(msgs, charset, print_body)
    if by_tag:
        # Java sorts by count, largest first; ties keep the HashMap's order.
        tags = java_hashmap_order(list(counts), [java_hash(t) for t in counts])
        for tag in sorted(tags, key=lambda t: -counts[t]):
            out("Tag: %-30s Count: %s\n" % (tag, counts[tag]))


async def _consume_queue(admin: AdminClient, mq: MessageQueue, low: int, high: int,
                         group: str) -> None:  # fmt: skip
    offset = low
    while offset <= high:
        answer = await admin.pull(mq, "*", offset, high - offset + 1, group)
        offset = answer.next_begin
        if answer.status == "FOUND":
            out("Consume ok\n")
            print_messages(matched(answer, mq, "*"), "UTF-8", True)
        elif answer.status == "NO_MATCHED_MSG":
            out(f"{queue_text(mq)} no matched msg. status={answer.status}, offset={offset}\n")
        else:
            out(f"{queue_text(mq)} print msg finished. status={answer.status}, "
                f"offset={offset}\n")  # fmt: skip
            return


async def consume_message(args: Args, admin: AdminClient) -> None:
    topic = args.need("t").strip()
    count = 128
    if args.has("c"):
        count = args.int("c", 128)
        if count <= 0:
            out("Please input a positive messageNumber!")
            return
    broker = args.get("b")
    if args.has("i") and not args.has("b"):
        out("Please set the brokerName before queueId!")
        return
    if args.has("o") and not args.has("i"):
        out("Please set queueId before offset!")
        return
    now = int(time.time() * 1000)
    begin = end = 0
    if args.has("s"):
        begin = timestamp_of(args.need("s").strip())
        if begin > now:
            out("Please set the beginTimestamp before now!")
            return
    if args.has("e"):
        end = timestamp_of(args.need("e").strip())
        if end > now:
            out("Please set the endTimestamp before now!")
            return
        if begin > end:
            out("Please make sure that the beginTimestamp is less than or equal to the "
                "endTimestamp")  # fmt: skip
            return
    group = (args.get("g") or "TOOLS_CONSUMER").strip()
    if broker is not None and args.has("i"):
        mq = MessageQueue(topic, broker.strip(), args.int("i", 0))
        offset = args.int("o", 0) if args.has("o") else 0
        low, high = await _window(admin, mq, begin, end)
        if offset > high:
            out(f"{queue_text(mq)} no matched msg, offset={offset}\n")
            return
        low = max(low, offset)
        if high - low > count:
            out(f"The oldler {count} message will be provided\n")
            high = low + count - 1
        await _consume_queue(admin, mq, low, high, group)
        return
    left = count
    for mq in await admin.subscribe_queues(topic):
        if left == 0:
            return
        low, high = await _window(admin, mq, begin, end)
        if high - low > left:
            out(f"The older {left} message of the {mq.queue_id} queue will be provided\n")
            high = low + left - 1
            left = 0
        else:
            left = left - (high - low) - 1
        await _consume_queue(admin, mq, low, high, group)


async def _window(admin: AdminClient, mq: MessageQueue, begin: int, end: int) -> tuple[int, int]:
    low, high = await admin.queue_bounds(mq)
    if begin > 0:
        low = await admin.search_offset(mq, begin)
    if end > 0:
        high = await admin.search_offset(mq, end)
    return low, high


TOPIC = Opt("t", "topic", True, "topic name", required=True)

COMMANDS = {
    "printMsg": Command(
        "printMsg", "Print Message Detail",
        (TOPIC, Opt("c", "charsetName ", True, "CharsetName(eg: UTF-8,GBK)"),
         Opt("s", "subExpression ", True, "Subscribe Expression(eg: TagA || TagB)"),
         Opt("b", "beginTimestamp ", True, f"Begin {TIMESTAMP_HELP}"),
         Opt("e", "endTimestamp ", True, f"End {TIMESTAMP_HELP}"),
         Opt("d", "printBody ", True, "print body")),
        print_msg,
    ),
    "printMsgByQueue": Command(
        "printMsgByQueue", "Print Message Detail",
        (TOPIC, Opt("a", "brokerName ", True, "broker name", required=True),
         Opt("i", "queueId ", True, "queue id", required=True),
         Opt("c", "charsetName ", True, "CharsetName(eg: UTF-8,GBK)"),
         Opt("s", "subExpression ", True, "Subscribe Expression(eg: TagA || TagB)"),
         Opt("b", "beginTimestamp ", True, f"Begin {TIMESTAMP_HELP}"),
         Opt("e", "endTimestamp ", True, f"End {TIMESTAMP_HELP}"),
         Opt("p", "print msg", True, "print msg. eg: true | false(default)"),
         Opt("d", "printBody ", True, "print body. eg: true | false(default)"),
         Opt("f", "calculate", True, "calculate by tag. eg: true | false(default)")),
        print_msg_by_queue,
    ),
    "consumeMessage": Command(
        "consumeMessage", "Consume message",
        (Opt("t", "topic", True, "Topic name", required=True),
         Opt("b", "brokerName", True, "Broker name"), Opt("i", "queueId", True, "Queue Id"),
         Opt("o", "offset", True, "Queue offset"),
         Opt("g", "consumerGroup", True, "Consumer group name"),
         Opt("s", "beginTimestamp ", True, f"Begin {TIMESTAMP_HELP}"),
         Opt("e", "endTimestamp ", True, f"End {TIMESTAMP_HELP}"),
         Opt("c", "MessageNumber", True, "Number of message to be consumed")),
        consume_message,
    ),
}  # fmt: skip
