"""The NameServer's route table (Java: ``RouteInfoManager``).

Everything runs on the event loop thread, so no lock is needed. Encoded route bodies are
cached per topic and dropped on any change, so a lookup is usually one dict hit.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from rmq.common import fastjson
from rmq.common.perm import PERM_READ, PERM_WRITE
from rmq.common.route import MASTER_ID, BrokerData, DataVersion, QueueData, TopicConfig

log = logging.getLogger(__name__)

TOPIC_SYS_FLAG_UNIT: Final = 1
TOPIC_SYS_FLAG_UNIT_SUB: Final = 2


@dataclass(slots=True)
class BrokerLiveInfo:
    last_update: float
    data_version: DataVersion
    channel: object | None
    ha_server_addr: str


@dataclass(frozen=True, slots=True)
class RegisterResult:
    ha_server_addr: str | None = None
    master_addr: str | None = None


class RouteTable:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.topic_queue_table: dict[str, dict[str, QueueData]] = {}
        self.broker_addr_table: dict[str, BrokerData] = {}
        self.cluster_addr_table: dict[str, set[str]] = {}
        self.broker_live_table: dict[str, BrokerLiveInfo] = {}
        self.filter_server_table: dict[str, list[str]] = {}
        self._route_cache: dict[str, bytes] = {}

    def _changed(self) -> None:
        self._route_cache.clear()

    # registration

    def register_broker(
        self,
        cluster: str,
        broker_addr: str,
        broker_name: str,
        broker_id: int,
        ha_server_addr: str,
        data_version: DataVersion,
        topic_configs: dict[str, TopicConfig] | None,
        filter_servers: list[str] | None,
        channel: object | None,
    ) -> RegisterResult:
        self._changed()
        self.cluster_addr_table.setdefault(cluster, set()).add(broker_name)
        broker = self.broker_addr_table.get(broker_name)
        first = broker is None
        if broker is None:
            broker = BrokerData(cluster, broker_name)
            self.broker_addr_table[broker_name] = broker
        # One address has one id: a slave promoted to master first drops its old entry.
        for old_id in [i for i, a in broker.broker_addrs.items() if a == broker_addr]:
            if old_id != broker_id:
                del broker.broker_addrs[old_id]
        old_addr = broker.broker_addrs.get(broker_id)
        broker.broker_addrs[broker_id] = broker_addr
        if broker_id == MASTER_ID and old_addr != broker_addr:
            log.info(
                "master address changed cluster=%s broker=%s old=%s new=%s",
                cluster, broker_name, old_addr, broker_addr,
            )  # fmt: skip
        first = first or old_addr is None
        if (
            topic_configs is not None
            and broker_id == MASTER_ID
            and (first or self.is_topic_config_changed(broker_addr, data_version))
        ):
            for config in topic_configs.values():
                self.topic_queue_table.setdefault(config.topic_name, {})[broker_name] = (
                    QueueData.of(broker_name, config)
                )
        previous = self.broker_live_table.get(broker_addr)
        self.broker_live_table[broker_addr] = BrokerLiveInfo(
            self._clock(), data_version, channel, ha_server_addr
        )
        if previous is None:
            log.info("new broker registered addr=%s ha=%s", broker_addr, ha_server_addr)
        if filter_servers is not None:
            if filter_servers:
                self.filter_server_table[broker_addr] = filter_servers
            else:
                self.filter_server_table.pop(broker_addr, None)
        if broker_id != MASTER_ID:
            master_addr = broker.broker_addrs.get(MASTER_ID)
            if master_addr is not None:
                master = self.broker_live_table.get(master_addr)
                if master is not None:
                    return RegisterResult(master.ha_server_addr, master_addr)
        return RegisterResult()

    def is_topic_config_changed(self, broker_addr: str, version: DataVersion) -> bool:
        live = self.broker_live_table.get(broker_addr)
        return live is None or live.data_version != version

    def data_version_of(self, broker_addr: str) -> DataVersion | None:
        live = self.broker_live_table.get(broker_addr)
        return None if live is None else live.data_version

    def touch(self, broker_addr: str) -> None:
        live = self.broker_live_table.get(broker_addr)
        if live is not None:
            live.last_update = self._clock()

    def unregister_broker(
        self, cluster: str, broker_addr: str, broker_name: str, broker_id: int
    ) -> None:
        self._changed()
        live = self.broker_live_table.pop(broker_addr, None)
        log.info("unregister broker addr=%s found=%s", broker_addr, live is not None)
        self.filter_server_table.pop(broker_addr, None)
        broker = self.broker_addr_table.get(broker_name)
        removed_name = False
        if broker is not None:
            if broker.broker_addrs.get(broker_id) == broker_addr:
                del broker.broker_addrs[broker_id]
            if not broker.broker_addrs:
                del self.broker_addr_table[broker_name]
                removed_name = True
        if removed_name:
            names = self.cluster_addr_table.get(cluster)
            if names is not None:
                names.discard(broker_name)
                if not names:
                    del self.cluster_addr_table[cluster]
            self._remove_queue_data_of(broker_name)

    def _remove_queue_data_of(self, broker_name: str) -> None:
        for topic in list(self.topic_queue_table):
            queues = self.topic_queue_table[topic]
            queues.pop(broker_name, None)
            if not queues:
                del self.topic_queue_table[topic]

    # liveness

    def on_channel_destroy(self, channel: object) -> None:
        """A broker's connection closed: drop whatever was registered over it."""
        found = next(
            (addr for addr, live in self.broker_live_table.items() if live.channel is channel),
            None,
        )
        if found is None:
            return
        self._remove_broker_addr(found, reason="channel closed", close_channel=False)

    def scan_not_active(self, expire_seconds: float) -> list[str]:
        """Drop brokers not heard from for ``expire_seconds``; return their addresses."""
        deadline = self._clock() - expire_seconds
        expired = [a for a, live in self.broker_live_table.items() if live.last_update < deadline]
        for addr in expired:
            # Java closes an expired broker's channel too: a half-dead peer must reconnect.
            self._remove_broker_addr(
                addr, reason=f"not active for {expire_seconds:g}s", close_channel=True
            )
        return expired

    def _remove_broker_addr(self, broker_addr: str, *, reason: str, close_channel: bool) -> None:
        self._changed()
        log.warning("removing broker addr=%s reason=%s", broker_addr, reason)
        live = self.broker_live_table.pop(broker_addr, None)
        self.filter_server_table.pop(broker_addr, None)
        for name, broker in list(self.broker_addr_table.items()):
            ids = [i for i, a in broker.broker_addrs.items() if a == broker_addr]
            if not ids:
                continue
            for i in ids:
                del broker.broker_addrs[i]
            if not broker.broker_addrs:
                del self.broker_addr_table[name]
                for cluster, names in list(self.cluster_addr_table.items()):
                    if name in names:
                        names.discard(name)
                        if not names:
                            del self.cluster_addr_table[cluster]
                        break
                self._remove_queue_data_of(name)
            break
        close = getattr(live.channel if live is not None else None, "close", None)
        if close_channel and callable(close):
            close()

    # lookups

    def route_body(self, topic: str, order_topic_conf: str | None = None) -> bytes | None:
        """TopicRouteData JSON for ``topic``, or None when there is no route."""
        if order_topic_conf is None:
            cached = self._route_cache.get(topic)
            if cached is not None:
                return cached
        queues = self.topic_queue_table.get(topic)
        if not queues:
            return None
        brokers = [
            self.broker_addr_table[name].to_json()
            for name in queues
            if name in self.broker_addr_table
        ]
        if not brokers:
            return None
        filters: dict[str, list[str]] = {}
        if self.filter_server_table:
            for name in queues:
                broker = self.broker_addr_table.get(name)
                for addr in broker.broker_addrs.values() if broker else ():
                    if addr in self.filter_server_table:
                        filters[addr] = self.filter_server_table[addr]
        route: dict[str, Any] = {
            "brokerDatas": brokers,
            "filterServerTable": filters,
            "queueDatas": [q.to_json() for q in queues.values()],
        }
        if order_topic_conf is not None:
            route["orderTopicConf"] = order_topic_conf
            return fastjson.dumps(route)
        body = fastjson.dumps(route)
        self._route_cache[topic] = body
        return body

    def cluster_info(self) -> bytes:
        return fastjson.dumps(
            {
                "brokerAddrTable": {n: b.to_json() for n, b in self.broker_addr_table.items()},
                "clusterAddrTable": {c: sorted(n) for c, n in self.cluster_addr_table.items()},
            }
        )

    def all_topics(self) -> list[str]:
        return list(self.topic_queue_table)

    def topics_by_cluster(self, cluster: str) -> list[str]:
        names = self.cluster_addr_table.get(cluster, set())
        return [t for t, queues in self.topic_queue_table.items() if names & queues.keys()]

    def system_topics(self) -> tuple[list[str], str | None]:
        topics: list[str] = []
        for cluster, names in self.cluster_addr_table.items():
            topics.append(cluster)
            topics.extend(sorted(names))
        broker_addr = None
        for broker in self.broker_addr_table.values():
            if broker.broker_addrs:
                broker_addr = next(iter(broker.broker_addrs.values()))
                break
        return topics, broker_addr

    def topics_by_sys_flag(self, want: Callable[[int], bool]) -> list[str]:
        # Java looks at the first queue data of each topic only.
        return [
            topic
            for topic, queues in self.topic_queue_table.items()
            if queues and want(next(iter(queues.values())).topic_sys_flag)
        ]

    # administration

    def delete_topic(self, topic: str, cluster: str | None = None) -> None:
        self._changed()
        if not cluster:
            self.topic_queue_table.pop(topic, None)
            return
        queues = self.topic_queue_table.get(topic)
        if queues is None:
            return
        for name in self.cluster_addr_table.get(cluster, ()):
            queues.pop(name, None)
        if not queues:
            del self.topic_queue_table[topic]

    def wipe_write_perm(self, broker_name: str) -> int:
        return self._set_perm(broker_name, lambda perm: perm & ~PERM_WRITE)

    def add_write_perm(self, broker_name: str) -> int:
        return self._set_perm(broker_name, lambda _perm: PERM_READ | PERM_WRITE)

    def _set_perm(self, broker_name: str, change: Callable[[int], int]) -> int:
        self._changed()
        count = 0
        for queues in self.topic_queue_table.values():
            queue = queues.get(broker_name)
            if queue is not None:
                queues[broker_name] = QueueData(
                    queue.broker_name,
                    queue.read_queue_nums,
                    queue.write_queue_nums,
                    change(queue.perm),
                    queue.topic_sys_flag,
                )
                count += 1
        return count
