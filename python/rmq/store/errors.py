"""The engine's exceptions, re-exported; I/O failures arrive as OSError subclasses."""

from rmq._store import (
    StoreClosedError,
    StoreConfigError,
    StoreCorruptedError,
    StoreError,
    StoreLockedError,
    StoreOutOfOrderError,
    StorePoisonedError,
)

__all__ = [
    "StoreClosedError",
    "StoreConfigError",
    "StoreCorruptedError",
    "StoreError",
    "StoreLockedError",
    "StoreOutOfOrderError",
    "StorePoisonedError",
]
