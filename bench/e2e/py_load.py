"""rmq.client's side of bench/e2e/client_throughput.py, the same loads as Bench.java's and
the same RESULT/CPU lines (CPU: process CPU seconds, every thread, over the measured
window), run as its own process pinned like the Java one.

    produce NS TOPIC TASKS SIZE SECONDS WARMUP          TASKS coroutines sending synchronously
    produceasync NS TOPIC INFLIGHT SIZE SECONDS WARMUP  send_async, at most INFLIGHT unanswered
    producebatch NS TOPIC TASKS SIZE BATCH SECONDS WARMUP
    consume NS TOPIC GROUP EXPECTED SECONDS             push consumer, batches of up to 32
"""

import asyncio
import sys
import time

from rmq.client import (
    CONSUME_FROM_FIRST_OFFSET,
    ClientConfig,
    ConsumeConcurrentlyContext,
    ConsumeConcurrentlyStatus,
    Message,
    MessageExt,
    Producer,
    PushConsumer,
    SendStatus,
)


def _config(namesrv: str) -> ClientConfig:
    return ClientConfig(namesrv_addr=namesrv, client_ip="127.0.0.1")


class Window:
    """The measured interval after the warm-up, with the process CPU spent in it."""

    def __init__(self, warmup: float, seconds: float) -> None:
        self.start = time.monotonic() + warmup
        self.end = self.start + seconds
        self.cpu_at_start: float | None = None
        self.cpu = 0.0

    def counting(self, began: float) -> bool:
        return began >= self.start and time.monotonic() < self.end

    async def watch(self) -> None:
        await asyncio.sleep(max(0.0, self.start - time.monotonic()))
        self.cpu_at_start = time.process_time()
        await asyncio.sleep(max(0.0, self.end - time.monotonic()))
        self.cpu = time.process_time() - self.cpu_at_start


async def produce(ns: str, topic: str, tasks: int, size: int, seconds: int, warmup: int) -> None:
    body = b"m" * size
    async with Producer("bench_py_producer", config=_config(ns),
                        compress_msg_body_over_howmuch=1 << 30) as producer:  # fmt: skip
        await producer.send(Message(topic, body, tags="warm"))
        window = Window(warmup, seconds)
        sent = errors = 0
        rts: list[float] = []

        async def worker() -> None:
            nonlocal sent, errors
            while (began := time.monotonic()) < window.end:
                try:
                    result = await producer.send(Message(topic, body, tags="TagA"))
                except Exception:
                    errors += 1
                    continue
                if result.send_status is not SendStatus.SEND_OK:
                    errors += 1
                elif window.counting(began):
                    sent += 1
                    rts.append(time.monotonic() - began)

        watcher = asyncio.create_task(window.watch())
        await asyncio.gather(*(worker() for _ in range(tasks)))
        await watcher
    rts.sort()
    avg = sum(rts) / len(rts) * 1000 if rts else 0.0
    p99 = rts[min(len(rts) - 1, int(len(rts) * 0.99))] * 1000 if rts else 0.0
    print(f"CPU {window.cpu:.3f}")
    print(f"RESULT {sent} {sent / seconds:.1f} {avg:.3f} {p99:.3f} {errors}", flush=True)


async def produce_async(ns: str, topic: str, inflight: int, size: int, seconds: int,
                        warmup: int) -> None:  # fmt: skip
    body = b"a" * size
    async with Producer("bench_py_async_producer", config=_config(ns),
                        compress_msg_body_over_howmuch=1 << 30) as producer:  # fmt: skip
        await producer.send(Message(topic, body, tags="warm"))
        window = Window(warmup, seconds)
        slots = asyncio.Semaphore(inflight)
        sent = errors = 0

        def done(task: "asyncio.Task[object]", began: float) -> None:
            nonlocal sent, errors
            slots.release()
            if task.cancelled() or task.exception() is not None:
                errors += 1
            elif window.counting(began):
                sent += 1

        watcher = asyncio.create_task(window.watch())
        while (began := time.monotonic()) < window.end:
            await slots.acquire()
            task = producer.send_async(Message(topic, body, tags="TagA"))
            task.add_done_callback(lambda t, b=began: done(t, b))  # type: ignore[misc]
        for _ in range(inflight):
            await slots.acquire()
        await watcher
    print(f"CPU {window.cpu:.3f}")
    print(f"RESULT {sent} {sent / seconds:.1f} {errors}", flush=True)


async def produce_batch(ns: str, topic: str, tasks: int, size: int, batch: int, seconds: int,
                        warmup: int) -> None:  # fmt: skip
    body = b"b" * size
    async with Producer("bench_py_batch_producer", config=_config(ns),
                        compress_msg_body_over_howmuch=1 << 30) as producer:  # fmt: skip
        await producer.send(Message(topic, body, tags="warm"))
        window = Window(warmup, seconds)
        sent = errors = 0

        async def worker() -> None:
            nonlocal sent, errors
            while (began := time.monotonic()) < window.end:
                msgs = [Message(topic, body, tags="TagA") for _ in range(batch)]
                try:
                    await producer.send_batch(msgs)
                except Exception:
                    errors += 1
                    continue
                if window.counting(began):
                    sent += batch

        watcher = asyncio.create_task(window.watch())
        await asyncio.gather(*(worker() for _ in range(tasks)))
        await watcher
    print(f"CPU {window.cpu:.3f}")
    print(f"RESULT {sent} {sent / seconds:.1f} {errors}", flush=True)


async def consume(ns: str, topic: str, group: str, expected: int, seconds: int) -> None:
    received = 0
    first = last = 0.0
    cpu_first = 0.0
    done = asyncio.Event()

    def listener(msgs: list[MessageExt], ctx: ConsumeConcurrentlyContext
                 ) -> ConsumeConcurrentlyStatus:  # fmt: skip
        nonlocal received, first, last, cpu_first
        now = time.monotonic()
        if not first:
            first, cpu_first = now, time.process_time()
        last = now
        received += len(msgs)
        if received >= expected:
            done.set()
        return ConsumeConcurrentlyStatus.CONSUME_SUCCESS

    async def on_loop(msgs: list[MessageExt], ctx: ConsumeConcurrentlyContext
                      ) -> ConsumeConcurrentlyStatus:  # fmt: skip
        return listener(msgs, ctx)

    consumer = PushConsumer(group, config=_config(ns), consume_from_where=CONSUME_FROM_FIRST_OFFSET,
                            consume_message_batch_max_size=32)  # fmt: skip
    consumer.subscribe(topic, "*")
    consumer.register_message_listener(on_loop)
    await consumer.start()
    try:
        async with asyncio.timeout(seconds):
            await done.wait()
    except TimeoutError:
        pass
    cpu = time.process_time() - cpu_first if first else 0.0
    await consumer.shutdown()
    span = last - first
    print(f"CPU {cpu:.3f}")
    print(f"RESULT {received} {received / span if span > 0 else 0.0:.1f}", flush=True)


def main(argv: list[str]) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    cmd, ns, topic, *rest = argv
    n = [int(x) for x in rest if x.isdigit()]
    if cmd == "produce":
        asyncio.run(produce(ns, topic, *n))
    elif cmd == "produceasync":
        asyncio.run(produce_async(ns, topic, *n))
    elif cmd == "producebatch":
        asyncio.run(produce_batch(ns, topic, *n))
    elif cmd == "consume":
        asyncio.run(consume(ns, topic, rest[0], *n))
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv[1:])
