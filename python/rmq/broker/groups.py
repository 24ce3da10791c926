"""Subscription groups (Java: ``SubscriptionGroupManager``), persisted to
``config/subscriptionGroup.json``; created on first use when autoCreateSubscriptionGroup."""

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rmq.broker.json_config import JsonConfigFile
from rmq.broker.topics import next_version
from rmq.common.route import DataVersion

#: Groups Java's broker always has (tools, filter server, self test, ONS proxy, transactions).
SYSTEM_GROUPS = (
    "TOOLS_CONSUMER",
    "FILTERSRV_CONSUMER",
    "SELF_TEST_C_GROUP",
    "CID_ONS-HTTP-PROXY",
    "CID_ONSAPI_PULL",
    "CID_ONSAPI_PERMISSION",
    "CID_ONSAPI_OWNER",
    "CID_RMQ_SYS_TRANS",
)


@dataclass(frozen=True, slots=True)
class GroupConfig:
    group_name: str
    consume_enable: bool = True
    consume_from_min_enable: bool = True
    consume_broadcast_enable: bool = True
    retry_queue_nums: int = 1
    retry_max_times: int = 16
    broker_id: int = 0
    which_broker_when_consume_slowly: int = 1
    notify_consumer_ids_changed_enable: bool = True

    @classmethod
    def from_json(cls, obj: Any) -> "GroupConfig":
        if not isinstance(obj, dict) or not isinstance(obj.get("groupName"), str):
            raise ValueError("subscription group config needs a groupName")
        d = cls(obj["groupName"])

        def get(key: str, default: Any) -> Any:
            value = obj.get(key, default)
            return type(default)(value) if value is not None else default

        return cls(
            d.group_name,
            get("consumeEnable", d.consume_enable),
            get("consumeFromMinEnable", d.consume_from_min_enable),
            get("consumeBroadcastEnable", d.consume_broadcast_enable),
            get("retryQueueNums", d.retry_queue_nums),
            get("retryMaxTimes", d.retry_max_times),
            get("brokerId", d.broker_id),
            get("whichBrokerWhenConsumeSlowly", d.which_broker_when_consume_slowly),
            get("notifyConsumerIdsChangedEnable", d.notify_consumer_ids_changed_enable),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "brokerId": self.broker_id,
            "consumeBroadcastEnable": self.consume_broadcast_enable,
            "consumeEnable": self.consume_enable,
            "consumeFromMinEnable": self.consume_from_min_enable,
            "groupName": self.group_name,
            "notifyConsumerIdsChangedEnable": self.notify_consumer_ids_changed_enable,
            "retryMaxTimes": self.retry_max_times,
            "retryQueueNums": self.retry_queue_nums,
            "whichBrokerWhenConsumeSlowly": self.which_broker_when_consume_slowly,
        }


class GroupTable:
    def __init__(self, path: Path, *, auto_create: bool) -> None:
        self._file = JsonConfigFile(path)
        self._auto_create = auto_create
        self.groups: dict[str, GroupConfig] = {}
        self.data_version = DataVersion(int(time.time() * 1000), 0)
        for name in SYSTEM_GROUPS:
            self.groups[name] = GroupConfig(name)
        self.groups["CID_RMQ_SYS_TRANS"] = replace(
            self.groups["CID_RMQ_SYS_TRANS"], consume_broadcast_enable=False
        )

    def load(self) -> None:
        data = self._file.load()
        if data is None:
            return
        for raw in (data.get("subscriptionGroupTable") or {}).values():
            config = GroupConfig.from_json(raw)
            self.groups[config.group_name] = config
        if "dataVersion" in data:
            self.data_version = DataVersion.from_json(data["dataVersion"])

    def to_json(self) -> dict[str, Any]:
        return {
            "dataVersion": self.data_version.to_json(),
            "subscriptionGroupTable": {k: v.to_json() for k, v in self.groups.items()},
        }

    def persist(self) -> None:
        self._file.persist(self.to_json())

    def follow(self, data: dict[str, Any]) -> bool:
        """A slave takes its master's whole table when the data versions differ."""
        version = DataVersion.from_json(data.get("dataVersion"))
        if version == self.data_version:
            return False
        raw = data.get("subscriptionGroupTable") or {}
        configs = [GroupConfig.from_json(c) for c in raw.values()]
        self.groups = {c.group_name: c for c in configs}
        self.data_version = version
        self.persist()
        return True

    def find(self, group: str) -> GroupConfig | None:
        """The group, created with defaults on first use when auto-creation is on."""
        config = self.groups.get(group)
        if config is None and self._auto_create:
            config = GroupConfig(group)
            self.put(config)
        return config

    def put(self, config: GroupConfig) -> None:
        self.groups[config.group_name] = config
        self.data_version = next_version(self.data_version)
        self.persist()

    def delete(self, group: str) -> bool:
        if self.groups.pop(group, None) is None:
            return False
        self.data_version = next_version(self.data_version)
        self.persist()
        return True
