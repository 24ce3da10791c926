"""Commands that time real sends (Java: ``SendMsgStatusCommand``, ``CheckMsgSendRTCommand``,
``CLusterSendMsgRTCommand``): sendMsgStatus, checkMsgSendRT, clusterRT."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from rmq.admin.admin_client import AdminClient, AdminError
from rmq.admin.command import Command, out
from rmq.admin.options import Args, Opt
from rmq.client.config import ClientConfig
from rmq.client.errors import BrokerError, ClientError
from rmq.client.message import Message, MessageQueue, SendResult
from rmq.client.producer import Producer
from rmq.common.fastjson import java_hashmap_order
from rmq.common.message_id import java_hash
from rmq.remoting.errors import RemotingError

SEND_ERRORS = (ClientError, BrokerError, RemotingError, OSError, TimeoutError)


@asynccontextmanager
async def _producer(admin: AdminClient, group: str) -> AsyncIterator[Producer]:
    config = ClientConfig(namesrv_addr=";".join(admin.namesrv),
                          instance_name=f"{group}_{int(time.time() * 1000)}")  # fmt: skip
    producer = Producer(group, config=config)
    try:
        await producer.start()
    except SEND_ERRORS as exc:
        raise AdminError(str(exc)) from None
    try:
        yield producer
    finally:
        await producer.shutdown()


def _queue_text(mq: MessageQueue) -> str:
    return f"MessageQueue [topic={mq.topic}, brokerName={mq.broker_name}, queueId={mq.queue_id}]"


def send_result_text(r: SendResult) -> str:
    """Java ``SendResult.toString()``."""
    return (f"SendResult [sendStatus={r.send_status.value}, msgId={r.msg_id}, "
            f"offsetMsgId={r.offset_msg_id}, messageQueue={_queue_text(r.message_queue)}, "
            f"queueOffset={r.queue_offset}]")  # fmt: skip


def _jodie(size: int) -> bytes:
    """Java's body: "hello jodie" repeated once per 11 bytes asked for, rounded up."""
    return b"hello jodie" * ((size + 10) // 11)


async def send_msg_status(args: Args, admin: AdminClient) -> None:
    broker = args.need("b").strip()
    size, count = args.int("s", 128), args.int("c", 50)
    async with _producer(admin, "PID_SMSC") as producer:
        try:
            await producer.send(Message(broker, _jodie(16)))
            for _ in range(count):
                begin = time.monotonic()
                result = await producer.send(Message(broker, _jodie(size)))
                rt = int((time.monotonic() - begin) * 1000)
                out(f"rt={rt}ms, SendResult={send_result_text(result)}\n")
        except SEND_ERRORS as exc:
            raise AdminError(str(exc)) from None


async def check_msg_send_rt(args: Args, admin: AdminClient) -> None:
    topic = args.need("t").strip()
    amount, size = args.int("a", 100), args.int("s", 128)
    body = b"a" * size
    out("%-32s  %-4s  %-20s    %s\n" % ("#Broker Name", "#QID", "#Send Result", "#RT"))
    elapsed = 0
    async with _producer(admin, str(int(time.time() * 1000))) as producer:
        try:
            queues = await producer.fetch_publish_message_queues(topic)
        except SEND_ERRORS as exc:
            raise AdminError(str(exc)) from None
        if not queues:
            raise AdminError(f"No route info of this topic, {topic}")
        for i in range(amount):
            queue = queues[i % len(queues)]
            start = time.monotonic()
            try:
                await producer.send(Message(topic, body), queue)
                ok = "true"
            except SEND_ERRORS:
                ok = "false"
            took = int((time.monotonic() - start) * 1000)
            if i != 0:
                elapsed += took
            out("%-32s  %-4s  %-20s    %s\n" % (queue.broker_name, queue.queue_id, ok, took))
    rt = elapsed / (amount - 1) if amount > 1 else float("nan")
    out("Avg RT: %s\n" % _java_2f(rt))


def _java_2f(value: float) -> str:
    return "NaN" if value != value else f"{value:.2f}"


def _china_time() -> str:
    """Java prints clusterRT's tlog time in GMT+8 whatever the local zone."""
    now = datetime.now(timezone(timedelta(hours=8)))
    return now.strftime("%Y-%m-%d %H:%M:%S")


async def cluster_rt(args: Args, admin: AdminClient) -> None:
    amount, size = args.int("a", 100), args.int("s", 128)
    interval = args.int("i", 10)
    tlog = (args.get("p") or "false").strip().lower() == "true"
    room = (args.get("m") or "noname").strip()
    info = await admin.cluster_info()
    if args.has("c"):
        clusters = [args.need("c").strip()]
    else:
        names = list(info.clusters)
        clusters = java_hashmap_order(names, [java_hash(n) for n in names])
    if not tlog:
        out("%-24s  %-24s  %-4s  %-8s  %-8s\n" % ("#Cluster Name", "#Broker Name", "#RT",
                                                  "#successCount", "#failCount"))  # fmt: skip
    body = b"a" * size
    async with _producer(admin, str(int(time.time() * 1000))) as producer:
        while True:
            for cluster in clusters:
                brokers = info.clusters.get(cluster)
                if brokers is None:
                    out(f"cluster [{cluster}] not exist")
                    break
                for broker in java_hashmap_order(list(brokers), [java_hash(b) for b in brokers]):
                    ok = failed = elapsed = 0
                    for i in range(amount):
                        start = time.monotonic()
                        try:
                            await producer.send(Message(broker, body))
                            ok += 1
                        except SEND_ERRORS:
                            failed += 1
                        if i != 0:
                            elapsed += int((time.monotonic() - start) * 1000)
                    rt = elapsed / (amount - 1) if amount > 1 else float("nan")
                    if tlog:
                        shown = Decimal(rt).quantize(Decimal(1), ROUND_HALF_UP) if rt == rt else rt
                        out(f"{_china_time()}|{room}|{cluster}|{broker}|{shown}\n")
                    else:
                        out("%-24s  %-24s  %-8s  %-16s  %-16s\n" % (cluster, broker, _java_2f(rt),
                                                                    ok, failed))  # fmt: skip
            await asyncio.sleep(interval)


COMMANDS = {
    "sendMsgStatus": Command(
        "sendMsgStatus", "send msg to broker.",
        (Opt("b", "brokerName", True, "Broker Name", required=True),
         Opt("s", "messageSize", True, "Message Size, Default: 128"),
         Opt("c", "count", True, "send message count, Default: 50")),
        send_msg_status,
    ),
    "checkMsgSendRT": Command(
        "checkMsgSendRT", "check message send response time",
        (Opt("t", "topic", True, "topic name", required=True),
         Opt("a", "amount", True, "message amount | default 100"),
         Opt("s", "size", True, "message size | default 128 Byte")),
        check_msg_send_rt,
    ),
    "clusterRT": Command(
        "clusterRT", "List All clusters Message Send RT",
        (Opt("a", "amount", True, "message amount | default 100"),
         Opt("s", "size", True, "message size | default 128 Byte"),
         Opt("c", "cluster", True, "cluster name | default display all cluster"),
         Opt("p", "print log", True, "print as tlog | default false"),
         Opt("m", "machine room", True, "machine room name | default noname"),
         Opt("i", "interval", True, "print interval | default 10 seconds")),
        cluster_rt,
    ),
}  # fmt: skip
