"""The NameServer process: settings, route table, KV store, server and liveness scan."""

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Final

from rmq.common.atomic_file import write_atomically
from rmq.config.loader import ConfigError, ConfigInput
from rmq.config.namesrv import NamesrvConfig
from rmq.config.network import NettyServerConfig
from rmq.config.properties import format_properties
from rmq.namesrv.kv_config import KVConfig
from rmq.namesrv.processor import NamesrvConfigView, NamesrvProcessor
from rmq.namesrv.route_table import RouteTable
from rmq.remoting.connection import Connection
from rmq.remoting.dispatch import Dispatcher
from rmq.remoting.server import RemotingServer

log = logging.getLogger(__name__)

NAMESRV_PORT: Final = 9876

#: Keys UPDATE_NAMESRV_CONFIG may change. Nothing naming a path, a command or a port:
#: CVE-2023-37582 turned a writable kvConfigPath/configStorePath into a file-write primitive.
UPDATABLE_KEYS: Final = frozenset(
    {
        "orderMessageEnable",
        "clusterTest",
        "productEnvName",
        "scanNotActiveBrokerInterval",
        "brokerChannelExpiredTime",
    }
)

BOOT_LINE: Final = "The Name Server boot success. serializeType=JSON"


class NamesrvApp:
    def __init__(self, config: ConfigInput) -> None:
        self._input = config
        self.namesrv = config.build(NamesrvConfig)
        self.server_config = config.build(NettyServerConfig)
        if config.path:
            # Java does the same: updates are persisted into the file the process started from.
            self.namesrv.config_store_path = config.path
        self.routes = RouteTable(time.monotonic)
        self.kv = KVConfig(self.namesrv.kv_config_path)
        dispatcher = Dispatcher()
        NamesrvProcessor(
            self.routes,
            self.kv,
            NamesrvConfigView(self.config_snapshot, self.apply_update, UPDATABLE_KEYS),
            order_message_enable=lambda: self.namesrv.order_message_enable,
        ).register(dispatcher)
        self.server = RemotingServer(
            dispatcher,
            self.server_config.bind_address,
            self.server_config.listen_port,
            max_frame_length=self.server_config.frame_max_length,
            idle_seconds=self.server_config.server_channel_max_idle_time_seconds,
        )
        self.server.close_listeners.append(self._channel_closed)
        self._scan_task: asyncio.Task[None] | None = None

    def config_snapshot(self) -> dict[str, str]:
        return {**self.namesrv.to_java_properties(), **self.server_config.to_java_properties()}

    def apply_update(self, values: dict[str, str]) -> None:
        merged = ConfigInput(
            self._input.path,
            self._input.entries,
            {**self._input.flags, **values},
            self._input.process_defaults,
        )
        try:
            updated = merged.build(NamesrvConfig)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        for key in values:
            name = next(n for n, f in NamesrvConfig.model_fields.items() if f.alias == key)
            setattr(self.namesrv, name, getattr(updated, name))
        self._input = merged
        write_atomically(
            Path(self.namesrv.config_store_path),
            format_properties(
                {
                    **self.namesrv.to_java_properties(skip_unset=True),
                    **self.server_config.to_java_properties(skip_unset=True),
                }
            ).encode(),
        )

    def _channel_closed(self, conn: Connection) -> None:
        self.routes.on_channel_destroy(conn)

    async def _scan_not_active(self) -> None:
        # Java: first scan 5 s after start, then every 10 s.
        await asyncio.sleep(min(5.0, self.namesrv.scan_not_active_broker_interval / 1000))
        while True:
            self.routes.scan_not_active(self.namesrv.broker_channel_expired_time / 1000)
            await asyncio.sleep(self.namesrv.scan_not_active_broker_interval / 1000)

    async def start(self) -> None:
        self.kv.load()
        await self.server.start()
        self._scan_task = asyncio.create_task(self._scan_not_active(), name="namesrv-scan")
        log.info("namesrv started port=%d", self.server.port)

    async def stop(self) -> None:
        if self._scan_task is not None:
            self._scan_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scan_task
        await self.server.stop()
        log.info("namesrv stopped")
