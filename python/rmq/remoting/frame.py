"""Length-prefixed frames (Java: ``NettyEncoder``/``NettyDecoder``, ``RemotingCommand.encode``).

::

    0       4                 8              8+H            4+length
    +-------+-----------------+--------------+--------------+
    |length | type<<24 | H    | header (H)   | body         |
    +-------+-----------------+--------------+--------------+

``length`` counts everything after itself (4 + H + body), big-endian. The decoder is
incremental and raises :class:`FrameError` (and nothing else) on any bad input; the
caller closes that one connection.
"""

import struct
from typing import Final

from rmq.remoting.command import RemotingCommand, SerializeType
from rmq.remoting.header import (
    HeaderError,
    decode_binary,
    decode_json,
    encode_binary,
    encode_json,
)

#: Java's default ``com.rocketmq.remoting.frameMaxLength``: the whole frame, length field included.
DEFAULT_MAX_FRAME_LENGTH: Final = 16 * 1024 * 1024
_PREFIX: Final = struct.Struct(">ii")


class FrameError(ValueError):
    """A frame that cannot be decoded; the connection it came from must be closed."""


def encode(cmd: RemotingCommand) -> bytes:
    header = encode_json(cmd) if cmd.serialize_type is SerializeType.JSON else encode_binary(cmd)
    body = cmd.body or b""
    prefix = _PREFIX.pack(4 + len(header) + len(body), (cmd.serialize_type << 24) | len(header))
    return b"".join((prefix, header, body))


def decode_frame(frame: bytes) -> RemotingCommand:
    """Decode one frame without its 4-byte length field (header word, header, body)."""
    if len(frame) < 4:
        raise FrameError(f"frame of {len(frame)} bytes has no header length word")
    (word,) = struct.unpack_from(">I", frame, 0)
    serialize = word >> 24
    header_len = word & 0xFFFFFF
    if header_len > len(frame) - 4:
        raise FrameError(f"header length {header_len} exceeds frame of {len(frame)} bytes")
    header = frame[4 : 4 + header_len]
    try:
        if serialize == SerializeType.JSON:
            cmd = decode_json(header)
        elif serialize == SerializeType.ROCKETMQ:
            cmd = decode_binary(header)
        else:
            raise FrameError(f"unknown serialize type {serialize}")
    except HeaderError as exc:
        raise FrameError(str(exc)) from None
    body = frame[4 + header_len :]
    if body:
        cmd.body = body
    return cmd


class FrameDecoder:
    """Turns a byte stream into commands, one ``feed`` at a time."""

    __slots__ = ("_buffer", "_max_frame_length")

    def __init__(self, max_frame_length: int = DEFAULT_MAX_FRAME_LENGTH) -> None:
        self._buffer = bytearray()
        self._max_frame_length = max_frame_length

    @property
    def buffered(self) -> int:
        """Bytes held for a frame not yet complete (a truncated frame at close)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[RemotingCommand]:
        buffer = self._buffer
        buffer += data
        commands: list[RemotingCommand] = []
        pos = 0
        size = len(buffer)
        while size - pos >= 4:
            (length,) = struct.unpack_from(">i", buffer, pos)
            # Check the length before waiting for (or allocating) the frame it announces.
            if length < 4 or length + 4 > self._max_frame_length:
                raise FrameError(f"frame length {length} outside 4..{self._max_frame_length - 4}")
            end = pos + 4 + length
            if end > size:
                break
            commands.append(decode_frame(bytes(buffer[pos + 4 : end])))
            pos = end
        if pos:
            del buffer[:pos]
        return commands
