"""Orderly consumers of one group rebalancing while messages flow (rmq.client on real rmq
processes): members join and leave mid-stream, and still no queue is ever processed by
two members at once, no key's messages are consumed out of order (a handover may replay
what was not committed, never skip ahead), and nothing is lost."""

import asyncio
import itertools
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from rmq.client import (
    CONSUME_FROM_FIRST_OFFSET,
    ConsumeOrderlyContext,
    ConsumeOrderlyStatus,
    Message,
    MessageExt,
    Producer,
    PushConsumer,
)
from tests.harness.processes import running_broker, running_namesrv
from tests.harness.py_client import fast_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KEYS = 8


@dataclass(frozen=True)
class Delivery:
    member: str
    queue_id: int
    key: int
    step: int
    began: float
    ended: float


class Recorder:
    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []

    def listener(self, member: str):  # type: ignore[no-untyped-def]
        async def orderly(msgs: list[MessageExt], ctx: ConsumeOrderlyContext
                          ) -> ConsumeOrderlyStatus:  # fmt: skip
            began = time.monotonic()
            await asyncio.sleep(0.003)
            ended = time.monotonic()
            for m in msgs:
                key, step = (int(x) for x in m.body.decode().split(":"))
                self.deliveries.append(Delivery(member, m.queue_id, key, step, began, ended))
            return ConsumeOrderlyStatus.SUCCESS

        return orderly


async def test_orderly_members_join_and_leave_without_overlap_or_reordering(
    tmp_path: Path,
) -> None:
    topic, group, steps = "SdkOrderlyRebalance", "sdk-orderly-rb", 40
    recorder = Recorder()
    with running_namesrv(tmp_path / "ns") as ns, running_broker(tmp_path / "b", ns.addr):

        def member(name: str) -> PushConsumer:
            consumer = PushConsumer(group, config=fast_config(ns.addr),
                                    consume_from_where=CONSUME_FROM_FIRST_OFFSET)  # fmt: skip
            consumer.subscribe(topic, "*")
            consumer.register_message_listener_orderly(recorder.listener(name))
            return consumer

        async with Producer("sdk-orderly-rb-p", config=fast_config(ns.addr)) as producer:

            async def send(step: int) -> None:
                for key in range(KEYS):
                    msg = Message(topic, f"{key}:{step}".encode())
                    await producer.send(msg, selector=lambda qs, m, k: qs[k % len(qs)], arg=key)

            await send(0)
            a, b, c = member("a"), member("b"), member("c")
            await a.start()
            await b.start()
            try:
                for step in range(1, steps):
                    await send(step)
                    if step == 10:
                        await c.start()  # joins mid-stream
                    if step == 25:
                        await a.shutdown()  # leaves mid-stream
                    await asyncio.sleep(0.02)
                want = {(k, s) for k in range(KEYS) for s in range(steps)}
                for _ in range(600):
                    if want <= {(d.key, d.step) for d in recorder.deliveries}:
                        break
                    await asyncio.sleep(0.05)
            finally:
                for consumer in (a, b, c):
                    await consumer.shutdown()
    got = recorder.deliveries
    assert want <= {(d.key, d.step) for d in got}
    assert {d.member for d in got} == {"a", "b", "c"}
    # No queue was in two members' listeners at the same time.
    by_queue: dict[int, list[Delivery]] = {}
    for d in got:
        by_queue.setdefault(d.queue_id, []).append(d)
    for queue_id, ds in by_queue.items():
        ds.sort(key=lambda d: d.began)
        for before, after in itertools.pairwise(ds):
            if before.member != after.member:
                assert after.began >= before.ended, f"queue {queue_id} consumed concurrently"
    # Per key, in time order: a step is never consumed before every earlier one was.
    for key in range(KEYS):
        seen = -1
        for d in sorted((d for d in got if d.key == key), key=lambda d: d.began):
            assert d.step <= seen + 1, f"key {key} skipped ahead to {d.step} after {seen}"
            seen = max(seen, d.step)
