"""Stored message records as they travel in pull, query and view bodies (Java:
``MessageDecoder``): the same bytes as a CommitLog record, see rust/src/codec/record.rs.

Decoding is for clients, admin tools and tests; the broker hands records through as bytes.
"""

import struct
from dataclasses import dataclass
from typing import Final

NAME_VALUE_SEPARATOR: Final = "\x01"
PROPERTY_SEPARATOR: Final = "\x02"
BORNHOST_V6_FLAG: Final = 0x10
STOREHOST_V6_FLAG: Final = 0x20
_FIXED: Final = struct.Struct(">iiiiiqqiq")  # size, magic, crc, queueId, flag, qoff, phy, sys, born


class MessageDecodeError(ValueError):
    """Bytes that are not a stored message record."""


def decode_properties(text: str) -> dict[str, str]:
    """``name 0x01 value 0x02 ...``; a trailing 0x02 is accepted (4.9.0 writers)."""
    out: dict[str, str] = {}
    for pair in text.split(PROPERTY_SEPARATOR):
        name, sep, value = pair.partition(NAME_VALUE_SEPARATOR)
        if sep and name and value:
            out[name] = value
    return out


def encode_properties(props: dict[str, str]) -> str:
    """4.9.1+ form: no trailing separator."""
    return PROPERTY_SEPARATOR.join(f"{k}{NAME_VALUE_SEPARATOR}{v}" for k, v in props.items())


def _host(data: bytes, pos: int, v6: bool) -> tuple[str, int]:
    if v6:
        raw = data[pos : pos + 16]
        addr = ":".join(f"{raw[i] << 8 | raw[i + 1]:x}" for i in range(0, 16, 2))
        (port,) = struct.unpack_from(">i", data, pos + 16)
        return f"[{addr}]:{port}", pos + 20
    (port,) = struct.unpack_from(">i", data, pos + 4)
    return ".".join(str(b) for b in data[pos : pos + 4]) + f":{port}", pos + 8


@dataclass(frozen=True, slots=True)
class StoredMessage:
    store_size: int
    body_crc: int
    queue_id: int
    flag: int
    queue_offset: int
    phy_offset: int
    sys_flag: int
    born_timestamp: int
    born_host: str
    store_timestamp: int
    store_host: str
    reconsume_times: int
    prepared_transaction_offset: int
    body: bytes
    topic: str
    properties: dict[str, str]

    @property
    def tags(self) -> str | None:
        return self.properties.get("TAGS")

    @property
    def keys(self) -> list[str]:
        return [k for k in self.properties.get("KEYS", "").split(" ") if k]

    @property
    def uniq_key(self) -> str | None:
        return self.properties.get("UNIQ_KEY")


def decode_record(data: bytes, pos: int = 0) -> StoredMessage:
    try:
        size, _magic, crc, queue_id, flag, qoff, phy, sys_flag, born_ts = _FIXED.unpack_from(
            data, pos
        )
        at = pos + _FIXED.size
        born_host, at = _host(data, at, bool(sys_flag & BORNHOST_V6_FLAG))
        (store_ts,) = struct.unpack_from(">q", data, at)
        store_host, at = _host(data, at + 8, bool(sys_flag & STOREHOST_V6_FLAG))
        reconsume, prepared, body_len = struct.unpack_from(">iqi", data, at)
        at += 16
        body = data[at : at + body_len]
        at += body_len
        topic_len = data[at]
        topic = data[at + 1 : at + 1 + topic_len].decode()
        at += 1 + topic_len
        (props_len,) = struct.unpack_from(">h", data, at)
        props = data[at + 2 : at + 2 + props_len].decode()
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise MessageDecodeError(f"bad record at {pos}: {exc}") from None
    if at + 2 + props_len - pos != size:
        raise MessageDecodeError(f"record at {pos}: fields do not add up to its size {size}")
    return StoredMessage(size, crc, queue_id, flag, qoff, phy, sys_flag, born_ts, born_host,
                         store_ts, store_host, reconsume, prepared, body, topic,
                         decode_properties(props))  # fmt: skip


_HEAD: Final = struct.Struct(">i16xq8xi")  # size, queue offset, sysflag
_INT: Final = struct.Struct(">i")
_SHORT: Final = struct.Struct(">h")


def record_properties(data: bytes, pos: int = 0) -> tuple[int, int, dict[str, str]]:
    """Size, queue offset and properties of the record at ``pos``, without decoding the
    rest: what a broker needs to evaluate a property filter on every pulled message."""
    size, queue_offset, text = record_properties_text(data, pos)
    return size, queue_offset, decode_properties(text)


def record_properties_text(data: bytes, pos: int = 0) -> tuple[int, int, str]:
    """As :func:`record_properties`, with the properties still in their encoded form."""
    try:
        size, queue_offset, sys_flag = _HEAD.unpack_from(data, pos)
        at = pos + _FIXED.size + (20 if sys_flag & BORNHOST_V6_FLAG else 8) + 8
        at += (20 if sys_flag & STOREHOST_V6_FLAG else 8) + 12
        at += 4 + _INT.unpack_from(data, at)[0]
        at += 1 + data[at]
        (props_len,) = _SHORT.unpack_from(data, at)
        text = data[at + 2 : at + 2 + props_len].decode()
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise MessageDecodeError(f"bad record at {pos}: {exc}") from None
    return size, queue_offset, text


def rewrite_topic(record: bytes, topic: str, queue_id: int) -> bytes:
    """One stored record with another topic and queue id (total size adjusted): how a
    broker shows a half or scheduled message as it will be delivered."""
    try:
        sys_flag = struct.unpack_from(">i", record, 36)[0]
        at = _FIXED.size
        at += 20 if sys_flag & BORNHOST_V6_FLAG else 8
        at += 8
        at += 20 if sys_flag & STOREHOST_V6_FLAG else 8
        at += 12
        (body_len,) = struct.unpack_from(">i", record, at)
        at += 4 + body_len
        old_len = record[at]
    except (struct.error, IndexError) as exc:
        raise MessageDecodeError(f"bad record: {exc}") from None
    name = topic.encode()
    if len(name) > 255:
        raise MessageDecodeError(f"topic {topic!r} is too long for a record")
    out = bytearray(record[:at])
    out += bytes([len(name)]) + name + record[at + 1 + old_len :]
    struct.pack_into(">i", out, 0, len(out))
    struct.pack_into(">i", out, 12, queue_id)
    return bytes(out)


def decode_records(buffer: bytes) -> list[StoredMessage]:
    """Every record of a pull/query body, in order."""
    out = []
    pos = 0
    while pos < len(buffer):
        message = decode_record(buffer, pos)
        out.append(message)
        pos += message.store_size
    return out
