"""Loading one process's settings from flags, a properties file, env and defaults.

Bad input is refused before anything is bound or written: a bad value raises
:class:`ConfigError` with one line naming the key, the value and where it came from; an
unknown key is a warning naming it (Java ignores those silently).
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from pydantic import ValidationError

from rmq.config.properties import Entry, PropertiesError, read_properties
from rmq.config.settings import JavaSettings, file_values

log = logging.getLogger(__name__)

S = TypeVar("S", bound=JavaSettings)

#: The keys ``-m`` prints (Java's ``@ImportantField``s of the broker's config classes).
IMPORTANT_KEYS: Final = frozenset(
    {
        "namesrvAddr", "brokerIP1", "brokerName", "brokerClusterName", "brokerId",
        "autoCreateTopicEnable", "autoCreateSubscriptionGroup", "msgTraceTopicName",
        "traceTopicEnable", "rejectTransactionMessage", "fetchNamesrvAddrByAddressServer",
        "transactionTimeOut", "transactionCheckMax", "transactionCheckInterval", "aclEnable",
        "storePathRootDir", "storePathCommitLog", "storePathDLedgerCommitLog",
        "flushIntervalCommitLog", "commitIntervalCommitLog", "flushCommitLogTimed",
        "deleteWhen", "fileReservedTime", "maxTransferBytesOnMessageInMemory",
        "maxTransferCountOnMessageInMemory", "maxTransferBytesOnMessageInDisk",
        "maxTransferCountOnMessageInDisk", "accessMessageInMemoryMaxRatio",
        "messageIndexEnable", "messageIndexSafe", "haMasterAddress", "brokerRole",
        "flushDiskType", "cleanFileForciblyEnable", "transientStorePoolEnable", "listenPort",
    }
)  # fmt: skip


class ConfigError(Exception):
    """A configuration that must not start a process; ``str()`` is the one line to print."""


@dataclass(frozen=True, slots=True)
class ConfigInput:
    """The raw inputs of one process's configuration."""

    path: str | None = None
    entries: Mapping[str, Entry] = field(default_factory=dict)
    flags: Mapping[str, str] = field(default_factory=dict)
    process_defaults: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def read(
        cls,
        path: str | None,
        flags: Mapping[str, str] | None = None,
        process_defaults: Mapping[str, str] | None = None,
    ) -> "ConfigInput":
        try:
            entries = read_properties(path) if path else {}
        except PropertiesError as exc:
            raise ConfigError(f"config error: {exc}") from None
        return cls(path, entries, dict(flags or {}), dict(process_defaults or {}))

    def origin(self, key: str) -> str:
        if key in self.flags:
            return "the command line"
        entry = self.entries.get(key)
        if entry is not None:
            return f"{self.path}:{entry.line}"
        return "the defaults"

    def warnings(self, models: Sequence[type[JavaSettings]]) -> list[str]:
        known: set[str] = set()
        legacy: dict[str, str] = {}
        for model in models:
            known |= model.known_keys()
            for key, olds in model.legacy_keys.items():
                for old in olds:
                    legacy[old] = key
        out = []
        for key, entry in self.entries.items():
            if key not in known:
                out.append(f"unknown config key {key!r} at {self.path}:{entry.line} is ignored")
            elif key in legacy:
                out.append(
                    f"config key {key!r} at {self.path}:{entry.line} is the old spelling of "
                    f"{legacy[key]!r}; rmq reads it as {legacy[key]!r}"
                )
        return out

    def build(self, model: type[S]) -> S:
        values = {**self.process_defaults, **{k: e.value for k, e in self.entries.items()}}
        known = model.known_keys()
        flags: dict[str, Any] = {k: v for k, v in self.flags.items() if k in known}
        try:
            with file_values(values):
                return model(**flags)
        except ValidationError as exc:
            raise ConfigError(self._describe(exc, values)) from None

    def _describe(self, exc: ValidationError, values: Mapping[str, str]) -> str:
        error = exc.errors()[0]
        key = str(error["loc"][0]) if error["loc"] else "?"
        value = self.flags.get(key, values.get(key, error.get("input")))
        return f"config error: {key}={value!r} from {self.origin(key)}: {error['msg']}"


def print_settings(models: Sequence[JavaSettings], *, important_only: bool = False) -> str:
    """The ``key=value`` listing of ``-p`` (every key) and ``-m`` (the important ones)."""
    lines = []
    for model in models:
        for key, value in model.to_java_properties().items():
            if not important_only or key in IMPORTANT_KEYS:
                lines.append(f"{key}={value}")
    return "\n".join(lines)
