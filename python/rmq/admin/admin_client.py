"""The requests mqadmin's commands make (Java: ``DefaultMQAdminExt`` over
``MQClientAPIImpl``), against the NameServers and brokers, over rmq.remoting."""

import random
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from rmq.client.message import MessageQueue
from rmq.client.route import TopicRoute
from rmq.common import fastjson
from rmq.common.codes import RequestCode, ResponseCode
from rmq.common.fastjson import java_hashmap_order, java_message_queue_hash
from rmq.common.message_id import MessageIdError, decode_offset_msg_id
from rmq.common.perm import is_readable
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import RemotingCommand, request
from rmq.remoting.errors import RemotingError


class AdminError(Exception):
    """A request the servers refused or that could not reach them; one line for the user."""

    def __init__(self, message: str, code: int = -1, remark: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.remark = remark


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    #: broker name -> (cluster, {broker id: address})
    brokers: dict[str, tuple[str, dict[int, str]]]
    #: cluster -> broker names
    clusters: dict[str, list[str]]

    def master_addrs(self, cluster: str) -> list[str]:
        out: list[str] = []
        for name in self.clusters.get(cluster, []):
            addr = self.brokers.get(name, ("", {}))[1].get(0)
            if addr:
                out.append(addr)
        return out

    def all_addrs(self, cluster: str) -> list[str]:
        out: list[str] = []
        for name in self.clusters.get(cluster, []):
            out.extend(addr for _, addr in sorted(self.brokers.get(name, ("", {}))[1].items()))
        return out

    def broker_name_of(self, addr: str) -> str | None:
        for name, (_, addrs) in self.brokers.items():
            if addr in addrs.values():
                return name
        return None

    def cluster_of(self, broker_name: str) -> str | None:
        return next((c for c, names in self.clusters.items() if broker_name in names), None)


def properties_text(values: dict[str, str]) -> bytes:
    return "".join(f"{k}={v}\n" for k, v in values.items()).encode()


def parse_properties(body: bytes | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in (body or b"").decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "!")):
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = value.strip()
    return out


_PULL_STATUS: Final[dict[int, str]] = {
    ResponseCode.SUCCESS: "FOUND",
    ResponseCode.PULL_NOT_FOUND: "NO_NEW_MSG",
    ResponseCode.PULL_RETRY_IMMEDIATELY: "NO_MATCHED_MSG",
    ResponseCode.PULL_OFFSET_MOVED: "OFFSET_ILLEGAL",
}


class PullAnswer(NamedTuple):
    status: str  # Java's PullStatus name
    next_begin: int
    min_offset: int
    max_offset: int
    records: bytes


class AdminClient:
    def __init__(self, namesrv: list[str], timeout: float = 5.0) -> None:
        self.namesrv = namesrv
        self.timeout = timeout
        self.remoting = RemotingClient(timeout=timeout)

    async def close(self) -> None:
        await self.remoting.close()

    async def call(self, addr: str, cmd: RemotingCommand, *ok: int,
                   timeout: float | None = None) -> RemotingCommand:  # fmt: skip
        try:
            reply = await self.remoting.invoke(addr, cmd, timeout)
        except RemotingError as exc:
            raise AdminError(str(exc)) from None
        if reply.code not in (ok or (ResponseCode.SUCCESS,)):
            raise AdminError(f"CODE: {reply.code}  DESC: {reply.remark}  ({addr})", reply.code,
                             reply.remark or "")  # fmt: skip
        return reply

    async def namesrv_call(self, cmd: RemotingCommand, *ok: int) -> RemotingCommand:
        """The first NameServer that answers (Java picks one and fails over)."""
        if not self.namesrv:
            raise AdminError("no name server address: use -n or set NAMESRV_ADDR")
        last: AdminError | None = None
        for addr in random.sample(self.namesrv, len(self.namesrv)):
            try:
                return await self.call(addr, cmd, *ok)
            except AdminError as exc:
                if "connect to" not in str(exc):
                    raise
                last = exc
        assert last is not None
        raise last

    # NameServer

    async def cluster_info(self) -> ClusterInfo:
        reply = await self.namesrv_call(request(RequestCode.GET_BROKER_CLUSTER_INFO))
        body: dict[str, Any] = fastjson.loads(reply.body or b"{}")
        brokers = {
            str(name): (str(data.get("cluster") or ""),
                        {int(k): str(v) for k, v in (data.get("brokerAddrs") or {}).items()})
            for name, data in (body.get("brokerAddrTable") or {}).items()
        }  # fmt: skip
        clusters = {str(c): sorted(str(n) for n in names)
                    for c, names in (body.get("clusterAddrTable") or {}).items()}  # fmt: skip
        return ClusterInfo(brokers, clusters)

    async def topic_list(self) -> list[str]:
        reply = await self.namesrv_call(request(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER))
        return [str(t) for t in fastjson.loads(reply.body or b"{}").get("topicList") or ()]

    async def topics_of_cluster(self, cluster: str) -> list[str]:
        reply = await self.namesrv_call(request(RequestCode.GET_TOPICS_BY_CLUSTER,
                                                {"cluster": cluster}))  # fmt: skip
        return [str(t) for t in fastjson.loads(reply.body or b"{}").get("topicList") or ()]

    async def route(self, topic: str) -> TopicRoute:
        reply = await self.namesrv_call(
            request(RequestCode.GET_ROUTEINFO_BY_TOPIC, {"topic": topic}),
        )
        return TopicRoute.from_json(topic, fastjson.loads(reply.body or b"{}"))

    async def route_json(self, topic: str) -> dict[str, Any]:
        reply = await self.namesrv_call(
            request(RequestCode.GET_ROUTEINFO_BY_TOPIC, {"topic": topic}),
        )
        data: dict[str, Any] = fastjson.loads(reply.body or b"{}")
        return data

    async def put_kv(self, namespace: str, key: str, value: str) -> None:
        header = {"namespace": namespace, "key": key, "value": value}
        for addr in self.namesrv:
            await self.call(addr, request(RequestCode.PUT_KV_CONFIG, header))

    async def get_kv(self, namespace: str, key: str) -> str | None:
        reply = await self.namesrv_call(
            request(RequestCode.GET_KV_CONFIG, {"namespace": namespace, "key": key}),
            ResponseCode.SUCCESS, ResponseCode.QUERY_NOT_FOUND,
        )  # fmt: skip
        return reply.field("value") if reply.code == ResponseCode.SUCCESS else None

    async def delete_kv(self, namespace: str, key: str) -> None:
        for addr in self.namesrv:
            await self.call(addr, request(RequestCode.DELETE_KV_CONFIG,
                                          {"namespace": namespace, "key": key}))  # fmt: skip

    async def namesrv_config(self, addr: str) -> dict[str, str]:
        reply = await self.call(addr, request(RequestCode.GET_NAMESRV_CONFIG))
        return parse_properties(reply.body)

    async def update_namesrv_config(self, addr: str, values: dict[str, str]) -> None:
        await self.call(addr, request(RequestCode.UPDATE_NAMESRV_CONFIG,
                                      body=properties_text(values)))  # fmt: skip

    async def write_perm(self, addr: str, broker_name: str, wipe: bool) -> int:
        code = (
            RequestCode.WIPE_WRITE_PERM_OF_BROKER if wipe else RequestCode.ADD_WRITE_PERM_OF_BROKER
        )
        reply = await self.call(addr, request(code, {"brokerName": broker_name}))
        field = "wipeTopicCount" if wipe else "addTopicCount"
        return int(reply.field(field) or 0)

    async def delete_topic_in_namesrv(self, topic: str, cluster: str) -> None:
        for addr in self.namesrv:
            await self.call(addr, request(RequestCode.DELETE_TOPIC_IN_NAMESRV,
                                          {"topic": topic, "clusterName": cluster}))  # fmt: skip

    async def consumer_groups_of(self, topic: str) -> list[str]:
        route = await self.route(topic)
        for broker in route.brokers:
            addr = broker.select_addr()
            if addr is None:
                continue
            reply = await self.call(addr, request(RequestCode.QUERY_TOPIC_CONSUME_BY_WHO,
                                                  {"topic": topic}))  # fmt: skip
            return [str(g) for g in fastjson.loads(reply.body or b"{}").get("groupList") or ()]
        return []

    # brokers

    async def runtime_info(self, addr: str) -> dict[str, str]:
        reply = await self.call(addr, request(RequestCode.GET_BROKER_RUNTIME_INFO))
        table = fastjson.loads(reply.body or b"{}").get("table") or {}
        return {str(k): str(v) for k, v in table.items()}

    async def topic_stats(self, addr: str, topic: str) -> dict[MessageQueue, dict[str, int]]:
        reply = await self.call(addr, request(RequestCode.GET_TOPIC_STATS_INFO, {"topic": topic}))
        table = fastjson.loads(reply.body or b"{}").get("offsetTable") or {}
        out = {}
        for key, value in table.items():
            out[MessageQueue.from_key(key)] = {k: int(v) for k, v in value.items()}
        return out

    async def create_topic(self, addr: str, config: dict[str, str]) -> None:
        header = {"defaultTopic": "TBW102", **config}
        await self.call(addr, request(RequestCode.UPDATE_AND_CREATE_TOPIC, header))

    async def delete_topic_in_broker(self, addr: str, topic: str) -> None:
        await self.call(addr, request(RequestCode.DELETE_TOPIC_IN_BROKER, {"topic": topic}))

    async def broker_job(self, addr: str, code: int) -> bool:
        """A maintenance request with no arguments (clean expired consume queues, unused
        topics, expired commit log files); True when the broker answered SUCCESS."""
        await self.call(addr, request(code))
        return True

    async def broker_config(self, addr: str) -> dict[str, str]:
        reply = await self.call(addr, request(RequestCode.GET_BROKER_CONFIG))
        return parse_properties(reply.body)

    async def update_broker_config(self, addr: str, values: dict[str, str]) -> None:
        await self.call(addr, request(RequestCode.UPDATE_BROKER_CONFIG,
                                      body=properties_text(values)))  # fmt: skip

    # groups, connections, offsets

    async def put_group(self, addr: str, config: dict[str, Any]) -> None:
        await self.call(addr, request(RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
                                      body=fastjson.dumps(config)))  # fmt: skip

    async def delete_group(self, addr: str, group: str, remove_offset: bool) -> None:
        header = {"groupName": group, "removeOffset": "true" if remove_offset else "false"}
        await self.call(addr, request(RequestCode.DELETE_SUBSCRIPTIONGROUP, header))

    async def group_config(self, addr: str, group: str) -> dict[str, Any] | None:
        reply = await self.call(addr, request(RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG))
        table = fastjson.loads(reply.body or b"{}").get("subscriptionGroupTable") or {}
        found = table.get(group)
        return found if isinstance(found, dict) else None

    async def _route_broker_addrs(self, topic: str) -> list[tuple[str, str]]:
        """(broker name, address) of each broker in ``topic``'s route (master first)."""
        route = await self.route(topic)
        out = []
        for broker in route.brokers:
            addr = broker.select_addr()
            if addr:
                out.append((broker.broker_name, addr))
        return out

    async def broker_addrs_of(self, topic: str) -> list[str]:
        """The address (master first) of every broker in ``topic``'s route."""
        return [addr for _, addr in await self._route_broker_addrs(topic)]

    async def consumer_connection(self, group: str, addr: str | None = None) -> dict[str, Any]:
        if addr is None:
            brokers = await self._route_broker_addrs("%RETRY%" + group)
            if not brokers:
                raise AdminError(f"no broker knows consumer group {group}")
            addr = brokers[0][1]
        reply = await self.call(addr, request(RequestCode.GET_CONSUMER_CONNECTION_LIST,
                                              {"consumerGroup": group}),
                                ResponseCode.SUCCESS, ResponseCode.CONSUMER_NOT_ONLINE)  # fmt: skip
        data: dict[str, Any] = fastjson.loads(reply.body or b"{}") if reply.body else {}
        if reply.code != ResponseCode.SUCCESS or not data.get("connectionSet"):
            remark = reply.remark or "Not found the consumer group connection"
            raise AdminError(f"CODE: {ResponseCode.CONSUMER_NOT_ONLINE}  DESC: {remark}",
                             ResponseCode.CONSUMER_NOT_ONLINE, remark)  # fmt: skip
        return data

    async def producer_connection(self, group: str, topic: str) -> dict[str, Any]:
        brokers = await self._route_broker_addrs(topic)
        if not brokers:
            raise AdminError(f"no route for topic {topic}")
        reply = await self.call(brokers[0][1], request(RequestCode.GET_PRODUCER_CONNECTION_LIST,
                                                       {"producerGroup": group}))  # fmt: skip
        data: dict[str, Any] = fastjson.loads(reply.body or b"{}")
        if not data.get("connectionSet"):
            raise AdminError("Not found the producer group connection")
        return data

    async def consume_stats(self, group: str, topic: str | None = None
                            ) -> tuple[dict[MessageQueue, dict[str, int]], float]:  # fmt: skip
        """Offsets per queue and the group's TPS, merged over the brokers of its retry topic."""
        table: dict[MessageQueue, dict[str, int]] = {}
        tps = 0.0
        for _, addr in await self._route_broker_addrs("%RETRY%" + group):
            header = {"consumerGroup": group}
            if topic:
                header["topic"] = topic
            reply = await self.call(addr, request(RequestCode.GET_CONSUME_STATS, header))
            data = fastjson.loads(reply.body or b"{}")
            tps += float(data.get("consumeTps") or 0.0)
            for key, value in (data.get("offsetTable") or {}).items():
                table[MessageQueue.from_key(key)] = {k: int(v) for k, v in value.items()}
        if not table:
            remark = ("Not found the consumer group consume stats, because return offset table "
                      "is empty, maybe the consumer not consume any message")  # fmt: skip
            raise AdminError(f"CODE: {ResponseCode.CONSUMER_NOT_ONLINE}  DESC: {remark}",
                             ResponseCode.CONSUMER_NOT_ONLINE, remark)  # fmt: skip
        return table, tps

    async def update_consumer_offset(self, addr: str, group: str, mq: MessageQueue,
                                     offset: int) -> None:  # fmt: skip
        header = {"consumerGroup": group, "topic": mq.topic, "queueId": str(mq.queue_id),
                  "commitOffset": str(offset)}  # fmt: skip
        await self.call(addr, request(RequestCode.UPDATE_CONSUMER_OFFSET, header))

    async def queue_offset(self, addr: str, code: int, mq: MessageQueue,
                           timestamp: int | None = None) -> int:  # fmt: skip
        header = {"topic": mq.topic, "queueId": str(mq.queue_id)}
        if timestamp is not None:
            header["timestamp"] = str(timestamp)
        reply = await self.call(addr, request(code, header))
        return int(reply.field("offset") or 0)

    async def reset_offset_online(self, topic: str, group: str, timestamp: int, force: bool,
                                  cplus: bool) -> dict[MessageQueue, int] | None:  # fmt: skip
        """INVOKE_BROKER_TO_RESET_OFFSET on every broker of the topic; None when the group
        has no consumer online (then mqadmin resets the stored offsets itself)."""
        out: dict[MessageQueue, int] = {}
        for _, addr in await self._route_broker_addrs(topic):
            header = {"topic": topic, "group": group, "timestamp": str(timestamp),
                      "isForce": "true" if force else "false"}  # fmt: skip
            cmd = request(RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, header)
            if cplus:
                cmd.language = 1  # LanguageCode.CPP: the broker answers instead of pushing
            reply = await self.call(addr, cmd, ResponseCode.SUCCESS,
                                    ResponseCode.CONSUMER_NOT_ONLINE)  # fmt: skip
            if reply.code == ResponseCode.CONSUMER_NOT_ONLINE:
                return None
            table = fastjson.loads(reply.body or b"{}").get("offsetTable") or {}
            for key, value in table.items():
                out[MessageQueue.from_key(key)] = int(value)
        return out

    async def topic_queue_counts(self, topic: str) -> dict[str, tuple[str, int]]:
        """broker address -> (broker name, read queue nums) for ``topic``."""
        route = await self.route(topic)
        reads = {q.broker_name: q.read_queue_nums for q in route.queues}
        out = {}
        for broker in route.brokers:
            addr = broker.select_addr()
            if addr:
                out[addr] = (broker.broker_name, reads.get(broker.broker_name, 0))
        return out

    async def running_info_queues(self, group: str, client_id: str) -> list[MessageQueue]:
        """The queues a consumer reports in its running info (GET_CONSUMER_RUNNING_INFO,
        relayed by a broker of the group)."""
        brokers = await self._route_broker_addrs("%RETRY%" + group)
        if not brokers:
            return []
        header = {"consumerGroup": group, "clientId": client_id, "jstackEnable": "false"}
        reply = await self.call(brokers[0][1], request(RequestCode.GET_CONSUMER_RUNNING_INFO,
                                                       header))  # fmt: skip
        out = []
        for key in fastjson.loads(reply.body or b"{}").get("mqTable") or {}:
            out.append(MessageQueue.from_key(key))
        return out

    # messages

    async def view_message(self, offset_msg_id: str) -> bytes:
        """The stored record behind an offset message id (VIEW_MESSAGE_BY_ID)."""
        try:
            addr, offset = decode_offset_msg_id(offset_msg_id)
        except MessageIdError as exc:
            raise AdminError(str(exc)) from None
        reply = await self.call(addr, request(RequestCode.VIEW_MESSAGE_BY_ID,
                                              {"offset": str(offset)}))  # fmt: skip
        return reply.body or b""

    async def query_message(self, topic: str, key: str, max_num: int, begin: int, end: int,
                            unique: bool = False) -> list[bytes]:  # fmt: skip
        """Stored record batches from every broker of the topic (QUERY_MESSAGE on its index)."""
        header = {"topic": topic, "key": key, "maxNum": str(max_num),
                  "beginTimestamp": str(begin), "endTimestamp": str(end)}  # fmt: skip
        if unique:
            header["_UNIQUE_KEY_QUERY"] = "true"
        out = []
        for _, addr in await self._route_broker_addrs(topic):
            reply = await self.call(addr, request(RequestCode.QUERY_MESSAGE, header),
                                    ResponseCode.SUCCESS, ResponseCode.QUERY_NOT_FOUND)  # fmt: skip
            if reply.code == ResponseCode.SUCCESS and reply.body:
                out.append(reply.body)
        return out

    async def _addr_of(self, topic: str, broker_name: str, master_only: bool) -> str:
        route = await self.route(topic)
        broker = route.broker(broker_name)
        addr = None
        if broker is not None:
            addr = broker.master_addr if master_only else broker.select_addr()
        if addr is None:
            raise AdminError(f"The broker[{broker_name}] not exist")
        return addr

    async def queue_bounds(self, mq: MessageQueue) -> tuple[int, int]:
        """(min, max) offsets of a queue, from its master (Java ``MQAdminImpl``)."""
        addr = await self._addr_of(mq.topic, mq.broker_name, True)
        low = await self.queue_offset(addr, RequestCode.GET_MIN_OFFSET, mq)
        return low, await self.queue_offset(addr, RequestCode.GET_MAX_OFFSET, mq)

    async def search_offset(self, mq: MessageQueue, timestamp: int) -> int:
        addr = await self._addr_of(mq.topic, mq.broker_name, True)
        return await self.queue_offset(addr, RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, mq,
                                       timestamp)  # fmt: skip

    async def subscribe_queues(self, topic: str) -> list[MessageQueue]:
        """Java ``fetchSubscribeMessageQueues``: every readable queue, in the order Java's
        HashSet of them iterates (what mqadmin's loops follow)."""
        route = await self.route(topic)
        queues = [MessageQueue(topic, q.broker_name, i) for q in route.queues
                  if is_readable(q.perm) for i in range(q.read_queue_nums)]  # fmt: skip
        if not queues:
            raise AdminError(f"Can not find Message Queue for this topic, {topic}")
        hashes = [java_message_queue_hash(q.topic, q.broker_name, q.queue_id) for q in queues]
        ordered: list[MessageQueue] = java_hashmap_order(queues, hashes)
        return ordered

    async def pull(self, mq: MessageQueue, subscription: str, offset: int, max_nums: int,
                   group: str = "TOOLS_CONSUMER") -> PullAnswer:  # fmt: skip
        """One pull as DefaultMQPullConsumer.pull does it: the broker filters by tag hash,
        then the exact tags (Java's client-side filter)."""
        addr = await self._addr_of(mq.topic, mq.broker_name, False)
        header = {"consumerGroup": group, "topic": mq.topic, "queueId": str(mq.queue_id),
                  "queueOffset": str(offset), "maxMsgNums": str(max_nums), "sysFlag": "4",
                  "commitOffset": "0", "suspendTimeoutMillis": "0", "subVersion": "0",
                  "expressionType": "TAG", "subscription": subscription}  # fmt: skip
        reply = await self.call(addr, request(RequestCode.PULL_MESSAGE, header),
                                *_PULL_STATUS)  # fmt: skip
        low, high = int(reply.field("minOffset") or 0), int(reply.field("maxOffset") or 0)
        status = _PULL_STATUS[reply.code]
        body = reply.body or b"" if reply.code == ResponseCode.SUCCESS else b""
        return PullAnswer(status, int(reply.field("nextBeginOffset") or 0), low, high, body)

    async def pull_one(self, topic: str, broker_name: str, queue_id: int, offset: int
                       ) -> tuple[bytes, int, int]:  # fmt: skip
        """(records, queue min offset, queue max offset) of a one-message pull."""
        route = await self.route(topic)
        broker = route.broker(broker_name)
        addr = broker.select_addr() if broker else None
        if addr is None:
            raise AdminError(f"The broker[{broker_name}] not exist")
        header = {"consumerGroup": "TOOLS_CONSUMER", "topic": topic, "queueId": str(queue_id),
                  "queueOffset": str(offset), "maxMsgNums": "1", "sysFlag": "4",
                  "commitOffset": "0", "suspendTimeoutMillis": "0", "subVersion": "0",
                  "expressionType": "TAG", "subscription": "*"}  # fmt: skip
        reply = await self.call(addr, request(RequestCode.PULL_MESSAGE, header),
                                ResponseCode.SUCCESS, ResponseCode.PULL_NOT_FOUND,
                                ResponseCode.PULL_OFFSET_MOVED,
                                ResponseCode.PULL_RETRY_IMMEDIATELY)  # fmt: skip
        low, high = int(reply.field("minOffset") or 0), int(reply.field("maxOffset") or 0)
        return (reply.body or b"" if reply.code == ResponseCode.SUCCESS else b""), low, high
