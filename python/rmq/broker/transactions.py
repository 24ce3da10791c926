"""Transactional messages (Java: ``TransactionalMessageServiceImpl``, ``EndTransactionProcessor``,
``TransactionalMessageCheckService``).

A half message waits in RMQ_SYS_TRANS_HALF_TOPIC (queue 0), invisible to consumers. Commit
writes the final message to its real queue; commit and rollback both write an op record
(RMQ_SYS_TRANS_OP_HALF_TOPIC, tag ``d``, body = the half message's queue offset). Every
transactionCheckInterval the half queue is scanned in order: a half message without an op
record, older than transactionTimeOut, is written again to the half queue with
TRANSACTION_CHECK_TIMES + 1 and its producer group is asked CHECK_TRANSACTION_STATE; after
transactionCheckMax checks it goes to TRANS_CHECK_MAX_TIME_TOPIC. Scan progress is kept as
consumer offsets of group CID_RMQ_SYS_TRANS, so a restart resumes where it stopped.
"""

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Final

from rmq.common import property_keys as keys
from rmq.common import topic as names
from rmq.common.codes import RequestCode
from rmq.common.message import (
    MessageDecodeError,
    StoredMessage,
    decode_records,
    encode_properties,
    rewrite_topic,
)
from rmq.common.message_id import host_bytes_or_zero, offset_msg_id
from rmq.remoting.command import request
from rmq.store.results import GetStatus, PutResult, PutStatus
from rmq.store.store import MessageInput

if TYPE_CHECKING:
    from rmq.broker.context import BrokerContext

log = logging.getLogger(__name__)

SYSTEM_GROUP: Final = "CID_RMQ_SYS_TRANS"
HALF_QUEUE: Final = 0
REMOVE_TAG: Final = "d"
COMMIT_TYPE: Final = 0x8
ROLLBACK_TYPE: Final = 0xC
#: Half and op entries one check pass reads per request to the store.
SCAN_BATCH: Final = 32


class TransactionError(Exception):
    """An END_TRANSACTION that does not match its half message (answered SYSTEM_ERROR)."""


class TransactionService:
    def __init__(self, ctx: "BrokerContext") -> None:
        self._ctx = ctx
        self._task: asyncio.Task[None] | None = None
        self.checks_sent = 0

    # END_TRANSACTION

    def _half(
        self, commit_log_offset: int, producer_group: str, table_offset: int
    ) -> StoredMessage:
        record = self._ctx.store.read_record(commit_log_offset) if commit_log_offset >= 0 else None
        if record is None:
            raise TransactionError("Find prepared transaction message failed")
        try:
            (msg,) = decode_records(record)
        except (MessageDecodeError, ValueError):
            raise TransactionError("Find prepared transaction message failed") from None
        if msg.properties.get(keys.PRODUCER_GROUP) != producer_group:
            raise TransactionError("The producer group wrong")
        if msg.queue_offset != table_offset:
            raise TransactionError("The transaction state table offset wrong")
        if msg.phy_offset != commit_log_offset:
            raise TransactionError("The commit log offset wrong")
        return msg

    def commit(self, commit_log_offset: int, producer_group: str, table_offset: int) -> PutResult:
        half = self._half(commit_log_offset, producer_group, table_offset)
        props = dict(half.properties)
        topic = props.pop(keys.REAL_TOPIC, "")
        queue_id = int(props.pop(keys.REAL_QUEUE_ID, "0") or 0)
        props.pop(keys.TRANSACTION_PREPARED, None)
        final = MessageInput(
            topic,
            queue_id,
            half.body,
            encode_properties(props).encode("utf-8"),
            half.flag,
            (half.sys_flag & ~keys.TRANSACTION_TYPE_MASK) | COMMIT_TYPE,
            half.born_timestamp,
            host_bytes_or_zero(half.born_host),
            self._ctx.store_host,
            half.reconsume_times,
            commit_log_offset,
        )
        (result,) = self._ctx.store.put_nowait([final])
        if result.status is PutStatus.PUT_OK:
            self._ctx.stats.put.total += 1
            self._ctx.holds.notify(topic, queue_id, result.queue_offset + 1)
            self._write_op(half)
        return result

    def rollback(self, commit_log_offset: int, producer_group: str, table_offset: int) -> None:
        self._write_op(self._half(commit_log_offset, producer_group, table_offset))

    def _write_op(self, half: StoredMessage) -> None:
        ctx = self._ctx
        ctx.topics.create_retry(names.TRANS_OP_HALF_TOPIC, 1)
        op = MessageInput(
            names.TRANS_OP_HALF_TOPIC,
            half.queue_id,
            str(half.queue_offset).encode(),
            encode_properties({"TAGS": REMOVE_TAG}).encode(),
            0,
            0,
            int(time.time() * 1000),
            ctx.store_host,
            ctx.store_host,
            0,
            0,
        )
        (result,) = ctx.store.put_nowait([op])
        if result.status is not PutStatus.PUT_OK:
            log.error("op record for half message %d not stored: %s", half.queue_offset,
                      result.status.name)  # fmt: skip

    # check-back

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="transaction-check")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._ctx.broker.transaction_check_interval / 1000)
            try:
                self.check_once()
            except Exception:
                log.exception("transaction check pass failed")

    def _read(self, topic: str, offset: int) -> tuple[list[StoredMessage], int]:
        result = self._ctx.store.get(topic, HALF_QUEUE, offset, SCAN_BATCH, 1024 * 1024)
        if result.status in (GetStatus.OFFSET_TOO_SMALL, GetStatus.OFFSET_OVERFLOW_BADLY):
            return [], result.next_begin_offset
        if result.status is not GetStatus.FOUND:
            return [], offset
        return decode_records(result.buffer), result.next_begin_offset

    def check_once(self, now_ms: int | None = None) -> int:
        """One pass over the half queue; returns how many check-backs were sent."""
        ctx = self._ctx
        now = int(time.time() * 1000) if now_ms is None else now_ms
        half_offset = max(ctx.offsets.query(SYSTEM_GROUP, names.TRANS_HALF_TOPIC, HALF_QUEUE), 0)
        op_offset = max(ctx.offsets.query(SYSTEM_GROUP, names.TRANS_OP_HALF_TOPIC, HALF_QUEUE), 0)
        # Every op record from the op progress on: which half offsets are finished.
        done: dict[int, int] = {}  # half offset -> op queue offset
        cursor = op_offset
        while True:
            ops, next_offset = self._read(names.TRANS_OP_HALF_TOPIC, cursor)
            for op in ops:
                try:
                    done[int(op.body)] = op.queue_offset
                except ValueError:
                    log.warning("op record %d has a bad body %r", op.queue_offset, op.body[:40])
            if next_offset == cursor:
                break
            cursor = next_offset
        sent = 0
        timeout = ctx.broker.transaction_time_out
        # Half messages this pass writes (re-queued for the next check) wait for the next pass.
        _, limit = ctx.store.queue_offsets(names.TRANS_HALF_TOPIC, HALF_QUEUE) or (0, 0)
        stop = False
        while not stop:
            halves, next_offset = self._read(names.TRANS_HALF_TOPIC, half_offset)
            if not halves:
                half_offset = max(half_offset, next_offset)
                break
            for half in halves:
                if half.queue_offset >= limit:
                    stop = True
                    break
                if half.queue_offset in done:
                    half_offset = half.queue_offset + 1
                    continue
                immunity = half.properties.get(keys.CHECK_IMMUNITY_TIME_IN_SECONDS)
                wait_ms = int(immunity) * 1000 if immunity and immunity.isdigit() else timeout
                if now - half.born_timestamp < wait_ms:
                    stop = True  # later half messages are younger still
                    break
                times = int(half.properties.get(keys.TRANSACTION_CHECK_TIMES, "0") or 0)
                if times >= ctx.broker.transaction_check_max:
                    self._discard(half)
                elif not self._check(half, times + 1):
                    stop = True  # could not re-queue: try again next pass
                    break
                else:
                    sent += 1
                half_offset = half.queue_offset + 1
        ctx.offsets.commit(SYSTEM_GROUP, names.TRANS_HALF_TOPIC, HALF_QUEUE, half_offset)
        # Op records are consumed once the half messages they name are behind the progress.
        for op_queue_offset in sorted(o for h, o in done.items() if h < half_offset):
            if op_queue_offset != op_offset:
                break
            op_offset += 1
        ctx.offsets.commit(SYSTEM_GROUP, names.TRANS_OP_HALF_TOPIC, HALF_QUEUE, op_offset)
        self.checks_sent += sent
        return sent

    def _requeue(self, half: StoredMessage, topic: str, props: dict[str, str]) -> PutResult:
        message = MessageInput(
            topic,
            HALF_QUEUE,
            half.body,
            encode_properties(props).encode("utf-8"),
            half.flag,
            half.sys_flag,
            half.born_timestamp,
            host_bytes_or_zero(half.born_host),
            self._ctx.store_host,
            half.reconsume_times,
            0,
        )
        (result,) = self._ctx.store.put_nowait([message])
        return result

    def _discard(self, half: StoredMessage) -> None:
        log.warning("half message %d checked too often; moved to %s", half.queue_offset,
                    names.TRANS_CHECK_MAX_TIME_TOPIC)  # fmt: skip
        self._ctx.topics.create_retry(names.TRANS_CHECK_MAX_TIME_TOPIC, 1)
        self._requeue(half, names.TRANS_CHECK_MAX_TIME_TOPIC, dict(half.properties))

    def _check(self, half: StoredMessage, times: int) -> bool:
        ctx = self._ctx
        props = dict(half.properties)
        props[keys.TRANSACTION_CHECK_TIMES] = str(times)
        result = self._requeue(half, names.TRANS_HALF_TOPIC, props)
        if result.status is not PutStatus.PUT_OK:
            log.error("half message %d could not be re-queued: %s", half.queue_offset,
                      result.status.name)  # fmt: skip
            return False
        group = props.get(keys.PRODUCER_GROUP, "")
        channel = ctx.clients.producer_channel(group)
        if channel is None:
            log.info("no producer of group %s online to check half message %d", group,
                     result.queue_offset)  # fmt: skip
            return True
        uniq = props.get(keys.UNIQ_CLIENT_MESSAGE_ID_KEYIDX, "")
        header = {
            "tranStateTableOffset": str(result.queue_offset),
            "commitLogOffset": str(result.phy_offset),
            "msgId": uniq,
            "transactionId": uniq,
            "offsetMsgId": offset_msg_id(ctx.store_host, result.phy_offset),
        }
        record = ctx.store.read_record(result.phy_offset)
        if record is None:
            return True
        body = _as_real(record, props)
        try:
            channel.conn.oneway(request(RequestCode.CHECK_TRANSACTION_STATE, header, body,
                                        oneway=True))  # fmt: skip
        except Exception as exc:  # a producer gone mid-send is checked next pass
            log.info("check-back to %s failed: %s", channel.conn.peer, exc)
        return True


def _as_real(record: bytes, props: dict[str, str]) -> bytes:
    """The stored record re-encoded with its real topic and queue id, as the producer's
    check listener expects (Java sends the message as it will be delivered)."""
    topic = props.get(keys.REAL_TOPIC, "")
    queue_id = int(props.get(keys.REAL_QUEUE_ID, "0") or 0)
    return rewrite_topic(record, topic, queue_id)
