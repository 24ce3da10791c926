"""How a consumer group splits a topic's queues among its members (Java:
``AllocateMessageQueueStrategy`` and its five implementations). Every member computes the
split on its own from the same sorted lists, so the strategies must give Java's answers
exactly: a group mixing Java and Python consumers would otherwise read a queue twice or
not at all."""

import bisect
import hashlib
from collections.abc import Sequence
from typing import Protocol

from rmq.client.message import MessageQueue


class AllocateStrategy(Protocol):
    name: str

    def allocate(self, group: str, current: str, queues: Sequence[MessageQueue],
                 clients: Sequence[str]) -> list[MessageQueue]: ...  # fmt: skip


def _index(current: str, queues: Sequence[MessageQueue], clients: Sequence[str]) -> int | None:
    if not current or not queues or not clients or current not in clients:
        return None
    return clients.index(current)


class AllocateAveragely:
    """Contiguous runs of queues, the first ``len(queues) % len(clients)`` members one more."""

    name = "AVG"

    def allocate(self, group: str, current: str, queues: Sequence[MessageQueue],
                 clients: Sequence[str]) -> list[MessageQueue]:  # fmt: skip
        index = _index(current, queues, clients)
        if index is None:
            return []
        n, c = len(queues), len(clients)
        mod = n % c
        if n <= c:
            size = 1
        elif mod > 0 and index < mod:
            size = n // c + 1
        else:
            size = n // c
        start = index * size if mod > 0 and index < mod else index * size + mod
        count = min(size, n - start)
        return [queues[(start + i) % n] for i in range(max(count, 0))]


class AllocateAveragelyByCircle:
    """Every ``len(clients)``-th queue, starting at the member's index."""

    name = "AVG_BY_CIRCLE"

    def allocate(self, group: str, current: str, queues: Sequence[MessageQueue],
                 clients: Sequence[str]) -> list[MessageQueue]:  # fmt: skip
        index = _index(current, queues, clients)
        if index is None:
            return []
        return [q for i, q in enumerate(queues) if i >= index and i % len(clients) == index]


class AllocateByConfig:
    """The queues given, whatever the group looks like."""

    name = "CONFIG"

    def __init__(self, queues: Sequence[MessageQueue]) -> None:
        self.queues = list(queues)

    def allocate(self, group: str, current: str, queues: Sequence[MessageQueue],
                 clients: Sequence[str]) -> list[MessageQueue]:  # fmt: skip
        return list(self.queues)


class AllocateByMachineRoom:
    """Only queues of brokers named ``room@name`` in the given rooms, split evenly."""

    name = "MACHINE_ROOM"

    def __init__(self, rooms: Sequence[str]) -> None:
        self.rooms = set(rooms)

    def allocate(self, group: str, current: str, queues: Sequence[MessageQueue],
                 clients: Sequence[str]) -> list[MessageQueue]:  # fmt: skip
        index = _index(current, queues, clients)
        if index is None:
            return []
        mine = []
        for q in queues:
            parts = q.broker_name.split("@")
            if len(parts) == 2 and parts[0] in self.rooms:
                mine.append(q)
        per, rest = divmod(len(mine), len(clients))
        out = mine[per * index : per * index + per]
        if rest > index:
            out.append(mine[index + per * len(clients)])
        return out


def _md5_hash(key: str) -> int:
    digest = hashlib.md5(key.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:4], "big")


def _queue_key(q: MessageQueue) -> str:
    # Java hashes MessageQueue.toString().
    return f"MessageQueue [topic={q.topic}, brokerName={q.broker_name}, queueId={q.queue_id}]"


class AllocateConsistentHash:
    """A hash ring of ``virtual_nodes`` points per member (MD5, as Java's default)."""

    name = "CONSISTENT_HASH"

    def __init__(self, virtual_nodes: int = 10) -> None:
        if virtual_nodes < 0:
            raise ValueError(f"illegal virtual node counts :{virtual_nodes}")
        self.virtual_nodes = virtual_nodes

    def allocate(self, group: str, current: str, queues: Sequence[MessageQueue],
                 clients: Sequence[str]) -> list[MessageQueue]:  # fmt: skip
        if _index(current, queues, clients) is None:
            return []
        ring: dict[int, str] = {}
        for client in clients:
            for i in range(self.virtual_nodes):
                ring[_md5_hash(f"{client}-{i}")] = client
        if not ring:
            return []
        points = sorted(ring)
        out = []
        for q in queues:
            at = bisect.bisect_left(points, _md5_hash(_queue_key(q)))
            owner = ring[points[at] if at < len(points) else points[0]]
            if owner == current:
                out.append(q)
        return out
