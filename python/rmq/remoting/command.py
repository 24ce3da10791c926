"""The remoting command: one request or response on the wire (Java: ``RemotingCommand``)."""

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final

from rmq.common.codes import LanguageCode, ResponseCode
from rmq.common.version import CURRENT_VERSION

#: ``flag`` bit 0: this command is a response.
FLAG_RESPONSE: Final = 1
#: ``flag`` bit 1: this request wants no response.
FLAG_ONEWAY: Final = 2


class SerializeType(IntEnum):
    """High byte of the header-length word: how the header is encoded."""

    JSON = 0
    ROCKETMQ = 1


@dataclass(slots=True)
class RemotingCommand:
    """A request or response. Header fields keep Java's names in ``ext_fields``."""

    code: int
    opaque: int = 0
    flag: int = 0
    language: int = LanguageCode.JAVA
    version: int = CURRENT_VERSION
    remark: str | None = None
    ext_fields: dict[str, str] | None = None
    body: bytes | None = None
    serialize_type: SerializeType = SerializeType.JSON
    #: ``time.monotonic()`` when the frame was read (not on the wire): how long a request
    #: waited before a handler saw it, which is what broker flow control measures.
    received_at: float = field(default=0.0, compare=False, repr=False)

    @property
    def is_response(self) -> bool:
        return self.flag & FLAG_RESPONSE == FLAG_RESPONSE

    @property
    def is_oneway(self) -> bool:
        return self.flag & FLAG_ONEWAY == FLAG_ONEWAY

    def field(self, name: str) -> str | None:
        """One header field, or None when absent."""
        ext = self.ext_fields
        return None if ext is None else ext.get(name)

    def answer(
        self,
        code: int = ResponseCode.SUCCESS,
        remark: str | None = None,
        ext_fields: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> "RemotingCommand":
        """The response to this request: same opaque and serialize type, response flag set."""
        return RemotingCommand(
            code=code,
            opaque=self.opaque,
            flag=FLAG_RESPONSE,
            remark=remark,
            ext_fields=ext_fields,
            body=body,
            serialize_type=self.serialize_type,
        )


@dataclass(slots=True)
class RequestIds:
    """Source of request ``opaque`` values, unique per process like Java's static counter."""

    _next: int = field(default=0)

    def next(self) -> int:
        self._next = (self._next + 1) & 0x7FFFFFFF
        return self._next


request_ids = RequestIds()


def request(
    code: int,
    ext_fields: dict[str, str] | None = None,
    body: bytes | None = None,
    *,
    oneway: bool = False,
    serialize_type: SerializeType = SerializeType.JSON,
) -> RemotingCommand:
    """A new request with a fresh opaque."""
    return RemotingCommand(
        code=code,
        opaque=request_ids.next(),
        flag=FLAG_ONEWAY if oneway else 0,
        ext_fields=ext_fields,
        body=body,
        serialize_type=serialize_type,
    )
