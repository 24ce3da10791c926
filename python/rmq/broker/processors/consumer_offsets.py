"""Consumer offsets and queue bounds: QUERY/UPDATE_CONSUMER_OFFSET, GET_MAX_OFFSET,
GET_MIN_OFFSET, GET_EARLIEST_MSG_STORETIME, SEARCH_OFFSET_BY_TIMESTAMP."""

import os
from typing import Final

from rmq.broker.context import BrokerContext
from rmq.common.codes import RequestCode, ResponseCode
from rmq.remoting.command import RemotingCommand
from rmq.remoting.connection import Connection
from rmq.remoting.dispatch import Dispatcher
from rmq.remoting.fields import required, required_int, required_long

#: Java treats data farther than this share of RAM behind the log head as "on disk".
_MEMORY: Final = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


class ConsumerOffsetProcessor:
    def __init__(self, ctx: BrokerContext) -> None:
        self._ctx = ctx

    def register(self, dispatcher: Dispatcher) -> None:
        table = {
            RequestCode.QUERY_CONSUMER_OFFSET: self.query,
            RequestCode.UPDATE_CONSUMER_OFFSET: self.update,
            RequestCode.GET_MAX_OFFSET: self.max_offset,
            RequestCode.GET_MIN_OFFSET: self.min_offset,
            RequestCode.GET_EARLIEST_MSG_STORETIME: self.earliest,
            RequestCode.SEARCH_OFFSET_BY_TIMESTAMP: self.search,
        }
        for code, handler in table.items():
            dispatcher.register(code, handler)

    def _bounds(self, topic: str, queue_id: int) -> tuple[int, int]:
        return self._ctx.store.queue_offsets(topic, queue_id) or (0, 0)

    def query(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        group = required(req, "consumerGroup")
        topic = required(req, "topic")
        queue_id = required_int(req, "queueId")
        offset = self._ctx.offsets.query(group, topic, queue_id)
        if offset >= 0:
            return req.answer(ext_fields={"offset": str(offset)})
        # Java: a group new to a queue whose first message is still in memory starts at 0.
        low, _ = self._bounds(topic, queue_id)
        _, log_max = self._ctx.store.commitlog_offsets()
        in_memory = (
            log_max <= _MEMORY * self._ctx.store_config.access_message_in_memory_max_ratio / 100
        )
        if low <= 0 and in_memory:
            return req.answer(ext_fields={"offset": "0"})
        return req.answer(
            ResponseCode.QUERY_NOT_FOUND,
            "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first",
        )

    def update(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        self._ctx.offsets.commit(
            required(req, "consumerGroup"),
            required(req, "topic"),
            required_int(req, "queueId"),
            required_long(req, "commitOffset"),
        )
        return req.answer()

    def max_offset(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        _, high = self._bounds(required(req, "topic"), required_int(req, "queueId"))
        return req.answer(ext_fields={"offset": str(high)})

    def min_offset(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        low, _ = self._bounds(required(req, "topic"), required_int(req, "queueId"))
        return req.answer(ext_fields={"offset": str(low)})

    def earliest(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        stamp = self._ctx.store.earliest_store_time(
            required(req, "topic"), required_int(req, "queueId")
        )
        return req.answer(ext_fields={"timestamp": str(stamp if stamp is not None else -1)})

    def search(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        offset = self._ctx.store.search_offset(
            required(req, "topic"), required_int(req, "queueId"), required_long(req, "timestamp")
        )
        return req.answer(ext_fields={"offset": str(offset)})
