"""Client-side message ids, the UNIQ_KEY property (Java: ``MessageClientIDSetter``): host
address, pid, a per-process random value, milliseconds since the start of the month and a
counter, as 32 (IPv4) upper-case hex digits. Brokers and tools read the host and the time
back out of it, so the layout is Java's."""

import datetime
import ipaddress
import itertools
import os
import secrets
import struct
import threading
import time
from typing import Final

_COUNTER: Final = itertools.count(secrets.randbelow(65536))
_LOCK: Final = threading.Lock()


def _month_start_ms(now_ms: int) -> tuple[int, int]:
    """(start of the local month, start of the next one) in ms."""
    now = datetime.datetime.fromtimestamp(now_ms / 1000).astimezone()
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + datetime.timedelta(days=32)).replace(day=1)
    return int(start.timestamp() * 1000), int(following.timestamp() * 1000)


class UniqueIdGenerator:
    def __init__(self, client_ip: str) -> None:
        try:
            ip = ipaddress.ip_address(client_ip).packed
        except ValueError:
            ip = b"\x7f\x00\x00\x01"
        fixed = ip + struct.pack(">hi", os.getpid() & 0x7FFF, secrets.randbits(31))
        self._prefix = fixed.hex().upper()
        self._start = 0
        self._next_start = 0

    def next_id(self) -> str:
        now = int(time.time() * 1000)
        with _LOCK:
            if now >= self._next_start:
                self._start, self._next_start = _month_start_ms(now)
            diff = max(0, now - self._start)
            counter = next(_COUNTER) & 0xFFFF
        return self._prefix + struct.pack(">IH", diff & 0xFFFFFFFF, counter).hex().upper()
