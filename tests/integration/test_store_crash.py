"""SIGKILL a process in the middle of SYNC_FLUSH appends, reopen: nothing acknowledged is lost."""

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rmq.config.loader import ConfigInput
from rmq.config.store import MessageStoreConfig
from rmq.store.results import GetStatus
from rmq.store.store import MessageStore

pytestmark = pytest.mark.integration


def record_bodies(buffer: bytes) -> list[bytes]:
    bodies = []
    pos = 0
    while pos < len(buffer):
        size = int.from_bytes(buffer[pos : pos + 4], "big")
        record = buffer[pos : pos + size]
        body_len = int.from_bytes(record[84:88], "big")  # IPv4 hosts: BODY at 84
        bodies.append(record[88 : 88 + body_len])
        pos += size
    return bodies


def test_sigkill_mid_append_loses_no_acknowledged_message(tmp_path: Path) -> None:
    root = tmp_path / "store"
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.harness.store_writer", str(root), "100000"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert writer.stdout is not None
    acked: list[tuple[int, int]] = []
    for line in writer.stdout:
        if line.startswith("ACK"):
            _, i, queue_offset = line.split()
            acked.append((int(i), int(queue_offset)))
            if len(acked) >= 400:
                break
        else:
            pytest.fail(f"writer said {line!r}")
    writer.send_signal(signal.SIGKILL)
    writer.wait(10)
    writer.stdout.close()
    assert (root / "abort").exists()
    asyncio.run(verify(root, acked))


async def verify(root: Path, acked: list[tuple[int, int]]) -> None:
    values = {
        "storePathRootDir": str(root),
        "mappedFileSizeCommitLog": str(256 * 1024),
        "mappedFileSizeConsumeQueue": "2000",
    }
    store = await MessageStore.open(ConfigInput(process_defaults=values).build(MessageStoreConfig))
    try:
        stored: dict[int, set[bytes]] = {}
        for queue in range(4):
            got = store.get("CrashTopic", queue, 0, 100_000, 1 << 30)
            assert got.status is GetStatus.FOUND
            stored[queue] = set(record_bodies(got.buffer))
        for i, _ in acked:
            assert f"crash-{i:06d}".encode() * 8 in stored[i % 4], f"acknowledged message {i} lost"
        # Queue offsets continue from what survived.
        lo, hi = store.queue_offsets("CrashTopic", 0) or (0, 0)
        assert lo == 0
        assert hi >= sum(1 for i, _ in acked if i % 4 == 0)
    finally:
        await store.close()


_UNEVEN_WRITER = """
import sys, time
from rmq._store import Store
store = Store(sys.argv[1], flush_consume_queue_interval_ms=600000)
msg = lambda q, i: ("CrashTopic", q, b"m%d" % i, b"", 0, 0, 0, bytes(8), bytes(8), 0, 0)
store.put([msg(1, i) for i in range(5)])
store.put([msg(0, i) for i in range(300)])  # queue 0's buffer fills and is written
print("ready", flush=True)
time.sleep(60)
"""


def test_sigkill_with_queue_units_still_buffered_loses_none(tmp_path: Path) -> None:
    """Queue units are written a few KiB at a time: a process killed while one queue's units
    sit in its buffer and another queue's were written must get both back on reopen."""
    root = tmp_path / "store"
    writer = subprocess.Popen([sys.executable, "-c", _UNEVEN_WRITER, str(root)],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "ready"
    writer.send_signal(signal.SIGKILL)
    writer.wait(10)
    writer.stdout.close()

    async def reopen() -> None:
        config = ConfigInput(None, {}, {"storePathRootDir": str(root)}, {})
        store = await MessageStore.open(config.build(MessageStoreConfig))
        try:
            assert store.queue_offsets("CrashTopic", 1) == (0, 5)
            assert store.queue_offsets("CrashTopic", 0) == (0, 300)
            got = store.get("CrashTopic", 1, 0, 32)
            assert got.status is GetStatus.FOUND
            assert record_bodies(got.buffer) == [b"m%d" % i for i in range(5)]
        finally:
            await store.close()

    asyncio.run(reopen())
