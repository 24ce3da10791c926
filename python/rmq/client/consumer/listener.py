"""What a push consumer's listener returns and is told (Java: ``ConsumeConcurrentlyStatus``,
``ConsumeOrderlyStatus`` and their contexts). A listener is a plain function (run on the
consumer's thread pool) or a coroutine function (run on the event loop)."""

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, TypeAlias

from rmq.client.message import MessageExt, MessageQueue


class ConsumeConcurrentlyStatus(Enum):
    CONSUME_SUCCESS = "CONSUME_SUCCESS"
    RECONSUME_LATER = "RECONSUME_LATER"


class ConsumeOrderlyStatus(Enum):
    SUCCESS = "SUCCESS"
    SUSPEND_CURRENT_QUEUE_A_MOMENT = "SUSPEND_CURRENT_QUEUE_A_MOMENT"


#: Java's default ackIndex: everything in the batch consumed.
ACK_ALL: Final = 2**31 - 1


@dataclass(slots=True)
class ConsumeConcurrentlyContext:
    message_queue: MessageQueue
    #: 0: the broker picks (3 + reconsume times); -1: straight to the dead-letter queue
    delay_level_when_next_consume: int = 0
    ack_index: int = ACK_ALL


@dataclass(slots=True)
class ConsumeOrderlyContext:
    message_queue: MessageQueue
    auto_commit: bool = True
    suspend_current_queue_time_millis: int = -1


ConcurrentlyListener: TypeAlias = Callable[
    [list[MessageExt], ConsumeConcurrentlyContext],
    ConsumeConcurrentlyStatus | Awaitable[ConsumeConcurrentlyStatus],
]
OrderlyListener: TypeAlias = Callable[
    [list[MessageExt], ConsumeOrderlyContext],
    ConsumeOrderlyStatus | Awaitable[ConsumeOrderlyStatus],
]


async def call_listener(listener: Callable[..., Any], executor: ThreadPoolExecutor | None,
                        *args: Any) -> Any:  # fmt: skip
    if inspect.iscoroutinefunction(listener):
        return await listener(*args)
    if executor is None:
        result = listener(*args)
    else:
        result = await asyncio.get_running_loop().run_in_executor(executor, listener, *args)
    if inspect.isawaitable(result):
        return await result
    return result


#: CONSUME_MESSAGE_DIRECTLY's result names for what a listener returned.
DIRECT_RESULTS: Final = {
    ConsumeConcurrentlyStatus.CONSUME_SUCCESS: "CR_SUCCESS",
    ConsumeConcurrentlyStatus.RECONSUME_LATER: "CR_LATER",
    ConsumeOrderlyStatus.SUCCESS: "CR_SUCCESS",
    ConsumeOrderlyStatus.SUSPEND_CURRENT_QUEUE_A_MOMENT: "CR_LATER",
}


async def consume_directly(listener: Callable[..., Any], executor: ThreadPoolExecutor,
                           msg: MessageExt, ctx: Any, order: bool) -> dict[str, Any]:  # fmt: skip
    """Run the listener on one message for the broker's CONSUME_MESSAGE_DIRECTLY; the
    ConsumeMessageDirectlyResult body mqadmin prints."""
    began = time.monotonic()
    try:
        status = await call_listener(listener, executor, [msg], ctx)
        result, remark = DIRECT_RESULTS.get(status, "CR_RETURN_NULL"), ""
    except Exception as exc:
        result, remark = "CR_THROW_EXCEPTION", repr(exc)
    return {"order": order, "autoCommit": True, "consumeResult": result, "remark": remark,
            "spentTimeMills": int((time.monotonic() - began) * 1000)}  # fmt: skip
