"""The engine through the facade on a temp dir (pytest-benchmark): 1 KiB puts single and in
batches of 32 under ASYNC_FLUSH, a hot 32-message read, a key lookup through the index.
Each round does a fixed number of operations, so msgs/s = ops / round time."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from rmq.config.loader import ConfigInput
from rmq.config.store import MessageStoreConfig
from rmq.store.results import GetStatus
from rmq.store.store import MessageInput, MessageStore

BODY = b"x" * 1024
PUTS_PER_ROUND = 3200


def message(i: int) -> MessageInput:
    return MessageInput("BenchTopic", 0, BODY, f"TAGS\x01A\x02KEYS\x01order-{i}".encode())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[asyncio.AbstractEventLoop, MessageStore]]:
    loop = asyncio.new_event_loop()
    values = {"storePathRootDir": str(tmp_path), "mappedFileSizeCommitLog": str(256 << 20)}
    config = ConfigInput(process_defaults=values).build(MessageStoreConfig)
    opened = loop.run_until_complete(MessageStore.open(config))
    yield loop, opened
    loop.run_until_complete(opened.close())
    loop.close()


@pytest.mark.parametrize("batch", [1, 32])
def test_async_flush_put(
    benchmark: BenchmarkFixture,
    store: tuple[asyncio.AbstractEventLoop, MessageStore],
    batch: int,
) -> None:
    loop, opened = store
    messages = [message(i) for i in range(batch)]

    async def round_of_puts() -> None:
        for _ in range(PUTS_PER_ROUND // batch):
            await opened.put(messages)

    benchmark.group = "store put (3200 x 1 KiB per round)"
    benchmark.extra_info["batch"] = batch
    benchmark.pedantic(  # type: ignore[no-untyped-call]
        lambda: loop.run_until_complete(round_of_puts()), rounds=10
    )


def test_hot_read_by_queue_offset(
    benchmark: BenchmarkFixture, store: tuple[asyncio.AbstractEventLoop, MessageStore]
) -> None:
    loop, opened = store
    for start in range(0, 3200, 32):
        loop.run_until_complete(opened.put([message(start + j) for j in range(32)]))

    def read_all() -> int:
        offset = 0
        while offset < 3200:
            got = opened.get("BenchTopic", 0, offset, 32, 1 << 20)
            assert got.status is GetStatus.FOUND
            offset = got.next_begin_offset
        return offset

    benchmark.group = "store read (3200 msgs per round, 32 per get)"
    assert benchmark(read_all) == 3200


def test_key_lookup(
    benchmark: BenchmarkFixture, store: tuple[asyncio.AbstractEventLoop, MessageStore]
) -> None:
    loop, opened = store
    for start in range(0, 3200, 32):
        loop.run_until_complete(opened.put([message(start + j) for j in range(32)]))
    benchmark.group = "store key lookup"
    assert len(benchmark(opened.query_by_key, "BenchTopic", "order-1234", 32)) == 1
