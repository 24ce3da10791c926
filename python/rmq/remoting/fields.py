"""Typed reads of request header fields (extFields), answering bad input with a clear remark.

Java parses header fields by declared type and leaves a bad one null (then usually fails
with a NullPointerException); rmq refuses the request instead, naming the field.
"""

from rmq.common.codes import ResponseCode
from rmq.remoting.command import RemotingCommand
from rmq.remoting.errors import RequestError

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


def required(cmd: RemotingCommand, name: str) -> str:
    value = cmd.field(name)
    if value is None:
        raise RequestError(ResponseCode.SYSTEM_ERROR, f"the header field {name} is missing")
    return value


def _parse_int(name: str, text: str, bounds: tuple[int, int]) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise RequestError(
            ResponseCode.SYSTEM_ERROR, f"the header field {name} is not an integer: {text!r}"
        ) from None
    if not bounds[0] <= value <= bounds[1]:
        raise RequestError(ResponseCode.SYSTEM_ERROR, f"the header field {name} is out of range")
    return value


def required_int(cmd: RemotingCommand, name: str) -> int:
    return _parse_int(name, required(cmd, name), _INT32)


def required_long(cmd: RemotingCommand, name: str) -> int:
    return _parse_int(name, required(cmd, name), _INT64)


def optional_int(cmd: RemotingCommand, name: str, default: int) -> int:
    value = cmd.field(name)
    return default if value is None else _parse_int(name, value, _INT32)


def optional_long(cmd: RemotingCommand, name: str, default: int) -> int:
    value = cmd.field(name)
    return default if value is None else _parse_int(name, value, _INT64)


def optional_bool(cmd: RemotingCommand, name: str, default: bool) -> bool:
    """Java's ``Boolean.parseBoolean``: "true" in any case is true, anything else false."""
    value = cmd.field(name)
    return default if value is None else value.strip().lower() == "true"
