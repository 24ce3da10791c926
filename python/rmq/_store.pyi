# Hand-written stub of the Rust extension; checked with `python -m mypy.stubtest rmq._store`.
from collections.abc import Sequence
from typing import Final, final

__all__ = [
    "ENGINE_VERSION",
    "GET_STATUS_NAMES",
    "PUT_STATUS_NAMES",
    "RaftNode",
    "SqlFilter",
    "Store",
    "StoreClosedError",
    "StoreConfigError",
    "StoreCorruptedError",
    "StoreError",
    "StoreLockedError",
    "StoreOutOfOrderError",
    "StorePoisonedError",
]

ENGINE_VERSION: Final[str]
PUT_STATUS_NAMES: Final[list[str]]
GET_STATUS_NAMES: Final[list[str]]

class StoreError(Exception): ...
class StoreLockedError(StoreError): ...
class StoreCorruptedError(StoreError): ...
class StorePoisonedError(StoreError): ...
class StoreClosedError(StoreError): ...
class StoreConfigError(StoreError): ...
class StoreOutOfOrderError(StoreError): ...

@final
class SqlFilter:
    def __new__(cls, tree: tuple[object, ...]) -> SqlFilter: ...
    def matches(self, properties: bytes) -> bool: ...

@final
class RaftNode:
    def __new__(
        cls,
        path: str,
        *,
        id: int,
        voters: list[int],
        election_tick: int = 10,
        heartbeat_tick: int = 2,
        applied: int = 0,
        sync: bool = False,
    ) -> RaftNode: ...
    def tick(self) -> bool: ...
    def step(self, message: bytes) -> None: ...
    def propose(self, data: bytes) -> bool: ...
    def campaign(self) -> None: ...
    def transfer_leader(self, to: int) -> None: ...
    def has_ready(self) -> bool: ...
    # (messages as (to, bytes), committed as (index, data), highest committed index)
    def ready(self) -> tuple[list[tuple[int, bytes]], list[tuple[int, bytes]], int]: ...
    # (leader id, term, role 0/1/2, commit index, last index)
    def status(self) -> tuple[int, int, int, int, int]: ...
    def compact(self, commitlog_min: int) -> int: ...
    def close(self) -> None: ...

@final
class Store:
    def __new__(
        cls,
        root: str,
        *,
        commitlog_dir: str | None = None,
        consume_queue_dir: str | None = None,
        commitlog_segment_size: int = 1073741824,
        consume_queue_segment_size: int = 6000000,
        max_message_size: int = 4194304,
        sync_flush: bool = False,
        flush_interval_ms: int = 500,
        flush_least_pages: int = 4,
        flush_thorough_interval_ms: int = 10000,
        flush_consume_queue_interval_ms: int = 1000,
        message_index_enable: bool = True,
        max_hash_slot_num: int = 5000000,
        max_index_num: int = 20000000,
    ) -> Store: ...
    # messages: (topic, queue_id, body, properties, flag, sys_flag, born_timestamp,
    #            born_host, store_host, reconsume_times, prepared_transaction_offset)
    def put(
        self,
        messages: Sequence[tuple[str, int, bytes, bytes, int, int, int, bytes, bytes, int, int]],
    ) -> list[tuple[int, int, int, int, int]]: ...
    def put_batch(
        self,
        body: bytes,
        topic: str,
        queue_id: int,
        sys_flag: int,
        born_timestamp: int,
        born_host: bytes,
        store_host: bytes,
        reconsume_times: int,
        shared: bytes,
        cluster: str,
    ) -> list[tuple[int, int, int, int, int]]: ...
    def get(
        self,
        topic: str,
        queue_id: int,
        offset: int,
        max_count: int,
        max_bytes: int,
        tags: set[int] | None = None,
    ) -> tuple[int, int, int, int, bytes, int]: ...
    def get_filtered(
        self,
        topic: str,
        queue_id: int,
        offset: int,
        max_count: int,
        max_bytes: int,
        selector: SqlFilter,
    ) -> tuple[int, int, int, int, bytes, int]: ...
    def read_record(self, phy_offset: int) -> bytes | None: ...
    def queue_offsets(self, topic: str, queue_id: int) -> tuple[int, int] | None: ...
    def take_moved_queues(self) -> list[tuple[str, int, int]]: ...
    def queue_units(
        self, topic: str, queue_id: int, index: int, count: int
    ) -> list[tuple[int, int, int]] | None: ...
    def commitlog_offsets(self) -> tuple[int, int]: ...
    def query_by_key(
        self, topic: str, key: str, max_count: int, begin: int = 0, end: int = ...
    ) -> list[bytes]: ...
    def search_offset(self, topic: str, queue_id: int, timestamp: int) -> int: ...
    def earliest_store_time(self, topic: str, queue_id: int) -> int | None: ...
    def read_commitlog(self, offset: int, max_bytes: int) -> bytes: ...
    def append_replicated(self, offset: int, data: bytes) -> int: ...
    def truncate_commitlog(self, offset: int) -> None: ...
    def set_dispatch_limit(self, limit: int | None) -> int: ...
    def clean(
        self,
        *,
        now_ms: int,
        reserved_ms: int,
        in_window: bool,
        manual: bool = False,
        disk_max_used_ratio: float = 0.75,
        force_ratio: float = 0.85,
        clean_forcibly: bool = True,
        warning_ratio: float = 0.90,
        max_files: int = 10,
    ) -> tuple[float, bool, int, int, int, int]: ...
    def progress(self) -> tuple[int, int, int, bool]: ...
    def wakeup_fd(self) -> int: ...
    def request_flush(self) -> None: ...
    def close(self) -> None: ...
