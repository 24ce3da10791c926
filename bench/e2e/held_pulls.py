"""Puts per second while many pulls are held on other queues.

Consumers that have caught up keep a pull held on every queue they own; each put must wake
the pulls on its own queue without paying for all the others. Setup: ``--held`` queues with
one message each and a pull held at offset 1 on every one of them (the broker's own
``PullHolds`` wired to the store as the broker wires it), then single puts to another queue
with a loop turn after each, as the broker has per request.

Usage: python -m bench.e2e.held_pulls [--held 2000] [--puts 20000]
"""

import argparse
import asyncio
import json
import tempfile
import time

from bench.e2e.results import save_report
from bench.e2e.store_ceilings import settings
from rmq.broker.long_polling import PullHolds
from rmq.store.store import MessageInput, MessageStore


async def run(held: int, puts: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as root:
        store = await MessageStore.open(settings(root))

        def queue_max(topic: str, queue_id: int) -> int:
            bounds = store.queue_offsets(topic, queue_id)
            return 0 if bounds is None else bounds[1]

        holds = PullHolds(queue_max, store.take_moved_queues)
        store.progress.on_dispatched(holds.check_moved)
        await store.put([MessageInput(f"Held{i}", 0, b"x") for i in range(held)])
        await asyncio.sleep(0.05)
        pulls = [asyncio.ensure_future(holds.hold(f"Held{i}", 0, 1, 60)) for i in range(held)]
        await asyncio.sleep(0.05)
        message = [MessageInput("Hot", 0, b"y" * 128)]
        start = time.perf_counter()
        for _ in range(puts):
            await store.put(message)
            await asyncio.sleep(0)
        elapsed = time.perf_counter() - start
        still_held = len(holds)
        holds.release_all()
        await asyncio.gather(*pulls)
        await store.close()
    return {"held_pulls": still_held, "puts": puts, "puts_per_s": puts / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--held", type=int, default=2000)
    parser.add_argument("--puts", type=int, default=20000)
    args = parser.parse_args()
    result = asyncio.run(run(args.held, args.puts))
    out = save_report("held-pulls", result)
    print(json.dumps(result, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
