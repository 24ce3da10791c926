"""A blocking facade for scripts that do not run asyncio: the same clients, driven on one
background event-loop thread shared by every blocking client in the process.

    from rmq.client import Message
    from rmq.client.blocking import Producer

    with Producer("ProducerGroup", namesrv_addr="127.0.0.1:9876") as producer:
        print(producer.send(Message("TopicTest", b"hello")))

Push-consumer listeners run on the consumer's thread pool, as with the asyncio client.
"""

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar

from rmq.client.consumer import lite_pull, pull, push
from rmq.client.consumer.listener import ConcurrentlyListener, OrderlyListener
from rmq.client.message import Message, MessageExt, MessageQueue, PullResult, SendResult
from rmq.client.producer import Producer as AsyncProducer
from rmq.client.producer import SendCallback
from rmq.client.transaction import TransactionListener, TransactionSendResult
from rmq.client.transaction import TransactionProducer as AsyncTransactionProducer

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _background_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="rmq-client-loop",
                                      daemon=True)  # fmt: skip
            thread.start()
            _loop = loop
        return _loop


def _run(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    return asyncio.run_coroutine_threadsafe(coro, _background_loop()).result(timeout)


class Producer:
    def __init__(self, group: str = "DEFAULT_PRODUCER", **options: Any) -> None:
        self._aio = self._make(group, **options)

    def _make(self, group: str, **options: Any) -> AsyncProducer:
        return AsyncProducer(group, **options)

    def start(self) -> None:
        _run(self._aio.start())

    def shutdown(self) -> None:
        _run(self._aio.shutdown())

    def __enter__(self) -> "Producer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def send(self, msg: Message, queue: MessageQueue | None = None, **options: Any) -> SendResult:
        return _run(self._aio.send(msg, queue, **options))

    def send_async(self, msg: Message, callback: SendCallback | None = None,
                   **options: Any) -> "concurrent.futures.Future[SendResult]":  # fmt: skip
        """Returns at once; the callback runs on the client's loop thread."""

        async def start() -> SendResult:
            return await self._aio.send_async(msg, callback, **options)

        return asyncio.run_coroutine_threadsafe(start(), _background_loop())

    def send_oneway(self, msg: Message, queue: MessageQueue | None = None, **options: Any) -> None:
        _run(self._aio.send_oneway(msg, queue, **options))

    def send_batch(self, messages: Iterable[Message], queue: MessageQueue | None = None
                   ) -> SendResult:  # fmt: skip
        return _run(self._aio.send_batch(messages, queue))

    def fetch_publish_message_queues(self, topic: str) -> list[MessageQueue]:
        return _run(self._aio.fetch_publish_message_queues(topic))


class TransactionProducer(Producer):
    def __init__(self, group: str, listener: TransactionListener, **options: Any) -> None:
        self._aio = AsyncTransactionProducer(group, listener, **options)

    def send_message_in_transaction(self, msg: Message, arg: Any = None) -> TransactionSendResult:
        aio = self._aio
        assert isinstance(aio, AsyncTransactionProducer)
        return _run(aio.send_message_in_transaction(msg, arg))


class PushConsumer:
    def __init__(self, group: str, **options: Any) -> None:
        self._aio = push.PushConsumer(group, **options)

    def subscribe(self, topic: str, expression: str = "*", expression_type: str = "TAG") -> None:
        self._aio.subscribe(topic, expression, expression_type)

    def register_message_listener(self, listener: ConcurrentlyListener) -> None:
        self._aio.register_message_listener(listener)

    def register_message_listener_orderly(self, listener: OrderlyListener) -> None:
        self._aio.register_message_listener_orderly(listener)

    def start(self) -> None:
        _run(self._aio.start())

    def shutdown(self) -> None:
        _run(self._aio.shutdown())

    def __enter__(self) -> "PushConsumer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


class LitePullConsumer:
    def __init__(self, group: str, **options: Any) -> None:
        self._aio = lite_pull.LitePullConsumer(group, **options)

    def subscribe(self, topic: str, expression: str = "*", expression_type: str = "TAG") -> None:
        self._aio.subscribe(topic, expression, expression_type)

    def assign(self, queues: list[MessageQueue]) -> None:
        _run(_call(self._aio.assign, queues))

    def start(self) -> None:
        _run(self._aio.start())

    def shutdown(self) -> None:
        _run(self._aio.shutdown())

    def __enter__(self) -> "LitePullConsumer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def poll(self, timeout: int | None = None) -> list[MessageExt]:
        return _run(self._aio.poll(timeout))

    def commit_sync(self) -> None:
        _run(self._aio.commit_sync())

    def seek(self, mq: MessageQueue, offset: int) -> None:
        _run(_call(self._aio.seek, mq, offset))

    def fetch_message_queues(self, topic: str) -> list[MessageQueue]:
        return _run(self._aio.fetch_message_queues(topic))


class PullConsumer:
    def __init__(self, group: str, **options: Any) -> None:
        self._aio = pull.PullConsumer(group, **options)

    def start(self) -> None:
        _run(self._aio.start())

    def shutdown(self) -> None:
        _run(self._aio.shutdown())

    def __enter__(self) -> "PullConsumer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def fetch_subscribe_message_queues(self, topic: str) -> list[MessageQueue]:
        return _run(self._aio.fetch_subscribe_message_queues(topic))

    def pull(self, mq: MessageQueue, expression: str, offset: int, max_nums: int) -> PullResult:
        return _run(self._aio.pull(mq, expression, offset, max_nums))

    def update_consume_offset(self, mq: MessageQueue, offset: int) -> None:
        _run(self._aio.update_consume_offset(mq, offset))

    def fetch_consume_offset(self, mq: MessageQueue, from_store: bool = True) -> int:
        return _run(self._aio.fetch_consume_offset(mq, from_store))


async def _call(fn: Any, *args: Any) -> Any:
    """Run a plain method on the loop thread: it creates tasks there."""
    return fn(*args)
