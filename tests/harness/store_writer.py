"""A child process for crash tests: appends messages under SYNC_FLUSH and prints one
``ACK <i> <queue_offset>`` line per acknowledged message, until killed or done."""

import asyncio
import sys

from rmq.config.loader import ConfigInput
from rmq.config.store import MessageStoreConfig
from rmq.store.results import PutStatus
from rmq.store.store import MessageInput, MessageStore


async def main(root: str, count: int) -> None:
    values = {
        "storePathRootDir": root,
        "mappedFileSizeCommitLog": str(256 * 1024),
        "mappedFileSizeConsumeQueue": "2000",
        "flushDiskType": "SYNC_FLUSH",
    }
    store = await MessageStore.open(ConfigInput(process_defaults=values).build(MessageStoreConfig))
    for i in range(count):
        body = f"crash-{i:06d}".encode() * 8
        (result,) = await store.put([MessageInput("CrashTopic", i % 4, body, b"KEYS\x01k")])
        if result.status is not PutStatus.PUT_OK:
            print(f"FAIL {i} {result.status.name}", flush=True)
            return
        print(f"ACK {i} {result.queue_offset}", flush=True)
    await store.close()
    print("DONE", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
