"""Turning a DLedger member's leadership into the broker's role (Java:
``DLedgerRoleChangeHandler``, ``BrokerController.changeToMaster/changeToSlave``).

The leader is the master: brokerId 0, role SYNC_MASTER (a put is answered once the group
committed it), delayed-message and transaction-check services running. Every other member
is a slave with brokerId = its number + 1 (``n0`` -> 1), refuses writes with
SERVICE_NOT_AVAILABLE and copies topics, groups and offsets from the master as a Java
slave does. Each change re-registers with every NameServer at once."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from rmq.broker.context import BrokerContext
from rmq.broker.dledger.member import DLedgerMember, raft_id
from rmq.broker.ha.config_sync import ConfigSync
from rmq.broker.registration import Registration
from rmq.broker.schedule import ScheduleService
from rmq.broker.transactions import TransactionService
from rmq.common.route import MASTER_ID
from rmq.config.store import BrokerRole

log = logging.getLogger(__name__)


class RoleSwitch:
    def __init__(
        self,
        ctx: BrokerContext,
        member: DLedgerMember,
        registration: Registration,
        sync: ConfigSync,
        schedule: ScheduleService,
        transactions: TransactionService,
    ) -> None:
        self._ctx = ctx
        self._member = member
        self._registration = registration
        self._sync = sync
        self._schedule = schedule
        self._transactions = transactions
        self._lock = asyncio.Lock()
        self._master = False
        self._tasks: set[asyncio.Task[None]] = set()
        member.on_leadership = self.changed

    def become_slave_now(self) -> None:
        """The role every member starts in, before any election (no services to stop)."""
        ctx = self._ctx
        ctx.broker.broker_id = raft_id(self._member.settings.self_id)
        ctx.store_config.broker_role = BrokerRole.SLAVE

    def changed(self, leader: bool) -> None:
        self._spawn(self._to_master if leader else self._to_slave)

    def _spawn(self, change: Callable[[], Awaitable[None]]) -> None:
        task = asyncio.create_task(self._serialised(change), name="dledger-role")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serialised(self, change: Callable[[], Awaitable[None]]) -> None:
        async with self._lock:
            try:
                await change()
            except Exception:
                log.exception("dledger: role change failed")

    async def _to_master(self) -> None:
        if self._master or not self._member.writable:
            return
        ctx = self._ctx
        self._sync.master_addr = None
        ctx.broker.broker_id = MASTER_ID
        ctx.store_config.broker_role = BrokerRole.SYNC_MASTER
        self._master = True
        self._schedule.start()
        self._transactions.start()
        log.info("dledger: broker %s is now the master (brokerId 0)", ctx.broker.broker_name)
        await self._registration.registered()

    async def _to_slave(self) -> None:
        if not self._master:
            return
        ctx = self._ctx
        self.become_slave_now()
        self._master = False
        await self._schedule.stop()
        await self._transactions.stop()
        log.info("dledger: broker %s is now a slave (brokerId %d)", ctx.broker.broker_name,
                 ctx.broker.broker_id)  # fmt: skip
        await self._registration.registered()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._master:
            await self._schedule.stop()
            await self._transactions.stop()
