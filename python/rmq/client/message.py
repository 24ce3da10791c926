"""What a client sends and receives (Java: ``Message``, ``MessageExt``, ``MessageQueue``,
``SendResult``, ``PullResult``), with Java's property names behind snake_case accessors."""

from dataclasses import dataclass, field
from enum import Enum
from typing import Final

from rmq.common import fastjson
from rmq.common import property_keys as pk
from rmq.common.message import StoredMessage
from rmq.common.message_id import offset_msg_id

KEY_SEPARATOR: Final = " "


class MessageError(ValueError):
    """A message the client refuses to send (Java: ``MQClientException`` from Validators)."""


@dataclass(slots=True)
class Message:
    """A message to send. ``properties`` holds system and user properties alike, as Java's."""

    topic: str
    body: bytes
    tags: str | None = None
    keys: str | list[str] | None = None
    flag: int = 0
    properties: dict[str, str] = field(default_factory=dict)
    delay_time_level: int = 0
    wait_store_msg_ok: bool = True

    def __post_init__(self) -> None:
        if self.tags:
            self.properties[pk.TAGS] = self.tags
        if self.keys:
            joined = self.keys if isinstance(self.keys, str) else KEY_SEPARATOR.join(self.keys)
            self.properties[pk.KEYS] = joined
        if self.delay_time_level > 0:
            self.properties[pk.DELAY_TIME_LEVEL] = str(self.delay_time_level)
        if not self.wait_store_msg_ok:
            self.properties[pk.WAIT_STORE_MSG_OK] = "false"

    def put_user_property(self, name: str, value: str) -> None:
        if name in pk.SYSTEM_PROPERTIES:
            raise MessageError(f"The Property<{name}> is used by system, input another please")
        if not name or not value:
            raise MessageError("The name or value of property can not be null or blank string!")
        self.properties[name] = value

    def user_property(self, name: str) -> str | None:
        return self.properties.get(name)

    @property
    def unique_key(self) -> str | None:
        return self.properties.get(pk.UNIQ_CLIENT_MESSAGE_ID_KEYIDX)


@dataclass(frozen=True, slots=True, order=True)
class MessageQueue:
    topic: str
    broker_name: str
    queue_id: int

    def to_json(self) -> dict[str, object]:
        return {"brokerName": self.broker_name, "queueId": self.queue_id, "topic": self.topic}

    @classmethod
    def from_json(cls, obj: dict[str, object]) -> "MessageQueue":
        return cls(str(obj["topic"]), str(obj["brokerName"]), int(str(obj["queueId"])))

    @classmethod
    def from_key(cls, key: object) -> "MessageQueue":
        """A queue used as a map key in fastjson's text (``{{"brokerName":..}:v}``), as
        :func:`rmq.common.fastjson.loads` hands it back; ValueError if it is not one."""
        if isinstance(key, fastjson.ObjectKey):
            return cls.from_json(key.as_dict())
        parsed = fastjson.loads(key) if isinstance(key, str) else None
        if not isinstance(parsed, dict):
            raise ValueError(f"bad message queue key {key!r}")
        return cls.from_json(parsed)


@dataclass(slots=True)
class MessageExt:
    """A received message: the stored record plus the ids a consumer sees."""

    topic: str
    body: bytes
    properties: dict[str, str]
    queue_id: int
    queue_offset: int
    commit_log_offset: int
    msg_id: str
    offset_msg_id: str
    born_timestamp: int
    born_host: str
    store_timestamp: int
    store_host: str
    reconsume_times: int
    sys_flag: int
    flag: int
    body_crc: int
    broker_name: str = ""
    store_size: int = 0
    prepared_transaction_offset: int = 0

    @property
    def tags(self) -> str | None:
        return self.properties.get(pk.TAGS)

    @property
    def keys(self) -> str | None:
        return self.properties.get(pk.KEYS)

    def user_property(self, name: str) -> str | None:
        return self.properties.get(name)

    @classmethod
    def of(cls, stored: StoredMessage, store_host: bytes, broker_name: str = "",
           body: bytes | None = None, topic: str | None = None) -> "MessageExt":  # fmt: skip
        offset_id = offset_msg_id(store_host, stored.phy_offset)
        return cls(
            topic=stored.topic if topic is None else topic,
            body=stored.body if body is None else body,
            properties=stored.properties,
            queue_id=stored.queue_id,
            queue_offset=stored.queue_offset,
            commit_log_offset=stored.phy_offset,
            msg_id=stored.properties.get(pk.UNIQ_CLIENT_MESSAGE_ID_KEYIDX, offset_id),
            offset_msg_id=offset_id,
            born_timestamp=stored.born_timestamp,
            born_host=stored.born_host,
            store_timestamp=stored.store_timestamp,
            store_host=stored.store_host,
            reconsume_times=stored.reconsume_times,
            sys_flag=stored.sys_flag,
            flag=stored.flag,
            body_crc=stored.body_crc,
            broker_name=broker_name,
            store_size=stored.store_size,
            prepared_transaction_offset=stored.prepared_transaction_offset,
        )


class SendStatus(Enum):
    SEND_OK = "SEND_OK"
    FLUSH_DISK_TIMEOUT = "FLUSH_DISK_TIMEOUT"
    FLUSH_SLAVE_TIMEOUT = "FLUSH_SLAVE_TIMEOUT"
    SLAVE_NOT_AVAILABLE = "SLAVE_NOT_AVAILABLE"


@dataclass(frozen=True, slots=True)
class SendResult:
    send_status: SendStatus
    msg_id: str
    offset_msg_id: str
    message_queue: MessageQueue
    queue_offset: int
    transaction_id: str | None = None
    region_id: str = "DefaultRegion"
    trace_on: bool = True


class PullStatus(Enum):
    FOUND = "FOUND"
    NO_NEW_MSG = "NO_NEW_MSG"
    NO_MATCHED_MSG = "NO_MATCHED_MSG"
    OFFSET_ILLEGAL = "OFFSET_ILLEGAL"


@dataclass(frozen=True, slots=True)
class PullResult:
    pull_status: PullStatus
    next_begin_offset: int
    min_offset: int
    max_offset: int
    messages: list[MessageExt]
    suggest_which_broker_id: int = 0
