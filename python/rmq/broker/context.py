"""What every request processor of one broker shares: settings, store and tables."""

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rmq.broker.clients import ClientRegistry
from rmq.broker.groups import GroupTable
from rmq.broker.long_polling import PullHolds
from rmq.broker.offsets import OffsetTable
from rmq.broker.stats import BrokerStats
from rmq.broker.topics import TopicTable
from rmq.config.broker import BrokerConfig
from rmq.config.network import NettyServerConfig
from rmq.config.store import BrokerRole, MessageStoreConfig
from rmq.store.store import MessageStore

if TYPE_CHECKING:
    from rmq.broker.dledger.member import DLedgerMember
    from rmq.broker.ha.master import HAMaster
    from rmq.broker.ha.slave import HASlave
    from rmq.broker.schedule import ScheduleService


@dataclass(slots=True)
class BrokerContext:
    broker: BrokerConfig
    server: NettyServerConfig
    store_config: MessageStoreConfig
    store: MessageStore
    topics: TopicTable
    groups: GroupTable
    offsets: OffsetTable
    clients: ClientRegistry
    holds: PullHolds
    stats: BrokerStats = field(default_factory=BrokerStats)
    rng: random.Random = field(default_factory=random.Random)
    #: ``brokerIP1:port`` and its record form, set once the listener is bound.
    addr: str = ""
    store_host: bytes = bytes(8)
    schedule: "ScheduleService | None" = None
    #: Replication: the HA server on a master, the HA client on a slave.
    ha_master: "HAMaster | None" = None
    ha_slave: "HASlave | None" = None
    #: DLedger mode: this broker's member of its Raft group.
    dledger: "DLedgerMember | None" = None
    #: Registers with the NameServers now and returns once they answered (or timed out):
    #: what an admin's topic change waits for, as Java's registerIncrementBrokerData.
    register_now: "Callable[[], Awaitable[None]] | None" = None

    @property
    def is_slave(self) -> bool:
        return self.store_config.broker_role is BrokerRole.SLAVE
