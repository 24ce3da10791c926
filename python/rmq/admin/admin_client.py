"""The requests mqadmin's commands make (Java: ``DefaultMQAdminExt`` over
``MQClientAPIImpl``), against the NameServers and brokers, over rmq.remoting."""

import random
from dataclasses import dataclass
from typing import Any

from rmq.client.message import MessageQueue
from rmq.client.route import TopicRoute
from rmq.common import fastjson
from rmq.common.codes import RequestCode, ResponseCode
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import RemotingCommand, request
from rmq.remoting.errors import RemotingError


class AdminError(Exception):
    """A request the servers refused or that could not reach them; one line for the user."""


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


class AdminClient:
    def __init__(self, namesrv: list[str], timeout: float = 5.0) -> None:
        self.namesrv = namesrv
        self.remoting = RemotingClient(timeout=timeout)

    async def close(self) -> None:
        await self.remoting.close()

    async def call(self, addr: str, cmd: RemotingCommand, *ok: int) -> RemotingCommand:
        try:
            reply = await self.remoting.invoke(addr, cmd)
        except RemotingError as exc:
            raise AdminError(str(exc)) from None
        if reply.code not in (ok or (ResponseCode.SUCCESS,)):
            raise AdminError(f"CODE: {reply.code}  DESC: {reply.remark}  ({addr})")
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
            obj = key.as_dict() if isinstance(key, fastjson.ObjectKey) else fastjson.loads(key)
            out[MessageQueue.from_json(obj)] = {k: int(v) for k, v in value.items()}
        return out

    async def create_topic(self, addr: str, config: dict[str, str]) -> None:
        header = {"defaultTopic": "TBW102", **config}
        await self.call(addr, request(RequestCode.UPDATE_AND_CREATE_TOPIC, header))

    async def delete_topic_in_broker(self, addr: str, topic: str) -> None:
        await self.call(addr, request(RequestCode.DELETE_TOPIC_IN_BROKER, {"topic": topic}))

    async def broker_config(self, addr: str) -> dict[str, str]:
        reply = await self.call(addr, request(RequestCode.GET_BROKER_CONFIG))
        return parse_properties(reply.body)

    async def update_broker_config(self, addr: str, values: dict[str, str]) -> None:
        await self.call(addr, request(RequestCode.UPDATE_BROKER_CONFIG,
                                      body=properties_text(values)))  # fmt: skip
