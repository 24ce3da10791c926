"""The two header encodings of a remoting command.

JSON (serialize type 0): fastjson's output, fields in alphabetical order, nulls omitted::

    {"code":0,"extFields":{"k":"v"},"flag":1,"language":"JAVA","opaque":42,
     "remark":"...","serializeTypeCurrentRPC":"JSON","version":407}

ROCKETMQ (serialize type 1), big-endian::

    0   int16  code          5  int32 opaque       13 int32 R, then R bytes remark
    2   int8   language      9  int32 flag         .. int32 E, then E bytes of entries:
    3   int16  version                                int16 klen, key, int32 vlen, value

A zero-length remark, key or value decodes as absent, as Java's reader does. Both decoders
raise :class:`HeaderError` and nothing else on any input.
"""

import struct
from typing import Final

import orjson

from rmq.common.codes import LanguageCode
from rmq.remoting.command import RemotingCommand, SerializeType


class HeaderError(ValueError):
    """A header that does not decode; the message says why."""


_LANGUAGE_NAMES: Final = {code.value: code.name for code in LanguageCode}
_LANGUAGE_BY_NAME: Final = {code.name: code.value for code in LanguageCode}
_SERIALIZE_NAMES: Final = {SerializeType.JSON: "JSON", SerializeType.ROCKETMQ: "ROCKETMQ"}
_FIXED: Final = struct.Struct(">hbhii")
_INT: Final = struct.Struct(">i")
_SHORT: Final = struct.Struct(">h")
_INT32_MIN: Final = -(2**31)
_INT32_MAX: Final = 2**31 - 1


def encode_json(cmd: RemotingCommand) -> bytes:
    header: dict[str, object] = {"code": cmd.code}
    if cmd.ext_fields:
        header["extFields"] = cmd.ext_fields
    header["flag"] = cmd.flag
    header["language"] = _LANGUAGE_NAMES.get(cmd.language, "JAVA")
    header["opaque"] = cmd.opaque
    if cmd.remark is not None:
        header["remark"] = cmd.remark
    header["serializeTypeCurrentRPC"] = _SERIALIZE_NAMES[cmd.serialize_type]
    header["version"] = cmd.version
    return orjson.dumps(header)


def _int_field(header: dict[str, object], name: str, default: int) -> int:
    value = header.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise HeaderError(f"header field {name} is not an integer: {value!r}")
    if not _INT32_MIN <= value <= _INT32_MAX:
        raise HeaderError(f"header field {name} is out of int32 range: {value}")
    return value


def _ext_value(value: object) -> str:
    # Java reads extFields as Map<String,String>; fastjson turns scalars into their text.
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise HeaderError(f"extFields value is not a scalar: {value!r}")


def decode_json(data: bytes) -> RemotingCommand:
    try:
        header = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise HeaderError(f"JSON header does not parse: {exc}") from None
    if not isinstance(header, dict):
        raise HeaderError("JSON header is not an object")
    if "code" not in header:
        raise HeaderError("JSON header has no code")
    language = header.get("language")
    remark = header.get("remark")
    if remark is not None and not isinstance(remark, str):
        raise HeaderError(f"header field remark is not a string: {remark!r}")
    raw_ext = header.get("extFields")
    ext: dict[str, str] | None = None
    if raw_ext is not None:
        if not isinstance(raw_ext, dict):
            raise HeaderError("extFields is not an object")
        ext = raw_ext
        # Clients send strings only; the per-value conversion is the rare path (a send
        # spent ~5 % of the broker's time converting values that were strings already).
        for value in raw_ext.values():
            if type(value) is not str:
                ext = {k: _ext_value(v) for k, v in raw_ext.items() if v is not None}
                break
    return RemotingCommand(
        code=_int_field(header, "code", 0),
        opaque=_int_field(header, "opaque", 0),
        flag=_int_field(header, "flag", 0),
        language=_LANGUAGE_BY_NAME.get(language, LanguageCode.OTHER)
        if isinstance(language, str)
        else LanguageCode.OTHER,
        version=_int_field(header, "version", 0),
        remark=remark,
        ext_fields=ext,
        serialize_type=SerializeType.JSON,
    )


def encode_binary(cmd: RemotingCommand) -> bytes:
    parts = [_FIXED.pack(cmd.code, cmd.language, cmd.version, cmd.opaque, cmd.flag)]
    if cmd.remark:
        remark = cmd.remark.encode()
        parts.append(_INT.pack(len(remark)))
        parts.append(remark)
    else:
        parts.append(_INT.pack(0))
    if cmd.ext_fields:
        entries = bytearray()
        for key, value in cmd.ext_fields.items():
            k = key.encode()
            v = value.encode()
            entries += _SHORT.pack(len(k))
            entries += k
            entries += _INT.pack(len(v))
            entries += v
        parts.append(_INT.pack(len(entries)))
        parts.append(bytes(entries))
    else:
        parts.append(_INT.pack(0))
    return b"".join(parts)


def _utf8(data: bytes, what: str) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise HeaderError(f"{what} is not UTF-8") from None


def decode_binary(data: bytes) -> RemotingCommand:
    size = len(data)
    if size < _FIXED.size + 8:
        raise HeaderError(f"binary header of {size} bytes is shorter than its fixed part")
    code, language, version, opaque, flag = _FIXED.unpack_from(data, 0)
    pos = _FIXED.size
    (remark_len,) = _INT.unpack_from(data, pos)
    pos += 4
    if remark_len < 0 or pos + remark_len + 4 > size:
        raise HeaderError(f"remark length {remark_len} runs past the header")
    remark = _utf8(data[pos : pos + remark_len], "remark") if remark_len else None
    pos += remark_len
    (ext_len,) = _INT.unpack_from(data, pos)
    pos += 4
    if ext_len < 0 or pos + ext_len != size:
        raise HeaderError(f"extFields length {ext_len} does not match the header")
    ext: dict[str, str] | None = None
    if ext_len:
        ext = {}
        end = pos + ext_len
        while pos < end:
            if pos + 2 > end:
                raise HeaderError("extFields entry truncated in its key length")
            (key_len,) = _SHORT.unpack_from(data, pos)
            pos += 2
            if key_len < 0 or pos + key_len + 4 > end:
                raise HeaderError(f"extFields key length {key_len} runs past the header")
            key = data[pos : pos + key_len]
            pos += key_len
            (value_len,) = _INT.unpack_from(data, pos)
            pos += 4
            if value_len < 0 or pos + value_len > end:
                raise HeaderError(f"extFields value length {value_len} runs past the header")
            value = data[pos : pos + value_len]
            pos += value_len
            if key_len and value_len:
                ext[_utf8(key, "extFields key")] = _utf8(value, "extFields value")
    return RemotingCommand(
        code=code,
        opaque=opaque,
        flag=flag,
        language=language if language in _LANGUAGE_NAMES else LanguageCode.OTHER,
        version=version,
        remark=remark,
        ext_fields=ext,
        serialize_type=SerializeType.ROCKETMQ,
    )
