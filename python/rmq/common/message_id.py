"""Ids of stored messages: the broker's offset msgId (store host + commitlog offset) and the
Java ``String.hashCode`` that tags codes are made of."""

import functools
import socket
import struct


class MessageIdError(ValueError):
    """Text that is not an offset msgId."""


def host_bytes(addr: str) -> bytes:
    """``ip:port`` as the record's host field: 4 (or 16) address bytes + int32 port."""
    host, _, port = addr.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.inet_pton(family, host) + struct.pack(">i", int(port))


@functools.lru_cache(maxsize=4096)
def host_bytes_or_zero(addr: str) -> bytes:
    """:func:`host_bytes`, or eight zero bytes for an address that does not parse (a
    record still needs a host field); cached, since peers repeat."""
    try:
        return host_bytes(addr)
    except (ValueError, OSError):
        return bytes(8)


def offset_msg_id(store_host: bytes, phy_offset: int) -> str:
    """Java ``MessageDecoder.createMessageId``: uppercase hex of host, port and offset."""
    return (store_host + struct.pack(">q", phy_offset)).hex().upper()


def decode_offset_msg_id(msg_id: str) -> tuple[str, int]:
    """``(ip:port, commitlog offset)`` of an offset msgId (32 hex chars IPv4, 56 IPv6)."""
    try:
        raw = bytes.fromhex(msg_id)
    except ValueError:
        raise MessageIdError(f"msgId {msg_id!r} is not hex") from None
    if len(raw) == 16:
        host = socket.inet_ntop(socket.AF_INET, raw[:4])
    elif len(raw) == 28:
        host = f"[{socket.inet_ntop(socket.AF_INET6, raw[:16])}]"
    else:
        raise MessageIdError(f"msgId {msg_id!r} is neither 32 nor 56 hex characters")
    port, offset = struct.unpack(">iq", raw[-12:])
    return f"{host}:{port}", offset


def java_hash(text: str) -> int:
    """Java ``String.hashCode`` (UTF-16 code units, int32 wrap-around)."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h
