"""What the examples share: arguments that make a consumer stop on its own (for scripts
and tests; the Java examples run until killed) and the message printout."""

import argparse
import asyncio
import sys
import threading

from rmq.client import MessageExt, PushConsumer


def consumer_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--count", type=int, default=0, help="stop after this many messages")
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long")
    return parser.parse_args()


class Counter:
    """Counts received messages and says when the run is over."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.seen = 0
        self._lock = threading.Lock()
        self.done = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def add(self, n: int) -> None:
        with self._lock:
            self.seen += n
            if self.args.count and self.seen >= self.args.count:
                self._loop.call_soon_threadsafe(self.done.set)

    async def run(self, consumer: "PushConsumer", started: str | None = None) -> None:
        """Start the consumer, consume until the count or time is reached, shut it down."""
        await consumer.start()
        if started:
            say(started)
        try:
            await self.wait()
        finally:
            await consumer.shutdown()

    async def wait(self) -> None:
        timeout = self.args.seconds or None
        try:
            async with asyncio.timeout(timeout):
                await self.done.wait()
        except TimeoutError:
            pass


_print_lock = threading.Lock()


def say(text: str) -> None:
    """One whole line: listeners print from several pool threads at once."""
    with _print_lock:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def describe(msg: MessageExt) -> str:
    body = msg.body.decode(errors="replace")
    return (f"msgId={msg.msg_id} topic={msg.topic} queueId={msg.queue_id} "
            f"queueOffset={msg.queue_offset} tags={msg.tags} keys={msg.keys} "
            f"reconsumeTimes={msg.reconsume_times} body={body}")  # fmt: skip
