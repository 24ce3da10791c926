"""Which queues this consumer reads (Java: ``RebalanceImpl``). Every member of a group
lists the queues and the members, sorts both and runs the same strategy, so they agree
without talking to each other. Orderly consumers also hold a broker lock on each queue
they read, so two members never consume one queue at the same time during a handover."""

import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Protocol

from rmq.client.allocate import AllocateStrategy
from rmq.client.api import Subscription
from rmq.client.consumer.process_queue import ProcessQueue, now_ms
from rmq.client.errors import ClientError
from rmq.client.instance import ClientInstance
from rmq.client.message import MessageQueue
from rmq.remoting.errors import RemotingError

log = logging.getLogger(__name__)

CLUSTERING = "CLUSTERING"
BROADCASTING = "BROADCASTING"


class RebalanceHooks(Protocol):
    """What differs between push and lite-pull consumers."""

    async def remove_unnecessary(self, mq: MessageQueue, pq: ProcessQueue) -> bool: ...

    async def compute_pull_from_where(self, mq: MessageQueue) -> int: ...

    def dispatch_pull(self, mq: MessageQueue, pq: ProcessQueue, offset: int) -> None: ...

    def queues_changed(self, topic: str, all_queues: list[MessageQueue],
                       mine: list[MessageQueue]) -> None: ...  # fmt: skip


class Rebalance:
    def __init__(self, group: str, message_model: str, strategy: AllocateStrategy,
                 instance: ClientInstance, hooks: RebalanceHooks) -> None:  # fmt: skip
        self.group = group
        self.message_model = message_model
        self.strategy = strategy
        self.instance = instance
        self.hooks = hooks
        self.subscriptions: dict[str, Subscription] = {}
        self.topic_queues: dict[str, list[MessageQueue]] = {}
        self.process_queues: dict[MessageQueue, ProcessQueue] = {}
        #: an orderly queue allocated to us was still locked by its previous owner
        self.lock_failed = False

    async def do_rebalance(self, is_order: bool) -> None:
        self.lock_failed = False
        for topic in list(self.subscriptions):
            try:
                await self._by_topic(topic, is_order)
            except (ClientError, RemotingError) as exc:
                log.info("rebalance of %s/%s skipped: %s", self.group, topic, exc)
        # Queues of topics no longer subscribed go away.
        for mq in [q for q in self.process_queues if q.topic not in self.subscriptions]:
            pq = self.process_queues.pop(mq)
            pq.dropped = True

    async def _by_topic(self, topic: str, is_order: bool) -> None:
        queues = self.topic_queues.get(topic)
        if queues is None:
            if not topic.startswith("%RETRY%"):
                log.info("rebalance of %s: no route for topic %s yet", self.group, topic)
            return
        if self.message_model == BROADCASTING:
            mine = list(queues)
        else:
            addr = self.instance.any_addr(topic)
            clients = await self.instance.api.consumer_ids(addr, self.group) if addr else []
            if not clients:
                log.info("rebalance of %s/%s: no consumer ids yet", self.group, topic)
                return
            mine = self.strategy.allocate(self.group, self.instance.client_id,
                                          sorted(queues), sorted(clients))  # fmt: skip
        if await self._update_table(topic, set(mine), is_order):
            self.hooks.queues_changed(topic, list(queues), mine)

    async def _update_table(self, topic: str, mine: set[MessageQueue], is_order: bool) -> bool:
        changed = False
        for mq, pq in list(self.process_queues.items()):
            if mq.topic != topic:
                continue
            if mq not in mine:
                pq.dropped = True
                if await self.hooks.remove_unnecessary(mq, pq):
                    self.process_queues.pop(mq, None)
                    changed = True
                    log.info("%s: queue %s no longer ours", self.group, mq)
            elif pq.is_pull_expired():
                pq.dropped = True
                if await self.hooks.remove_unnecessary(mq, pq):
                    self.process_queues.pop(mq, None)
                    changed = True
                    log.warning("%s: queue %s not pulled for long, dropped", self.group, mq)
        for mq in sorted(mine):
            if mq in self.process_queues:
                continue
            if is_order and not await self.lock(mq):
                log.info("%s: queue %s not locked yet, trying later", self.group, mq)
                self.lock_failed = True
                continue
            offset = await self.hooks.compute_pull_from_where(mq)
            if offset < 0:
                log.warning("%s: no start offset for %s yet", self.group, mq)
                continue
            pq = ProcessQueue()
            if is_order:
                pq.locked = True
                pq.last_lock_ts = now_ms()
            self.process_queues[mq] = pq
            changed = True
            log.info("%s: reading queue %s from offset %d", self.group, mq, offset)
            self.hooks.dispatch_pull(mq, pq, offset)
        return changed

    # broker locks for orderly consumers

    def _by_broker(self, queues: Iterable[MessageQueue]) -> dict[str, list[MessageQueue]]:
        out: dict[str, list[MessageQueue]] = defaultdict(list)
        for mq in queues:
            out[mq.broker_name].append(mq)
        return out

    async def lock(self, mq: MessageQueue) -> bool:
        addr = self.instance.master_addr(mq.broker_name)
        if addr is None:
            return False
        try:
            locked = await self.instance.api.lock_batch(addr, self.group,
                                                        self.instance.client_id, [mq])  # fmt: skip
        except Exception as exc:
            log.info("lock of %s failed: %s", mq, exc)
            return False
        pq = self.process_queues.get(mq)
        if pq is not None and mq in locked:
            pq.locked = True
            pq.last_lock_ts = now_ms()
        return mq in locked

    async def lock_all(self) -> None:
        """Renew the locks on every queue held (Java does this every 20 s)."""
        for broker, queues in self._by_broker(list(self.process_queues)).items():
            addr = self.instance.master_addr(broker)
            if addr is None:
                continue
            try:
                locked = await self.instance.api.lock_batch(
                    addr, self.group, self.instance.client_id, queues
                )
            except Exception as exc:
                log.info("lock renewal at %s failed: %s", broker, exc)
                continue
            for mq in queues:
                pq = self.process_queues.get(mq)
                if pq is None:
                    continue
                if mq in locked:
                    pq.locked = True
                    pq.last_lock_ts = now_ms()
                else:
                    pq.locked = False

    async def unlock(self, mq: MessageQueue) -> None:
        addr = self.instance.master_addr(mq.broker_name)
        if addr is None:
            return
        try:
            await self.instance.api.unlock_batch(addr, self.group, self.instance.client_id, [mq])
        except Exception as exc:
            log.info("unlock of %s failed: %s", mq, exc)

    async def unlock_all(self) -> None:
        for broker, queues in self._by_broker(list(self.process_queues)).items():
            addr = self.instance.master_addr(broker)
            if addr is None:
                continue
            try:
                await self.instance.api.unlock_batch(addr, self.group, self.instance.client_id,
                                                     queues)  # fmt: skip
            except Exception as exc:
                log.info("unlock at %s failed: %s", broker, exc)
            for mq in queues:
                pq = self.process_queues.get(mq)
                if pq is not None:
                    pq.locked = False
