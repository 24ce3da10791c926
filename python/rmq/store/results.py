"""Put and get outcomes (Java: ``PutMessageStatus``, ``GetMessageStatus``, their results)."""

from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple


class PutStatus(IntEnum):
    PUT_OK = 0
    FLUSH_DISK_TIMEOUT = 1
    FLUSH_SLAVE_TIMEOUT = 2
    SLAVE_NOT_AVAILABLE = 3
    SERVICE_NOT_AVAILABLE = 4
    CREATE_MAPEDFILE_FAILED = 5
    MESSAGE_ILLEGAL = 6
    PROPERTIES_SIZE_EXCEEDED = 7
    OS_PAGECACHE_BUSY = 8
    UNKNOWN_ERROR = 9


class GetStatus(IntEnum):
    FOUND = 0
    NO_MATCHED_MESSAGE = 1
    MESSAGE_WAS_REMOVING = 2
    OFFSET_FOUND_NULL = 3
    OFFSET_OVERFLOW_BADLY = 4
    OFFSET_OVERFLOW_ONE = 5
    OFFSET_TOO_SMALL = 6
    NO_MATCHED_LOGIC_QUEUE = 7
    NO_MESSAGE_IN_QUEUE = 8


class PutResult(NamedTuple):
    status: PutStatus
    phy_offset: int
    queue_offset: int
    size: int
    store_timestamp: int

    @property
    def next_offset(self) -> int:
        """Commitlog offset just past this message: what a flush must reach."""
        return self.phy_offset + self.size

    def with_status(self, status: PutStatus) -> "PutResult":
        return self._replace(status=status)


@dataclass(frozen=True, slots=True)
class GetResult:
    status: GetStatus
    next_begin_offset: int
    min_offset: int
    max_offset: int
    buffer: bytes
    count: int
