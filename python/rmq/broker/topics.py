"""The broker's topic table (Java: ``TopicConfigManager``): system topics, auto-creation from
the TBW102 template, retry topics, persisted to ``config/topics.json``."""

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rmq.broker.json_config import JsonConfigFile
from rmq.common import topic as names
from rmq.common.perm import PERM_INHERIT, PERM_READ, PERM_WRITE, is_inherited
from rmq.common.route import DataVersion, TopicConfig
from rmq.config.broker import BrokerConfig

log = logging.getLogger(__name__)

SCHEDULE_TOPIC_QUEUE_NUM = 18
REPLY_TOPIC_POSTFIX = "REPLY_TOPIC"


def next_version(version: DataVersion) -> DataVersion:
    return DataVersion(int(time.time() * 1000), version.counter + 1)


class TopicTable:
    def __init__(self, config: BrokerConfig, path: Path) -> None:
        self._config = config
        self._file = JsonConfigFile(path)
        self.topics: dict[str, TopicConfig] = {}
        self.data_version = DataVersion(int(time.time() * 1000), 0)
        self.system_topics: set[str] = set(names.SYSTEM_TOPICS)
        #: Called after a topic is created or changed (the broker re-registers at once).
        self.on_change: Callable[[], None] = lambda: None
        self._add_system_topics()

    def _system(self, config: TopicConfig) -> None:
        self.system_topics.add(config.topic_name)
        self.topics[config.topic_name] = config

    def _add_system_topics(self) -> None:
        c = self._config
        self._system(TopicConfig(names.SELF_TEST_TOPIC, 1, 1))
        if c.auto_create_topic_enable:
            n = c.default_topic_queue_nums
            self._system(
                TopicConfig(
                    names.AUTO_CREATE_TOPIC_KEY_TOPIC, n, n, PERM_INHERIT | PERM_READ | PERM_WRITE
                )
            )
        self._system(TopicConfig(names.BENCHMARK_TOPIC, 1024, 1024))
        cluster_perm = PERM_INHERIT | (PERM_READ | PERM_WRITE if c.cluster_topic_enable else 0)
        self._system(TopicConfig(c.broker_cluster_name, 16, 16, cluster_perm))
        broker_perm = PERM_INHERIT | (PERM_READ | PERM_WRITE if c.broker_topic_enable else 0)
        self._system(TopicConfig(c.broker_name, 1, 1, broker_perm))
        self._system(TopicConfig(names.OFFSET_MOVED_EVENT, 1, 1))
        self._system(
            TopicConfig(names.SCHEDULE_TOPIC, SCHEDULE_TOPIC_QUEUE_NUM, SCHEDULE_TOPIC_QUEUE_NUM)
        )
        if c.trace_topic_enable:
            self._system(TopicConfig(c.msg_trace_topic_name, 1, 1))
        self._system(TopicConfig(f"{c.broker_cluster_name}_{REPLY_TOPIC_POSTFIX}", 1, 1))

    def load(self) -> None:
        data = self._file.load()
        if data is None:
            return
        if not isinstance(data, dict):
            raise ValueError(f"{self._file.path}: not a JSON object")
        for name, raw in (data.get("topicConfigTable") or {}).items():
            self.topics[str(name)] = TopicConfig.from_json(raw)
        if "dataVersion" in data:
            self.data_version = DataVersion.from_json(data["dataVersion"])

    def persist(self) -> None:
        self._file.persist(self.to_json())

    def follow(self, data: dict[str, Any]) -> bool:
        """A slave takes its master's whole table (GET_ALL_TOPIC_CONFIG) when the master's
        data version differs from its own; True when it did."""
        version = DataVersion.from_json(data.get("dataVersion"))
        if version == self.data_version:
            return False
        raw = data.get("topicConfigTable") or {}
        self.topics = {str(name): TopicConfig.from_json(c) for name, c in raw.items()}
        self.data_version = version
        self.persist()
        self.on_change()
        return True

    def to_json(self) -> dict[str, Any]:
        return {
            "dataVersion": self.data_version.to_json(),
            "topicConfigTable": {k: v.to_json() for k, v in self.topics.items()},
        }

    def get(self, topic: str) -> TopicConfig | None:
        return self.topics.get(topic)

    def is_order_topic(self, topic: str) -> bool:
        config = self.topics.get(topic)
        return config is not None and config.order

    def _changed(self) -> None:
        self.data_version = next_version(self.data_version)
        self.persist()
        self.on_change()

    def put(self, config: TopicConfig) -> None:
        """Create or replace (UPDATE_AND_CREATE_TOPIC)."""
        self.topics[config.topic_name] = config
        self._changed()

    def delete(self, topic: str) -> bool:
        if self.topics.pop(topic, None) is None:
            return False
        self._changed()
        return True

    def create_for_send(
        self, topic: str, default_topic: str, client_queue_nums: int, topic_sys_flag: int
    ) -> TopicConfig | None:
        """Java ``createTopicInSendMessageMethod``: a new topic shaped by an inheritable
        template topic, or None when the template does not allow it."""
        existing = self.topics.get(topic)
        if existing is not None:
            return existing
        template = self.topics.get(default_topic)
        if template is None:
            return None
        perm = template.perm
        if default_topic == names.AUTO_CREATE_TOPIC_KEY_TOPIC and not (
            self._config.auto_create_topic_enable
        ):
            perm = PERM_READ | PERM_WRITE
        if not is_inherited(perm):
            return None
        queues = max(0, min(client_queue_nums, template.write_queue_nums))
        created = TopicConfig(
            topic,
            queues,
            queues,
            perm & ~PERM_INHERIT,
            template.topic_filter_type,
            topic_sys_flag,
        )
        log.info("auto-created topic %s from %s: %s", topic, default_topic, created)
        self.topics[topic] = created
        self._changed()
        return created

    def create_retry(self, topic: str, queue_nums: int, perm: int = PERM_READ | PERM_WRITE,
                     topic_sys_flag: int = 0) -> TopicConfig:  # fmt: skip
        """Java ``createTopicInSendMessageBackMethod`` (retry and DLQ topics)."""
        existing = self.topics.get(topic)
        if existing is not None:
            return existing
        created = TopicConfig(topic, queue_nums, queue_nums, perm, topic_sys_flag=topic_sys_flag)
        self.topics[topic] = created
        self._changed()
        return created
