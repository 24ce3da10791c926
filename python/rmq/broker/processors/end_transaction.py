"""END_TRANSACTION: a producer commits or rolls back a half message (Java:
``EndTransactionProcessor``). Producers send it oneway, so errors reach the log first."""

import logging

from rmq.broker.context import BrokerContext
from rmq.broker.transactions import COMMIT_TYPE, ROLLBACK_TYPE, TransactionError, TransactionService
from rmq.common.codes import RequestCode, ResponseCode
from rmq.remoting.command import RemotingCommand
from rmq.remoting.connection import Connection
from rmq.remoting.dispatch import Dispatcher
from rmq.remoting.errors import RequestError
from rmq.remoting.fields import optional_bool, required, required_int, required_long
from rmq.store.results import PutStatus

log = logging.getLogger(__name__)


class EndTransactionProcessor:
    def __init__(self, ctx: BrokerContext, service: TransactionService) -> None:
        self._ctx = ctx
        self._service = service

    def register(self, dispatcher: Dispatcher) -> None:
        dispatcher.register(RequestCode.END_TRANSACTION, self.end)

    def end(self, conn: Connection, req: RemotingCommand) -> RemotingCommand | None:
        if self._ctx.is_slave:
            raise RequestError(
                ResponseCode.SLAVE_NOT_AVAILABLE,
                "Message store is slave mode, so end transaction is forbidden. ",
            )
        group = required(req, "producerGroup")
        table_offset = required_long(req, "tranStateTableOffset")
        commit_log_offset = required_long(req, "commitLogOffset")
        decision = required_int(req, "commitOrRollback")
        from_check = optional_bool(req, "fromTransactionCheck", False)
        if decision not in (COMMIT_TYPE, ROLLBACK_TYPE):
            # Unknown (0): the producer does not know yet; the check-back asks again.
            log.info("producer %s left transaction %s open (check=%s)", conn.peer,
                     req.field("msgId"), from_check)  # fmt: skip
            return None
        try:
            if decision == COMMIT_TYPE:
                result = self._service.commit(commit_log_offset, group, table_offset)
                if result.status is not PutStatus.PUT_OK:
                    raise RequestError(ResponseCode.SYSTEM_ERROR, result.status.name)
            else:
                self._service.rollback(commit_log_offset, group, table_offset)
        except TransactionError as exc:
            log.warning("END_TRANSACTION from %s refused: %s", conn.peer, exc)
            raise RequestError(ResponseCode.SYSTEM_ERROR, str(exc)) from None
        return req.answer()
