"""The broker process: store, tables, request processors, registration and housekeeping."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final, TypeVar

from rmq.broker.clients import ClientRegistry
from rmq.broker.context import BrokerContext
from rmq.broker.dledger.member import DLedgerMember
from rmq.broker.dledger.roles import RoleSwitch
from rmq.broker.groups import GroupTable
from rmq.broker.ha.config_sync import FIRST_SYNC_SECONDS, SYNC_PERIOD_SECONDS, ConfigSync
from rmq.broker.ha.master import HAMaster
from rmq.broker.ha.slave import HASlave
from rmq.broker.long_polling import PullHolds
from rmq.broker.offsets import OffsetTable
from rmq.broker.processors.admin import AdminProcessor, BrokerConfigView
from rmq.broker.processors.client_manage import ClientManageProcessor
from rmq.broker.processors.consumer_control import ConsumerControlProcessor
from rmq.broker.processors.consumer_offsets import ConsumerOffsetProcessor
from rmq.broker.processors.end_transaction import EndTransactionProcessor
from rmq.broker.processors.inspection import InspectionProcessor
from rmq.broker.processors.pull import PullProcessor
from rmq.broker.processors.query import QueryProcessor
from rmq.broker.processors.send import SendProcessor
from rmq.broker.processors.send_back import SendBackProcessor
from rmq.broker.registration import Registration
from rmq.broker.schedule import ScheduleService, parse_delay_levels
from rmq.broker.topics import TopicTable
from rmq.broker.transactions import TransactionService
from rmq.common.atomic_file import write_atomically
from rmq.common.message_id import host_bytes
from rmq.config.broker import BrokerConfig
from rmq.config.dledger import dledger_settings
from rmq.config.loader import ConfigError, ConfigInput
from rmq.config.network import NettyClientConfig, NettyServerConfig
from rmq.config.properties import format_properties
from rmq.config.settings import JavaSettings
from rmq.config.store import BrokerRole, FlushDiskType, MessageStoreConfig
from rmq.remoting.client import RemotingClient
from rmq.remoting.dispatch import Dispatcher
from rmq.remoting.server import RemotingServer
from rmq.store.retention import RetentionPolicy
from rmq.store.store import MessageStore

log = logging.getLogger(__name__)

CLIENT_SCAN_SECONDS: Final = 10.0


def boot_line(name: str, addr: str, namesrv: str | None) -> str:
    return f"The broker[{name}, {addr}] boot success. serializeType=JSON" + (
        f" and name server is {namesrv}" if namesrv else ""
    )


class BrokerApp:
    def __init__(self, config: ConfigInput, models: list[JavaSettings]) -> None:
        self.input = config
        self.models = models
        self.broker = _pick(models, BrokerConfig)
        self.server_config = _pick(models, NettyServerConfig)
        self.client_config = _pick(models, NettyClientConfig)
        self.store_config = _pick(models, MessageStoreConfig)
        self.ctx: BrokerContext | None = None
        self.server: RemotingServer | None = None
        self.registration: Registration | None = None
        self._client: RemotingClient | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.schedule: ScheduleService | None = None
        self.transactions: TransactionService | None = None
        self.config_sync: ConfigSync | None = None
        self.fast_server: RemotingServer | None = None
        self.dledger: DLedgerMember | None = None
        self.roles: RoleSwitch | None = None

    @property
    def config_dir(self) -> Path:
        return Path(self.store_config.store_path_root_dir).expanduser() / "config"

    async def start(self) -> None:
        store = await MessageStore.open(self.store_config)
        config_dir = self.config_dir
        topics = TopicTable(self.broker, config_dir / "topics.json")
        groups = GroupTable(
            config_dir / "subscriptionGroup.json",
            auto_create=self.broker.auto_create_subscription_group,
        )
        offsets = OffsetTable(config_dir / "consumerOffset.json")
        try:
            topics.load()
            groups.load()
            offsets.load()
        except Exception:
            await store.close()
            raise

        def queue_max(topic: str, queue_id: int) -> int:
            bounds = store.queue_offsets(topic, queue_id)
            return 0 if bounds is None else bounds[1]

        clients = ClientRegistry(notify_enabled=self._notify_enabled)
        holds = PullHolds(queue_max, store.take_moved_queues)
        ctx = self.ctx = BrokerContext(
            self.broker, self.server_config, self.store_config, store, topics, groups, offsets,
            clients, holds,
        )  # fmt: skip
        store.progress.on_dispatched(holds.check_moved)
        self.schedule = ScheduleService(
            ctx,
            config_dir / "delayOffset.json",
            parse_delay_levels(self.store_config.message_delay_level),
        )
        self.schedule.load()
        ctx.schedule = self.schedule

        dispatcher = Dispatcher()
        SendProcessor(ctx).register(dispatcher)
        SendBackProcessor(ctx).register(dispatcher)
        self.transactions = TransactionService(ctx)
        EndTransactionProcessor(ctx, self.transactions).register(dispatcher)
        PullProcessor(ctx).register(dispatcher)
        ClientManageProcessor(ctx).register(dispatcher)
        ConsumerOffsetProcessor(ctx).register(dispatcher)
        QueryProcessor(ctx).register(dispatcher)
        AdminProcessor(ctx, BrokerConfigView(self)).register(dispatcher)
        ConsumerControlProcessor(ctx).register(dispatcher)
        InspectionProcessor(ctx).register(dispatcher)

        self.server = RemotingServer(
            dispatcher,
            self.server_config.bind_address,
            self.server_config.listen_port,
            max_frame_length=self.server_config.frame_max_length,
            idle_seconds=self.server_config.server_channel_max_idle_time_seconds,
        )
        self.server.close_listeners.append(clients.channel_closed)
        await self.server.start()
        await self._start_fast_server(dispatcher, clients)
        ctx.addr = f"{self.broker.broker_ip1}:{self.server.port}"
        ctx.store_host = host_bytes(ctx.addr)

        self._client = RemotingClient(timeout=self.broker.register_broker_timeout_mills / 1000)
        self.registration = Registration(ctx, self._client)
        topics.on_change = self.registration.request_now
        ctx.register_now = self.registration.registered
        await self._start_replication(ctx, self._client, self.registration)
        await self.registration.start()

        if not ctx.is_slave and self.dledger is None:
            self.schedule.start()
            self.transactions.start()
        self._every(self.broker.flush_consumer_offset_interval / 1000, self._persist_offsets)
        self._every(self.store_config.flush_delay_offset_interval / 1000, self._persist_delay)
        self._every(10.0, self._sample_stats)
        self._every(CLIENT_SCAN_SECONDS, self._scan_clients)
        self._every(self.store_config.clean_resource_interval / 1000, self._clean)
        log.info("broker started addr=%s", ctx.addr)

    async def _start_fast_server(self, dispatcher: Dispatcher, clients: ClientRegistry) -> None:
        """Java's "VIP channel": the same requests on listenPort - 2, which Java clients with
        vipChannelEnabled and Java slaves syncing metadata from their master dial."""
        port = self.server.port - 2 if self.server is not None else 0
        if port <= 0:
            return
        fast = RemotingServer(
            dispatcher,
            self.server_config.bind_address,
            port,
            max_frame_length=self.server_config.frame_max_length,
            idle_seconds=self.server_config.server_channel_max_idle_time_seconds,
        )
        fast.close_listeners.append(clients.channel_closed)
        try:
            await fast.start()
        except OSError as exc:
            log.warning("fast (VIP) port %d unavailable: %s; Java clients and slaves that use "
                        "the VIP channel cannot reach this broker", port, exc)  # fmt: skip
            return
        self.fast_server = fast

    async def _start_replication(
        self, ctx: BrokerContext, client: RemotingClient, registration: Registration
    ) -> None:
        if self.store_config.enable_dleger_commit_log:
            await self._start_dledger(ctx, client, registration)
            return
        role = self.store_config.broker_role
        if role is BrokerRole.SLAVE:
            ctx.store.read_only = True
            slave = ctx.ha_slave = HASlave(ctx.store, self.store_config)
            sync = self.config_sync = ConfigSync(ctx, client)

            def on_master(ha_addr: str | None, master_addr: str | None) -> None:
                if ha_addr and slave.follows_namesrv:
                    slave.update_master(ha_addr)
                sync.master_addr = master_addr

            registration.on_master = on_master
            await slave.start()
            self._every(SYNC_PERIOD_SECONDS, sync.sync_all, first=FIRST_SYNC_SECONDS)
            return
        master = ctx.ha_master = HAMaster(ctx.store, self.store_config,
                                          self.config_dir / "haDivergedSlaves.json")  # fmt: skip
        await master.start(self.server_config.bind_address, self.store_config.ha_listen_port)
        if role is BrokerRole.SYNC_MASTER:
            ctx.store.replica = master

    async def _start_dledger(
        self, ctx: BrokerContext, client: RemotingClient, registration: Registration
    ) -> None:
        config = self.store_config
        assert self.schedule is not None
        assert self.transactions is not None
        member = self.dledger = DLedgerMember(
            dledger_settings(self.input, config),
            ctx.store,
            self.config_dir.parent,
            sync=config.flush_disk_type is FlushDiskType.SYNC_FLUSH,
            preferred=config.preferred_leader_id,
        )
        sync = self.config_sync = ConfigSync(ctx, client)
        roles = self.roles = RoleSwitch(
            ctx, member, registration, sync, self.schedule, self.transactions
        )
        roles.become_slave_now()

        def on_master(ha_addr: str | None, master_addr: str | None) -> None:
            if not member.writable:
                sync.master_addr = master_addr

        registration.on_master = on_master
        ctx.store.replicator = member
        ctx.store.replica = member
        ctx.dledger = member
        await member.start()
        self._every(SYNC_PERIOD_SECONDS, sync.sync_all, first=FIRST_SYNC_SECONDS)

    def apply_config_update(self, values: dict[str, str]) -> None:
        """Apply allow-listed keys to the running models and persist them (Java writes them
        back into the file the broker started from)."""
        merged = ConfigInput(
            self.input.path,
            self.input.entries,
            {**self.input.flags, **values},
            self.input.process_defaults,
        )
        for model in self.models:
            keys = [k for k in values if k in type(model).known_keys()]
            if not keys:
                continue
            try:
                updated = merged.build(type(model))
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
            for key in keys:
                name = next(n for n, f in type(model).model_fields.items() if f.alias == key)
                setattr(model, name, getattr(updated, name))
        self.input = merged
        if self.ctx is not None:
            self.ctx.store.retention = RetentionPolicy.from_config(self.store_config)
        path = Path(self.input.path) if self.input.path else self.config_dir / "broker.properties"
        snapshot: dict[str, str] = {}
        for model in self.models:
            snapshot.update(model.to_java_properties(skip_unset=True))
        write_atomically(path, format_properties(snapshot).encode())

    def _notify_enabled(self, group: str) -> bool:
        ctx = self.ctx
        config = ctx.groups.groups.get(group) if ctx is not None else None
        return self.broker.notify_consumer_ids_changed_enable and (
            config is None or config.notify_consumer_ids_changed_enable
        )

    def _every(
        self, seconds: float, job: Callable[[], Awaitable[None]], first: float | None = None
    ) -> None:
        async def loop() -> None:
            delay = seconds if first is None else first
            while True:
                await asyncio.sleep(max(delay, 0.05))
                delay = seconds
                try:
                    await job()
                except Exception:
                    log.exception("scheduled job %s failed", job.__name__)

        self._tasks.append(asyncio.create_task(loop(), name=job.__name__))

    async def _persist_offsets(self) -> None:
        assert self.ctx is not None
        await self.ctx.offsets.persist_off_loop()

    async def _persist_delay(self) -> None:
        if self.schedule is not None:
            self.schedule.persist()

    async def _sample_stats(self) -> None:
        assert self.ctx is not None
        self.ctx.stats.sample()

    async def _scan_clients(self) -> None:
        assert self.ctx is not None
        for conn in self.ctx.clients.scan_expired():
            conn.close()

    async def _clean(self) -> None:
        assert self.ctx is not None
        report = await self.ctx.store.clean()
        if report.deleted_commitlog or report.deleted_consume_queue:
            log.info("retention: %s", report)
        if self.dledger is not None:
            self.dledger.compact()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.roles is not None:
            await self.roles.stop()
        if self.dledger is not None:
            await self.dledger.stop()
        if self.registration is not None:
            await self.registration.stop()
        ctx = self.ctx
        if ctx is not None and ctx.ha_slave is not None:
            await ctx.ha_slave.stop()
        if ctx is not None and ctx.ha_master is not None:
            await ctx.ha_master.stop()
        if self.transactions is not None:
            await self.transactions.stop()
        if self.schedule is not None:
            await self.schedule.stop()
        if ctx is not None:
            ctx.holds.release_all()
        if self.server is not None:
            await self.server.stop()
        if self.fast_server is not None:
            await self.fast_server.stop()
        if self._client is not None:
            await self._client.close()
        if ctx is not None:
            await ctx.offsets.settle()
            ctx.offsets.persist(force=True)
            ctx.topics.persist()
            ctx.groups.persist()
            await ctx.store.close()
        log.info("broker stopped")


T = TypeVar("T", bound=JavaSettings)


def _pick(models: list[JavaSettings], kind: type[T]) -> T:
    for model in models:
        if isinstance(model, kind):
            return model
    raise LookupError(kind.__name__)
