"""The base of every settings model, and where precedence lives.

Each model keeps RocketMQ's key names as aliases (``listenPort``) over snake_case fields.
Values come, highest first, from: command-line flags (passed as init kwargs), the
``-c`` properties file, the environment variables Java reads (``NAMESRV_ADDR``,
``ROCKETMQ_HOME``), then the defaults. That order is stated once, in
:meth:`JavaSettings.settings_customise_sources`.
"""

import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Final

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

CPUS: Final = os.cpu_count() or 1

#: Environment variables Java reads as the default of a key.
JAVA_ENV_DEFAULTS: Final = {"namesrvAddr": "NAMESRV_ADDR", "rocketmqHome": "ROCKETMQ_HOME"}

_FILE_VALUES: ContextVar[Mapping[str, str]] = ContextVar(
    "rmq_config_file_values", default=MappingProxyType({})
)


def local_address() -> str:
    """The address other hosts reach us at, as Java's ``RemotingUtil.getLocalAddress``.

    Prefers a non-loopback IPv4 address of the host name, then the address of the
    interface used for outbound traffic, then loopback.
    """
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            addr = str(info[4][0])
            if not addr.startswith("127."):
                return addr
    except OSError:
        pass
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            # connect() on UDP sends nothing; it only selects the outbound interface.
            probe.connect(("192.0.2.1", 9))
            return str(probe.getsockname()[0])
    except OSError:
        return "127.0.0.1"


def home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def default_store_root() -> str:
    return str(home() / "store")


def default_kv_config_path() -> str:
    return str(home() / "namesrv" / "kvConfig.json")


def default_namesrv_config_path() -> str:
    return str(home() / "namesrv" / "namesrv.properties")


class _FileSource(PydanticBaseSettingsSource):
    """Values from the properties file being loaded (see :func:`file_values`)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values = _FILE_VALUES.get()
        out: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            for key in (
                field.alias or name,
                *getattr(self.settings_cls, "legacy_keys", {}).get(field.alias or name, ()),
            ):
                if key in values:
                    out[field.alias or name] = values[key]
        return out


class _JavaEnvSource(PydanticBaseSettingsSource):
    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            key = field.alias or name
            env = JAVA_ENV_DEFAULTS.get(key)
            if env is not None and os.environ.get(env):
                out[key] = os.environ[env]
        return out


class JavaSettings(BaseSettings):
    """Base of the settings models: Java key names, strict values, fixed precedence."""

    model_config = SettingsConfigDict(
        populate_by_name=True,
        extra="ignore",
        validate_assignment=True,
        str_strip_whitespace=True,
    )

    #: Older or misspelt keys that RocketMQ users have in their files: key -> legacy keys.
    legacy_keys: ClassVar[dict[str, tuple[str, ...]]] = {}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # flags > file > Java's environment defaults > field defaults
        return (init_settings, _FileSource(settings_cls), _JavaEnvSource(settings_cls))

    @classmethod
    def known_keys(cls) -> set[str]:
        keys = {field.alias or name for name, field in cls.model_fields.items()}
        for legacy in cls.legacy_keys.values():
            keys.update(legacy)
        return keys

    def to_java_properties(self, *, skip_unset: bool = False) -> dict[str, str]:
        """Every setting under its Java key, as text (for ``-p`` and GET_*_CONFIG).

        ``skip_unset`` leaves out settings with no value, for files read back later: an
        empty value there would be read as an empty path, not as "unset"."""
        out: dict[str, str] = {}
        for key, value in self.model_dump(by_alias=True, mode="json").items():
            if value is None:
                if not skip_unset:
                    out[key] = ""
            elif isinstance(value, bool):
                out[key] = "true" if value else "false"
            else:
                out[key] = str(value)
        return out


@contextmanager
def file_values(values: Mapping[str, str]) -> Iterator[None]:
    """Make ``values`` the properties file that models built inside this block read."""
    token = _FILE_VALUES.set(values)
    try:
        yield
    finally:
        _FILE_VALUES.reset(token)
