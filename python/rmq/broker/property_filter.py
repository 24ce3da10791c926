"""Pulls through a SQL92 subscription (Java: ``ExpressionMessageFilter.isMatchedByCommitLog``
inside ``DefaultMessageStore.getMessage``).

The store hands back whole records; the broker keeps those whose properties the selector
accepts and skips the others, scanning at most Java's 800 queue units per pull
(``maxFilterMessageCount`` 16000 bytes of 20-byte units). A scan that skips messages but
finds none answers NO_MATCHED_MESSAGE with the offset past what it read, so the consumer
moves on at once instead of waiting."""

from typing import Final

from rmq.common.message import EncodedProperties, record_properties_text
from rmq.filter.sql92 import Selector
from rmq.store.results import GetResult, GetStatus
from rmq.store.store import MessageStore

MAX_SCANNED_UNITS: Final = 16000 // 20
SCAN_BATCH: Final = 128


def get_matching(
    store: MessageStore,
    topic: str,
    queue_id: int,
    offset: int,
    max_count: int,
    max_bytes: int,
    selector: Selector,
) -> GetResult:
    # Read ahead: with a selective filter most of what is read is skipped.
    batch = max(max_count, SCAN_BATCH)
    first = store.get(topic, queue_id, offset, batch, max_bytes)
    if first.status != GetStatus.FOUND:
        return first
    kept: list[bytes] = []
    kept_bytes = 0
    cursor = offset
    result = first
    scanned = 0
    while True:
        buffer = result.buffer
        pos = 0
        while pos < len(buffer):
            size, queue_offset, text = record_properties_text(buffer, pos)
            if selector.matches(EncodedProperties(text)):
                if kept and kept_bytes + size > max_bytes:
                    return _found(result, kept, queue_offset)
                kept.append(buffer[pos : pos + size])
                kept_bytes += size
            cursor = queue_offset + 1
            scanned += 1
            pos += size
            if len(kept) >= max_count:
                return _found(result, kept, cursor)
        if scanned >= MAX_SCANNED_UNITS:
            break
        result = store.get(topic, queue_id, cursor, batch, max_bytes)
        if result.status != GetStatus.FOUND:
            break
    if kept:
        return _found(result, kept, cursor)
    return GetResult(
        GetStatus.NO_MATCHED_MESSAGE, cursor, result.min_offset, result.max_offset, b"", 0
    )


def _found(last: GetResult, kept: list[bytes], next_begin: int) -> GetResult:
    return GetResult(
        GetStatus.FOUND, next_begin, last.min_offset, last.max_offset, b"".join(kept), len(kept)
    )
