"""Route and topic-config bodies shared by the NameServer, the broker and clients.

Java: ``TopicConfig``, ``QueueData``, ``BrokerData``, ``TopicRouteData``, ``DataVersion``,
``TopicConfigSerializeWrapper``, ``RegisterBrokerBody``. JSON field names are Java's.
"""

import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, Final

from rmq.common import fastjson
from rmq.common.perm import PERM_READ, PERM_WRITE

MASTER_ID: Final = 0
SINGLE_TAG: Final = "SINGLE_TAG"
MULTI_TAG: Final = "MULTI_TAG"
TOPIC_FILTER_TYPES: Final = frozenset({SINGLE_TAG, MULTI_TAG})


class BodyError(ValueError):
    """A request body that does not decode; the message says what is wrong."""


def _int(obj: dict[str, Any], key: str, default: int) -> int:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise BodyError(f"{key} is not an integer: {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class DataVersion:
    timestamp: int = 0
    counter: int = 0

    @classmethod
    def from_json(cls, obj: Any) -> "DataVersion":
        if not isinstance(obj, dict):
            raise BodyError("dataVersion is not an object")
        return cls(_int(obj, "timestamp", 0), _int(obj, "counter", 0))

    def to_json(self) -> dict[str, Any]:
        return {"counter": self.counter, "timestamp": self.timestamp}


@dataclass(frozen=True, slots=True)
class TopicConfig:
    topic_name: str
    read_queue_nums: int = 16
    write_queue_nums: int = 16
    perm: int = PERM_READ | PERM_WRITE
    topic_filter_type: str = SINGLE_TAG
    topic_sys_flag: int = 0
    order: bool = False

    @classmethod
    def from_json(cls, obj: Any) -> "TopicConfig":
        if not isinstance(obj, dict):
            raise BodyError("topic config is not an object")
        name = obj.get("topicName")
        if not isinstance(name, str) or not name:
            raise BodyError("topic config has no topicName")
        return cls(
            topic_name=name,
            read_queue_nums=_int(obj, "readQueueNums", 16),
            write_queue_nums=_int(obj, "writeQueueNums", 16),
            perm=_int(obj, "perm", PERM_READ | PERM_WRITE),
            topic_filter_type=str(obj.get("topicFilterType") or SINGLE_TAG),
            topic_sys_flag=_int(obj, "topicSysFlag", 0),
            order=bool(obj.get("order", False)),
        )

    @classmethod
    def from_compact(cls, text: str) -> "TopicConfig":
        """Java ``TopicConfig.encode``: ``name read write perm filterType``."""
        parts = text.split(" ")
        if len(parts) != 5 or not all(p.lstrip("-").isdigit() for p in parts[1:4]):
            raise BodyError(f"compact topic config {text!r} is not 'name r w perm type'")
        return cls(parts[0], int(parts[1]), int(parts[2]), int(parts[3]), parts[4])

    def to_json(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "perm": self.perm,
            "readQueueNums": self.read_queue_nums,
            "topicFilterType": self.topic_filter_type,
            "topicName": self.topic_name,
            "topicSysFlag": self.topic_sys_flag,
            "writeQueueNums": self.write_queue_nums,
        }


@dataclass(frozen=True, slots=True)
class QueueData:
    broker_name: str
    read_queue_nums: int
    write_queue_nums: int
    perm: int
    topic_sys_flag: int

    @classmethod
    def of(cls, broker_name: str, config: TopicConfig) -> "QueueData":
        return cls(
            broker_name,
            config.read_queue_nums,
            config.write_queue_nums,
            config.perm,
            config.topic_sys_flag,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "brokerName": self.broker_name,
            "perm": self.perm,
            "readQueueNums": self.read_queue_nums,
            "topicSysFlag": self.topic_sys_flag,
            "writeQueueNums": self.write_queue_nums,
        }


@dataclass(slots=True)
class BrokerData:
    cluster: str
    broker_name: str
    broker_addrs: dict[int, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        # Quoted ids ("0"): standard JSON, read by every client (fastjson, Go, C++).
        addrs = {str(k): v for k, v in sorted(self.broker_addrs.items())}
        return {"brokerAddrs": addrs, "brokerName": self.broker_name, "cluster": self.cluster}


@dataclass(frozen=True, slots=True)
class RegisterBrokerBody:
    data_version: DataVersion
    topic_configs: dict[str, TopicConfig]
    filter_servers: list[str] | None

    @classmethod
    def decode(cls, body: bytes | None, *, compressed: bool, bare: bool) -> "RegisterBrokerBody":
        """Decode a REGISTER_BROKER body; ``bare`` for senders older than V3_0_11."""
        if not body:
            return cls(DataVersion(), {}, None)
        if compressed:
            return cls._decode_compressed(body)
        try:
            obj = fastjson.loads(body)
        except ValueError as exc:
            raise BodyError(f"register body is not JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise BodyError("register body is not an object")
        wrapper = obj if bare else obj.get("topicConfigSerializeWrapper") or {}
        if not isinstance(wrapper, dict):
            raise BodyError("topicConfigSerializeWrapper is not an object")
        table = wrapper.get("topicConfigTable") or {}
        if not isinstance(table, dict):
            raise BodyError("topicConfigTable is not an object")
        configs = {}
        for value in table.values():
            config = TopicConfig.from_json(value)
            configs[config.topic_name] = config
        servers = None if bare else obj.get("filterServerList")
        if servers is not None and not isinstance(servers, list):
            raise BodyError("filterServerList is not a list")
        return cls(
            DataVersion.from_json(wrapper.get("dataVersion") or {}),
            configs,
            [str(s) for s in servers] if servers is not None else None,
        )

    @classmethod
    def _decode_compressed(cls, body: bytes) -> "RegisterBrokerBody":
        try:
            raw = zlib.decompress(body)
        except zlib.error as exc:
            raise BodyError(f"compressed register body does not inflate: {exc}") from None
        pos = 0

        def chunk() -> bytes:
            nonlocal pos
            if pos + 4 > len(raw):
                raise BodyError("compressed register body is truncated")
            (length,) = struct.unpack_from(">i", raw, pos)
            if length < 0 or pos + 4 + length > len(raw):
                raise BodyError("compressed register body has a bad length")
            pos += 4 + length
            return raw[pos - length : pos]

        version = DataVersion.from_json(fastjson.loads(chunk()))
        if pos + 4 > len(raw):
            raise BodyError("compressed register body is truncated")
        (count,) = struct.unpack_from(">i", raw, pos)
        pos += 4
        configs = {}
        for _ in range(max(count, 0)):
            config = TopicConfig.from_compact(chunk().decode())
            configs[config.topic_name] = config
        servers = fastjson.loads(chunk()) if pos < len(raw) else None
        if servers is not None and not isinstance(servers, list):
            raise BodyError("filterServerList is not a list")
        return cls(version, configs, [str(s) for s in servers] if servers is not None else None)

    def encode(self) -> bytes:
        return fastjson.dumps(
            {
                "filterServerList": self.filter_servers or [],
                "topicConfigSerializeWrapper": {
                    "dataVersion": self.data_version.to_json(),
                    "topicConfigTable": {k: v.to_json() for k, v in self.topic_configs.items()},
                },
            }
        )
