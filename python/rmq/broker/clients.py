"""Connected producers and consumers (Java: ``ProducerManager``, ``ConsumerManager``).

Membership comes from HEART_BEAT; a channel silent for 120 s or closed is dropped. When a
consumer group's members or subscriptions change, every member is told with a oneway
NOTIFY_CONSUMER_IDS_CHANGED so it rebalances at once instead of at its next 20 s tick."""

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from rmq.broker.subscription import Subscription
from rmq.common.codes import LanguageCode, RequestCode
from rmq.remoting.command import request
from rmq.remoting.connection import Connection

log = logging.getLogger(__name__)

#: Java ``ClientHousekeepingService``: channels silent this long are closed.
CHANNEL_EXPIRED_SECONDS: Final = 120.0


@dataclass(slots=True)
class ClientChannel:
    conn: Connection
    client_id: str
    language: int
    version: int
    last_update: float

    def to_json(self) -> dict[str, object]:
        try:
            language = LanguageCode(self.language).name
        except ValueError:
            language = "OTHER"
        return {
            "clientAddr": self.conn.peer,
            "clientId": self.client_id,
            "language": language,
            "version": self.version,
        }


@dataclass(slots=True)
class ConsumerGroup:
    name: str
    consume_type: str = "CONSUME_PASSIVELY"
    message_model: str = "CLUSTERING"
    consume_from_where: str = "CONSUME_FROM_LAST_OFFSET"
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    channels: dict[Connection, ClientChannel] = field(default_factory=dict)
    last_update: float = 0.0

    def client_ids(self) -> list[str]:
        return [c.client_id for c in self.channels.values()]

    def update_subscriptions(self, subs: Iterable[Subscription]) -> bool:
        """Replace the table; True when a topic was added or removed (Java's notion of a
        change: a new version of an existing topic's expression is not a rebalance)."""
        new = {s.topic: s for s in subs}
        changed = new.keys() != self.subscriptions.keys()
        for topic, sub in new.items():
            old = self.subscriptions.get(topic)
            if old is not None and sub.sub_version <= old.sub_version:
                new[topic] = old
        self.subscriptions = new
        return changed


class ClientRegistry:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        notify_enabled: Callable[[str], bool] = lambda group: True,
    ) -> None:
        self._clock = clock
        self._notify_enabled = notify_enabled
        self.producers: dict[str, dict[Connection, ClientChannel]] = {}
        self.consumers: dict[str, ConsumerGroup] = {}

    def _channel(
        self, conn: Connection, client_id: str, language: int, version: int
    ) -> ClientChannel:
        return ClientChannel(conn, client_id, language, version, self._clock())

    def register_producer(
        self, group: str, conn: Connection, client_id: str, language: int, version: int
    ) -> None:
        channels = self.producers.setdefault(group, {})
        existing = channels.get(conn)
        if existing is None:
            channels[conn] = self._channel(conn, client_id, language, version)
        else:
            existing.last_update = self._clock()

    def unregister_producer(self, group: str, conn: Connection) -> None:
        channels = self.producers.get(group)
        if channels is not None and channels.pop(conn, None) is not None and not channels:
            del self.producers[group]

    def producer_channel(self, group: str) -> ClientChannel | None:
        """A live producer of ``group`` (transaction check-backs go to one)."""
        for channel in self.producers.get(group, {}).values():
            if not channel.conn.is_closed:
                return channel
        return None

    def register_consumer(
        self,
        group: str,
        conn: Connection,
        client_id: str,
        language: int,
        version: int,
        *,
        consume_type: str,
        message_model: str,
        consume_from_where: str,
        subscriptions: list[Subscription],
    ) -> bool:
        """True when the group's membership or topics changed (members were notified)."""
        info = self.consumers.get(group)
        if info is None:
            info = self.consumers[group] = ConsumerGroup(group)
        info.consume_type = consume_type
        info.message_model = message_model
        info.consume_from_where = consume_from_where
        info.last_update = self._clock()
        channel = info.channels.get(conn)
        new_member = channel is None
        if channel is None:
            info.channels[conn] = self._channel(conn, client_id, language, version)
        else:
            channel.last_update = info.last_update
            if channel.client_id != client_id:
                channel.client_id = client_id
                new_member = True
        changed = info.update_subscriptions(subscriptions) or new_member
        if changed:
            self._notify(info)
        return changed

    def unregister_consumer(self, group: str, conn: Connection) -> None:
        info = self.consumers.get(group)
        if info is None or info.channels.pop(conn, None) is None:
            return
        if not info.channels:
            del self.consumers[group]
        else:
            self._notify(info)

    def consumer_group(self, group: str) -> ConsumerGroup | None:
        return self.consumers.get(group)

    def groups_subscribing(self, topic: str) -> set[str]:
        return {g for g, info in self.consumers.items() if topic in info.subscriptions}

    def channel_closed(self, conn: Connection) -> None:
        for group in list(self.producers):
            self.unregister_producer(group, conn)
        for group in list(self.consumers):
            self.unregister_consumer(group, conn)

    def scan_expired(self) -> list[Connection]:
        """Drop channels silent for 120 s; returns them so the caller closes them."""
        deadline = self._clock() - CHANNEL_EXPIRED_SECONDS
        stale: set[Connection] = set()
        for channels in self.producers.values():
            stale.update(c for c, ch in channels.items() if ch.last_update < deadline)
        for info in self.consumers.values():
            stale.update(c for c, ch in info.channels.items() if ch.last_update < deadline)
        for conn in stale:
            log.warning(
                "client channel %s expired after %.0f s", conn.peer, CHANNEL_EXPIRED_SECONDS
            )
            self.channel_closed(conn)
        return list(stale)

    def _notify(self, info: ConsumerGroup) -> None:
        if not self._notify_enabled(info.name):
            return
        for conn in list(info.channels):
            if conn.is_closed:
                continue
            conn.oneway(
                request(
                    RequestCode.NOTIFY_CONSUMER_IDS_CHANGED,
                    {"consumerGroup": info.name},
                    oneway=True,
                )
            )
