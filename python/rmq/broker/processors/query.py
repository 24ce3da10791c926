"""VIEW_MESSAGE_BY_ID and QUERY_MESSAGE (Java: ``QueryMessageProcessor``)."""

import asyncio

from rmq.broker.context import BrokerContext
from rmq.common.codes import RequestCode, ResponseCode
from rmq.remoting.command import RemotingCommand
from rmq.remoting.connection import Connection
from rmq.remoting.dispatch import Dispatcher
from rmq.remoting.errors import RequestError
from rmq.remoting.fields import required, required_int, required_long

UNIQUE_KEY_QUERY = "_UNIQUE_KEY_QUERY"


class QueryProcessor:
    def __init__(self, ctx: BrokerContext) -> None:
        self._ctx = ctx

    def register(self, dispatcher: Dispatcher) -> None:
        dispatcher.register(RequestCode.VIEW_MESSAGE_BY_ID, self.view_by_id)
        dispatcher.register(RequestCode.QUERY_MESSAGE, self.query_by_key)

    def view_by_id(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        offset = required_long(req, "offset")
        record = self._ctx.store.read_record(offset) if offset >= 0 else None
        if record is None:
            raise RequestError(
                ResponseCode.SYSTEM_ERROR, f"can not find message by the offset, {offset}"
            )
        return req.answer(body=record)

    async def query_by_key(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        topic = required(req, "topic")
        key = required(req, "key")
        max_num = required_int(req, "maxNum")
        begin = required_long(req, "beginTimestamp")
        end = required_long(req, "endTimestamp")
        store = self._ctx.store_config
        if (req.field(UNIQUE_KEY_QUERY) or "").lower() == "true":
            max_num = store.default_query_max_num
        max_num = max(0, min(max_num, store.max_msgs_num_batch))
        # Index lookups read random pages: keep them off the loop.
        records = await asyncio.to_thread(
            self._ctx.store.query_by_key, topic, key, max_num, begin, end
        )
        _, log_max = self._ctx.store.commitlog_offsets()
        ext = {"indexLastUpdateTimestamp": "0", "indexLastUpdatePhyoffset": str(log_max)}
        if not records:
            return req.answer(
                ResponseCode.QUERY_NOT_FOUND,
                "can not find message, maybe time range not correct",
                ext,
            )
        return req.answer(ext_fields=ext, body=b"".join(records))
