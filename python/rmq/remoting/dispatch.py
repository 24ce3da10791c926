"""The request-code table: which handler answers which code.

A handler gets the connection and the request and returns the response, None (oneway or
no answer), or an awaitable of either. Plain functions run inline on the reader path,
which keeps cheap lookups (routes, KV) free of task overhead; coroutines get a task.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeAlias

from rmq.common.codes import ResponseCode
from rmq.remoting.command import RemotingCommand
from rmq.remoting.errors import RequestError

if TYPE_CHECKING:
    from rmq.remoting.connection import Connection

log = logging.getLogger(__name__)

HandlerResult: TypeAlias = RemotingCommand | Awaitable[RemotingCommand | None] | None
Handler: TypeAlias = Callable[["Connection", RemotingCommand], HandlerResult]


class Dispatcher:
    __slots__ = ("_handlers",)

    def __init__(self) -> None:
        self._handlers: dict[int, Handler] = {}

    def register(self, code: int, handler: Handler) -> None:
        if code in self._handlers:
            raise ValueError(f"request code {code} registered twice")
        self._handlers[code] = handler

    def codes(self) -> frozenset[int]:
        return frozenset(self._handlers)

    def dispatch(self, conn: "Connection", request: RemotingCommand) -> HandlerResult:
        handler = self._handlers.get(request.code)
        if handler is None:
            return request.answer(
                ResponseCode.REQUEST_CODE_NOT_SUPPORTED,
                f" request type {request.code} not supported",
            )
        try:
            return handler(conn, request)
        except RequestError as exc:
            return request.answer(exc.code, exc.remark)
        except Exception as exc:
            log.exception("request failed code=%d peer=%s", request.code, conn.peer)
            return request.answer(ResponseCode.SYSTEM_ERROR, f"{type(exc).__name__}: {exc}")
