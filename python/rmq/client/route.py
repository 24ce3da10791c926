"""A topic's route as a client uses it (Java: ``TopicRouteData``, ``TopicPublishInfo``):
which brokers hold which queues, which of them a producer writes to and a consumer reads."""

from dataclasses import dataclass, replace
from typing import Any

from rmq.client.message import MessageQueue
from rmq.common.perm import is_readable, is_writeable
from rmq.common.route import BodyError

MASTER_ID = 0


@dataclass(frozen=True, slots=True)
class QueueInfo:
    broker_name: str
    read_queue_nums: int
    write_queue_nums: int
    perm: int
    topic_sys_flag: int


@dataclass(frozen=True, slots=True)
class BrokerInfo:
    cluster: str
    broker_name: str
    addrs: dict[int, str]

    @property
    def master_addr(self) -> str | None:
        return self.addrs.get(MASTER_ID)

    def select_addr(self) -> str | None:
        """The master, or any slave when it is gone (Java ``BrokerData.selectBrokerAddr``)."""
        if MASTER_ID in self.addrs:
            return self.addrs[MASTER_ID]
        return next(iter(sorted(self.addrs.items())), (0, None))[1]


@dataclass(frozen=True, slots=True)
class TopicRoute:
    topic: str
    queues: tuple[QueueInfo, ...]
    brokers: tuple[BrokerInfo, ...]
    order_topic_conf: str | None = None

    @classmethod
    def from_json(cls, topic: str, obj: Any) -> "TopicRoute":
        if not isinstance(obj, dict):
            raise BodyError("route body is not an object")
        try:
            queues = tuple(
                QueueInfo(
                    str(q["brokerName"]),
                    int(q["readQueueNums"]),
                    int(q["writeQueueNums"]),
                    int(q["perm"]),
                    int(q.get("topicSysFlag") or 0),
                )
                for q in obj.get("queueDatas") or ()
            )
            brokers = tuple(
                BrokerInfo(
                    str(b.get("cluster") or ""),
                    str(b["brokerName"]),
                    {int(k): str(v) for k, v in (b.get("brokerAddrs") or {}).items()},
                )
                for b in obj.get("brokerDatas") or ()
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BodyError(f"bad route of {topic}: {exc}") from None
        order = obj.get("orderTopicConf")
        return cls(topic, queues, brokers, str(order) if order else None)

    def as_topic(self, topic: str, queue_nums: int) -> "TopicRoute":
        """This (TBW102) route as a new topic's, at most ``queue_nums`` queues a broker:
        a first send creates the topic on the broker it reaches."""
        queues = tuple(replace(q, read_queue_nums=min(q.read_queue_nums, queue_nums),
                               write_queue_nums=min(q.write_queue_nums, queue_nums))
                       for q in self.queues)  # fmt: skip
        return replace(self, topic=topic, queues=queues)

    def broker(self, name: str) -> BrokerInfo | None:
        return next((b for b in self.brokers if b.broker_name == name), None)

    def publish_queues(self) -> list[MessageQueue]:
        """Writable queues of brokers with a live master, in Java's order."""
        out: list[MessageQueue] = []
        if self.order_topic_conf:
            # "brokerName:queueNums;..." from the NameServer's ORDER_TOPIC_CONFIG namespace.
            for item in self.order_topic_conf.split(";"):
                name, _, nums = item.partition(":")
                if name and nums.isdigit():
                    out.extend(MessageQueue(self.topic, name, i) for i in range(int(nums)))
            return out
        for q in sorted(self.queues, key=lambda q: q.broker_name):
            broker = self.broker(q.broker_name)
            if not is_writeable(q.perm) or broker is None or broker.master_addr is None:
                continue
            out.extend(
                MessageQueue(self.topic, q.broker_name, i) for i in range(q.write_queue_nums)
            )
        return out

    def subscribe_queues(self) -> list[MessageQueue]:
        out: list[MessageQueue] = []
        for q in self.queues:
            if is_readable(q.perm):
                out.extend(
                    MessageQueue(self.topic, q.broker_name, i) for i in range(q.read_queue_nums)
                )
        return sorted(out)
