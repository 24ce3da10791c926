# Hand-written stub of the Rust extension; checked with `python -m mypy.stubtest rmq._store`.
from typing import Final

__all__ = ["ENGINE_VERSION"]

ENGINE_VERSION: Final[str]
