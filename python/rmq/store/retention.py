"""When files may go (Java: CleanCommitLogService's policy). The engine measures the disk and
deletes; the local clock (is it ``deleteWhen`` o'clock?) is read here."""

import time
from dataclasses import dataclass
from datetime import datetime

from rmq.config.store import MessageStoreConfig

#: Java reads these from system properties of the same names; rmq uses Java's defaults.
DISK_WARNING_RATIO = 0.90  # rocketmq.broker.diskSpaceWarningLevelRatio
DISK_FORCE_CLEAN_RATIO = 0.85  # rocketmq.broker.diskSpaceCleanForciblyRatio
MAX_FILES_PER_PASS = 10  # deleteCommitLogFilesInterval batches of Java's cleaner


@dataclass(frozen=True, slots=True)
class CleanReport:
    disk_ratio: float
    disk_full: bool
    deleted_commitlog: int
    deleted_consume_queue: int
    deleted_index: int
    min_offset: int


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    reserved_ms: int
    delete_hours: frozenset[int]
    disk_max_used_ratio: float
    clean_forcibly: bool

    @classmethod
    def from_config(cls, config: MessageStoreConfig) -> "RetentionPolicy":
        # Java clamps diskMaxUsedSpaceRatio to [10, 95] whatever the file says.
        ratio = min(max(config.disk_max_used_space_ratio, 10), 95) / 100
        return cls(
            reserved_ms=config.file_reserved_time * 3600 * 1000,
            delete_hours=frozenset(int(h) for h in config.delete_when.split(";")),
            disk_max_used_ratio=ratio,
            clean_forcibly=config.clean_file_forcibly_enable,
        )

    def in_window(self, now: datetime | None = None) -> bool:
        """Is it one of the ``deleteWhen`` hours, local time (as Java's broker sees it)?"""
        return (now or datetime.now()).hour in self.delete_hours


def now_ms() -> int:
    return time.time_ns() // 1_000_000
