"""rmq.client when things break: a broker restarted while a producer sends and a consumer
reads (nothing acknowledged is lost), a consumer process killed mid-stream (another
member of the group takes over from the committed offsets, duplicates only of what was
not committed), and a consumer restarted cleanly (it resumes where it stopped)."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rmq.client import ClientError, Message, Producer, PushConsumer, SendStatus
from tests.harness.processes import (
    running_broker,
    running_namesrv,
    start_broker,
)
from tests.harness.py_client import Inbox, fast_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]

CRASHING_CONSUMER = """
import asyncio, sys
from rmq.client import ConsumeConcurrentlyStatus, PushConsumer, CONSUME_FROM_FIRST_OFFSET
from tests.harness.py_client import fast_config

async def main():
    consumer = PushConsumer(sys.argv[2], config=fast_config(sys.argv[1]),
                            consume_from_where=CONSUME_FROM_FIRST_OFFSET)
    consumer.subscribe(sys.argv[3], "*")
    async def listener(msgs, ctx):
        for m in msgs:
            sys.stdout.write(m.body.decode() + "\\n")
        sys.stdout.flush()
        await asyncio.sleep(0.01)
        return ConsumeConcurrentlyStatus.CONSUME_SUCCESS
    consumer.register_message_listener(listener)
    await consumer.start()
    await asyncio.sleep(120)

asyncio.run(main())
"""


async def send_until_acknowledged(producer: Producer, msg: Message, seconds: float = 40) -> int:
    """Send, retrying while the broker is away; how many attempts failed."""
    failures = 0
    deadline = time.monotonic() + seconds
    while True:
        try:
            result = await producer.send(msg)
            if result.send_status is SendStatus.SEND_OK:
                return failures
        except ClientError:
            if time.monotonic() > deadline:
                raise
        failures += 1
        await asyncio.sleep(0.1)


async def test_broker_restart_during_sending_and_consuming_loses_nothing(tmp_path: Path) -> None:
    topic = "SdkRestart"
    with running_namesrv(tmp_path / "ns") as ns:
        broker = start_broker(tmp_path / "b", ns.addr)
        try:
            inbox = Inbox()
            consumer = PushConsumer("sdk-restart-c", config=fast_config(ns.addr),
                                    consume_from_where="CONSUME_FROM_FIRST_OFFSET")  # fmt: skip
            consumer.subscribe(topic, "*")
            consumer.register_message_listener(inbox)
            async with Producer("sdk-restart-p", config=fast_config(ns.addr)) as producer:
                await producer.send(Message(topic, b"m0"))
                async with consumer:

                    async def restart() -> None:
                        nonlocal broker
                        await asyncio.to_thread(broker.stop)
                        await asyncio.sleep(1.0)
                        broker = await asyncio.to_thread(
                            start_broker, tmp_path / "b", ns.addr, None, broker.port,
                            reuse_config=True,
                        )  # fmt: skip

                    failures = 0
                    restarting = None
                    for i in range(1, 300):
                        if i == 100:
                            restarting = asyncio.create_task(restart())
                        msg = Message(topic, f"m{i}".encode())
                        failures += await send_until_acknowledged(producer, msg)
                    assert restarting is not None
                    await restarting
                    want = {f"m{i}".encode() for i in range(300)}
                    assert await inbox.wait_for(lambda _: want <= set(inbox.bodies()), 60)
            # The broker really was away for some sends, and every acknowledged message came.
            assert failures > 0
            assert set(inbox.bodies()) == want
        finally:
            broker.stop()


async def test_killed_consumer_is_replaced_from_committed_offsets(tmp_path: Path) -> None:
    topic, group = "SdkCrash", "sdk-crash-c"
    with running_namesrv(tmp_path / "ns") as ns, running_broker(tmp_path / "b", ns.addr):
        async with Producer("sdk-crash-p", config=fast_config(ns.addr)) as producer:
            for i in range(300):
                await producer.send(Message(topic, f"c{i}".encode()))
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        crashing = subprocess.Popen(  # noqa: ASYNC220 - must be killable at an exact point
            [sys.executable, "-c", CRASHING_CONSUMER, ns.addr, group, topic],
            stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        assert crashing.stdout is not None
        first: list[str] = []
        try:
            deadline = time.monotonic() + 60
            while len(first) < 120 and time.monotonic() < deadline:
                line = await asyncio.to_thread(crashing.stdout.readline)
                if not line:
                    break
                first.append(line.strip())
            await asyncio.sleep(1.5)  # at least one offset commit happened
        finally:
            crashing.send_signal(signal.SIGKILL)
            crashing.wait(10)
            first.extend(line.strip() for line in crashing.stdout.read().splitlines())
            crashing.stdout.close()
        assert len(first) >= 120
        inbox = Inbox()
        consumer = PushConsumer(group, config=fast_config(ns.addr))
        consumer.subscribe(topic, "*")
        consumer.register_message_listener(inbox)
        want = {f"c{i}" for i in range(300)}
        async with consumer:
            assert await inbox.wait_for(
                lambda _: want <= set(first) | {b.decode() for b in inbox.bodies()}, 60
            )
        second = [b.decode() for b in inbox.bodies()]
        # The replacement starts at the committed offsets: it replays at most what the
        # killed one had not committed, never the whole topic.
        assert len(second) < 300
        assert set(first) | set(second) == want


async def test_restarted_consumer_resumes_where_it_stopped(tmp_path: Path) -> None:
    topic, group = "SdkResume", "sdk-resume-c"
    with running_namesrv(tmp_path / "ns") as ns, running_broker(tmp_path / "b", ns.addr):
        async with Producer("sdk-resume-p", config=fast_config(ns.addr)) as producer:
            for i in range(50):
                await producer.send(Message(topic, f"r{i}".encode()))
            first = Inbox()
            consumer = PushConsumer(group, config=fast_config(ns.addr),
                                    consume_from_where="CONSUME_FROM_FIRST_OFFSET")  # fmt: skip
            consumer.subscribe(topic, "*")
            consumer.register_message_listener(first)
            async with consumer:
                assert await first.wait_count(50)
            for i in range(50, 80):
                await producer.send(Message(topic, f"r{i}".encode()))
        second = Inbox()
        again = PushConsumer(group, config=fast_config(ns.addr),
                             consume_from_where="CONSUME_FROM_FIRST_OFFSET")  # fmt: skip
        again.subscribe(topic, "*")
        again.register_message_listener(second)
        async with again:
            assert await second.wait_count(30)
            await asyncio.sleep(1.0)
    assert sorted(second.bodies()) == sorted(f"r{i}".encode() for i in range(50, 80))
