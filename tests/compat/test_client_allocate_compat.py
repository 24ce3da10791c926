"""rmq.client's queue allocation strategies give exactly the Java client's answers: a group
mixing Java and Python consumers must split queues without overlap or gaps."""

import pytest

from rmq.client.allocate import (
    AllocateAveragely,
    AllocateAveragelyByCircle,
    AllocateConsistentHash,
    AllocateStrategy,
)
from rmq.client.message import MessageQueue
from tests.harness.java import run_java

pytestmark = pytest.mark.compat

SHAPES = [
    (8, ["c1", "c2", "c3"]),
    (4, ["10.0.0.1@1", "10.0.0.2@1", "10.0.0.3@1", "10.0.0.4@1", "10.0.0.5@1"]),
    (16, ["a", "b"]),
    (7, ["127.0.0.1@4242#1", "127.0.0.1@4243#2", "127.0.0.1@4244#3"]),
    (1, ["x"]),
]
STRATEGIES: list[AllocateStrategy] = [
    AllocateAveragely(),
    AllocateAveragelyByCircle(),
    AllocateConsistentHash(),
]


@pytest.mark.parametrize(("queues", "clients"), SHAPES)
def test_allocation_matches_the_java_client(queues: int, clients: list[str]) -> None:
    result = run_java("dev.rmq.compat.RmqCompat", "allocate", str(queues), *clients)
    assert result.returncode == 0, result.stderr[-2000:]
    java: dict[tuple[str, str], list[int]] = {}
    for line in result.stdout.splitlines():
        if line.startswith("ALLOC "):
            _, name, client, *ids = line.split()
            java[(name, client)] = [int(i) for i in ids]
    mqs = [MessageQueue("T", "b", i) for i in range(queues)]
    for strategy in STRATEGIES:
        for client in clients:
            mine = [q.queue_id for q in strategy.allocate("g", client, mqs, clients)]
            assert mine == java[(strategy.name, client)], (strategy.name, client)
