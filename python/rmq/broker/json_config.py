"""The broker's JSON config files under ``storePathRootDir/config`` (Java: ``ConfigManager``):
written atomically with the previous version kept as ``.bak``; a file that does not parse is
reported and its ``.bak`` is read instead."""

import logging
import shutil
from pathlib import Path
from typing import Any

from rmq.common import fastjson
from rmq.common.atomic_file import write_atomically

log = logging.getLogger(__name__)


class ConfigFileError(ValueError):
    """Neither the file nor its backup could be read."""


class JsonConfigFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Any | None:
        """The parsed file, its backup when the file is damaged, or None when neither exists."""
        backup = self.path.with_name(self.path.name + ".bak")
        for candidate in (self.path, backup):
            if not candidate.exists():
                continue
            try:
                text = candidate.read_bytes()
                if not text.strip():
                    continue
                return fastjson.loads(text)
            except (OSError, ValueError) as exc:
                log.error("config file %s is unreadable (%s); trying its backup", candidate, exc)
        if self.path.exists() and self.path.read_bytes().strip():
            raise ConfigFileError(f"{self.path} and {backup} are both unreadable")
        return None

    def persist(self, value: Any) -> None:
        data = fastjson.dumps(value)
        if self.path.exists():
            shutil.copyfile(self.path, self.path.with_name(self.path.name + ".bak"))
        write_atomically(self.path, data)
