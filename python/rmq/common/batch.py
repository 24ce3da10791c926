"""The body of SEND_BATCH_MESSAGE (Java ``MessageDecoder.encodeMessages``): one element per
message with its flag, body and property string."""

import struct
from dataclasses import dataclass
from typing import Final

_HEAD: Final = struct.Struct(">iiiii")  # total, magic, crc, flag, body length


class BatchDecodeError(ValueError):
    """A batch body that does not hold whole elements."""


@dataclass(frozen=True, slots=True)
class BatchElement:
    flag: int
    body: bytes
    properties: str


def decode_batch(data: bytes) -> list[BatchElement]:
    out: list[BatchElement] = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < _HEAD.size + 2:
            raise BatchDecodeError(f"batch element at {pos} is cut short")
        total, _, _, flag, body_len = _HEAD.unpack_from(data, pos)
        end = pos + total
        body_at = pos + _HEAD.size
        if total < _HEAD.size + 2 or end > len(data) or body_len < 0:
            raise BatchDecodeError(f"batch element at {pos} has a bad size {total}")
        props_at = body_at + body_len
        if props_at + 2 > end:
            raise BatchDecodeError(f"batch element at {pos} has a bad body length {body_len}")
        (props_len,) = struct.unpack_from(">h", data, props_at)
        if props_at + 2 + props_len != end:
            raise BatchDecodeError(f"batch element at {pos} has a bad properties length")
        properties = data[props_at + 2 : end].decode("utf-8")
        out.append(BatchElement(flag, data[body_at:props_at], properties))
        pos = end
    return out


def encode_batch(elements: list[BatchElement]) -> bytes:
    """For clients and tests."""
    parts = []
    for e in elements:
        props = e.properties.encode("utf-8")
        total = _HEAD.size + len(e.body) + 2 + len(props)
        parts.append(_HEAD.pack(total, 0, 0, e.flag, len(e.body)) + e.body)
        parts.append(struct.pack(">h", len(props)) + props)
    return b"".join(parts)
