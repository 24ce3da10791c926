"""Helpers for tests of rmq.client: fast client settings and a listener that records what
it receives and lets a test wait for it."""

import asyncio
import time
from collections.abc import Callable

from rmq.client import (
    ClientConfig,
    ConsumeConcurrentlyContext,
    ConsumeConcurrentlyStatus,
    ConsumeOrderlyContext,
    ConsumeOrderlyStatus,
    MessageExt,
)


def fast_config(namesrv: str) -> ClientConfig:
    """Route polls, heartbeats and offset commits every second instead of every 30/5 s,
    so tests see joins, leaves and commits quickly; the behaviour is the same."""
    return ClientConfig(
        namesrv_addr=namesrv,
        client_ip="127.0.0.1",
        poll_name_server_interval=1000,
        heartbeat_broker_interval=1000,
        persist_consumer_offset_interval=500,
    )


class Inbox:
    """A concurrently listener that records messages (and may fail some on purpose)."""

    def __init__(self, fail: Callable[[MessageExt], bool] | None = None,
                 delay: float = 0.0) -> None:  # fmt: skip
        self.msgs: list[MessageExt] = []
        self.fail = fail
        self.delay = delay
        self.batches: list[int] = []
        #: (body, reconsume times) as each delivery saw them: the client updates the
        #: count on the same message object when it suspends or retries it in place
        self.deliveries: list[tuple[bytes, int]] = []

    async def __call__(self, msgs: list[MessageExt], ctx: ConsumeConcurrentlyContext
                       ) -> ConsumeConcurrentlyStatus:  # fmt: skip
        if self.delay:
            await asyncio.sleep(self.delay)
        self.batches.append(len(msgs))
        self.deliveries.extend((m.body, m.reconsume_times) for m in msgs)
        if self.fail is not None and any(self.fail(m) for m in msgs):
            self.msgs.extend(msgs)
            return ConsumeConcurrentlyStatus.RECONSUME_LATER
        self.msgs.extend(msgs)
        return ConsumeConcurrentlyStatus.CONSUME_SUCCESS

    def bodies(self) -> list[bytes]:
        return [m.body for m in self.msgs]

    async def wait_for(self, predicate: Callable[[list[MessageExt]], bool],
                       timeout: float = 30.0) -> bool:  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.msgs):
                return True
            await asyncio.sleep(0.05)
        return predicate(self.msgs)

    async def wait_count(self, n: int, timeout: float = 30.0) -> bool:
        return await self.wait_for(lambda msgs: len(msgs) >= n, timeout)


class OrderlyInbox(Inbox):
    """An orderly listener; ``suspend`` makes it ask for a pause on chosen messages."""

    def __init__(self, suspend: Callable[[MessageExt], bool] | None = None,
                 delay: float = 0.0) -> None:  # fmt: skip
        super().__init__(None, delay)
        self.suspend = suspend

    async def orderly(self, msgs: list[MessageExt], ctx: ConsumeOrderlyContext
                      ) -> ConsumeOrderlyStatus:  # fmt: skip
        if self.delay:
            await asyncio.sleep(self.delay)
        self.deliveries.extend((m.body, m.reconsume_times) for m in msgs)
        self.msgs.extend(msgs)
        if self.suspend is not None and any(self.suspend(m) for m in msgs):
            return ConsumeOrderlyStatus.SUSPEND_CURRENT_QUEUE_A_MOMENT
        return ConsumeOrderlyStatus.SUCCESS
