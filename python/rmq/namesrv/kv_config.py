"""KV config namespaces kept by the NameServer (Java: ``KVConfigManager``).

Persisted to ``kvConfigPath`` (default ``~/namesrv/kvConfig.json``) as
``{"configTable":{namespace:{key:value}}}`` after every change, atomically: a crash leaves
either the old file or the new one, never half of one.
"""

import logging
from pathlib import Path

from rmq.common import fastjson
from rmq.common.atomic_file import write_atomically

log = logging.getLogger(__name__)


class KVConfigError(Exception):
    """The KV file exists but cannot be read; the NameServer must not start over it."""


class KVConfig:
    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self.table: dict[str, dict[str, str]] = {}

    def load(self) -> None:
        try:
            data = self._path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise KVConfigError(f"cannot read {self._path}: {exc.strerror}") from None
        if not data.strip():
            return
        try:
            obj = fastjson.loads(data)
            table = obj.get("configTable") or {}
            self.table = {
                str(ns): {str(k): str(v) for k, v in kv.items()} for ns, kv in table.items()
            }
        except (ValueError, AttributeError) as exc:
            raise KVConfigError(f"{self._path} is not a KV config file: {exc}") from None
        log.info("kv config loaded path=%s namespaces=%d", self._path, len(self.table))

    def _persist(self) -> None:
        write_atomically(self._path, fastjson.dumps({"configTable": self.table}))

    def put(self, namespace: str, key: str, value: str) -> None:
        self.table.setdefault(namespace, {})[key] = value
        self._persist()

    def get(self, namespace: str, key: str) -> str | None:
        return self.table.get(namespace, {}).get(key)

    def delete(self, namespace: str, key: str) -> None:
        kv = self.table.get(namespace)
        if kv is not None and kv.pop(key, None) is not None:
            if not kv:
                del self.table[namespace]
            self._persist()

    def namespace(self, namespace: str) -> dict[str, str] | None:
        kv = self.table.get(namespace)
        return dict(kv) if kv else None
