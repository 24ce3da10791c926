"""Transactional sends (Java: ``TransactionMQProducer``): a half message, the local
transaction, then commit or rollback; and the broker's check-back for half messages whose
outcome it never heard."""

import asyncio
import inspect
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from rmq.client.errors import ClientError
from rmq.client.message import Message, MessageExt, SendResult, SendStatus
from rmq.client.producer import Producer
from rmq.common import property_keys as pk
from rmq.common.message_id import MessageIdError, decode_offset_msg_id

log = logging.getLogger(__name__)


class LocalTransactionState(Enum):
    COMMIT_MESSAGE = "COMMIT_MESSAGE"
    ROLLBACK_MESSAGE = "ROLLBACK_MESSAGE"
    UNKNOW = "UNKNOW"  # Java's spelling, kept so logs and tools read the same


_END_TYPE = {
    LocalTransactionState.COMMIT_MESSAGE: pk.TRANSACTION_COMMIT_TYPE,
    LocalTransactionState.ROLLBACK_MESSAGE: pk.TRANSACTION_ROLLBACK_TYPE,
    LocalTransactionState.UNKNOW: pk.TRANSACTION_NOT_TYPE,
}


class TransactionListener(Protocol):
    """Both methods may be plain functions (run on the check thread pool when the broker
    asks) or coroutines."""

    def execute_local_transaction(self, msg: Message, arg: Any) -> Any: ...

    def check_local_transaction(self, msg: MessageExt) -> Any: ...


@dataclass(frozen=True, slots=True)
class TransactionSendResult:
    send_result: SendResult
    local_transaction_state: LocalTransactionState

    @property
    def send_status(self) -> SendStatus:
        return self.send_result.send_status

    @property
    def msg_id(self) -> str:
        return self.send_result.msg_id

    @property
    def transaction_id(self) -> str | None:
        return self.send_result.transaction_id


async def _call(fn: Any, *args: Any, executor: ThreadPoolExecutor | None = None) -> Any:
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    if executor is None:
        return fn(*args)
    return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)


def _state(value: Any) -> LocalTransactionState:
    if isinstance(value, LocalTransactionState):
        return value
    if isinstance(value, str) and value in LocalTransactionState.__members__:
        return LocalTransactionState[value]
    return LocalTransactionState.UNKNOW


class TransactionProducer(Producer):
    def __init__(self, group: str, listener: TransactionListener, *,
                 check_thread_pool_min_size: int = 1, **options: Any) -> None:  # fmt: skip
        super().__init__(group, **options)
        self.listener = listener
        self._checks = ThreadPoolExecutor(max(1, check_thread_pool_min_size),
                                          thread_name_prefix=f"tx-check-{group}")  # fmt: skip
        self._check_tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> "TransactionProducer":
        await self.start()
        return self

    async def shutdown(self) -> None:
        await super().shutdown()
        self._checks.shutdown(wait=False)

    async def send_message_in_transaction(self, msg: Message, arg: Any = None
                                          ) -> TransactionSendResult:  # fmt: skip
        if msg.delay_time_level > 0 or pk.DELAY_TIME_LEVEL in msg.properties:
            raise ClientError("DelayTimeLevel is not supported for transaction message")
        msg.properties[pk.TRANSACTION_PREPARED] = "true"
        msg.properties[pk.PRODUCER_GROUP] = self.group
        result = await self.send(msg)
        state = LocalTransactionState.UNKNOW
        error: BaseException | None = None
        if result.send_status is SendStatus.SEND_OK:
            try:
                state = _state(await _call(self.listener.execute_local_transaction, msg, arg))
            except Exception as exc:
                log.warning("local transaction of %s raised: %r", result.msg_id, exc)
                error = exc
        else:
            state = LocalTransactionState.ROLLBACK_MESSAGE
        try:
            await self._end(result, state, error)
        except Exception as exc:
            # The broker checks back later; the caller still learns the local outcome.
            log.warning("end transaction of %s failed: %s", result.msg_id, exc)
        return TransactionSendResult(result, state)

    async def _end(self, result: SendResult, state: LocalTransactionState,
                   error: BaseException | None) -> None:  # fmt: skip
        try:
            _, commit_offset = decode_offset_msg_id(result.offset_msg_id or result.msg_id)
        except MessageIdError as exc:
            raise ClientError(str(exc)) from None
        addr = self.instance.master_addr(result.message_queue.broker_name)
        if addr is None:
            raise ClientError(f"The broker[{result.message_queue.broker_name}] not exist")
        header = {
            "producerGroup": self.group,
            "tranStateTableOffset": str(result.queue_offset),
            "commitLogOffset": str(commit_offset),
            "commitOrRollback": str(_END_TYPE[state]),
            "fromTransactionCheck": "false",
            "msgId": result.msg_id,
            "transactionId": result.transaction_id or result.msg_id,
        }
        remark = f"executeLocalTransactionBranch exception: {error}" if error else None
        await self.instance.api.end_transaction(addr, header, remark)

    def check_transaction_state(self, addr: str, msg: MessageExt, header: dict[str, str]) -> None:
        task = asyncio.ensure_future(self._check(addr, msg, header))
        self._check_tasks.add(task)
        task.add_done_callback(self._check_tasks.discard)

    async def _check(self, addr: str, msg: MessageExt, header: dict[str, str]) -> None:
        error: BaseException | None = None
        try:
            raw = await _call(self.listener.check_local_transaction, msg, executor=self._checks)
            state = _state(raw)
        except Exception as exc:
            log.warning("check of transaction %s raised: %r", msg.msg_id, exc)
            state, error = LocalTransactionState.UNKNOW, exc
        reply = {
            "producerGroup": self.group,
            "tranStateTableOffset": header.get("tranStateTableOffset", "0"),
            "commitLogOffset": header.get("commitLogOffset", "0"),
            "commitOrRollback": str(_END_TYPE[state]),
            "fromTransactionCheck": "true",
            "msgId": msg.properties.get(pk.UNIQ_CLIENT_MESSAGE_ID_KEYIDX, msg.msg_id),
            "transactionId": header.get("transactionId") or msg.msg_id,
        }
        remark = f"checkLocalTransactionState Exception: {error}" if error else None
        if self._instance is None:
            return
        try:
            await self.instance.api.end_transaction(addr, reply, remark)
        except Exception as exc:
            log.info("answering check-back of %s failed: %s", msg.msg_id, exc)
