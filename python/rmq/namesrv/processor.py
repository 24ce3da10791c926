"""The NameServer's request handlers (Java: ``DefaultRequestProcessor``)."""

import logging
import zlib
from collections.abc import Callable
from typing import Final

from rmq.common import fastjson, version
from rmq.common.codes import RequestCode, ResponseCode
from rmq.common.route import BodyError, DataVersion, RegisterBrokerBody
from rmq.config.properties import format_properties, parse_properties
from rmq.namesrv.kv_config import KVConfig
from rmq.namesrv.route_table import TOPIC_SYS_FLAG_UNIT, TOPIC_SYS_FLAG_UNIT_SUB, RouteTable
from rmq.remoting.command import RemotingCommand
from rmq.remoting.connection import Connection
from rmq.remoting.dispatch import Dispatcher
from rmq.remoting.errors import RequestError
from rmq.remoting.fields import optional_bool, optional_int, required, required_long

log = logging.getLogger(__name__)

NAMESPACE_ORDER_TOPIC_CONFIG: Final = "ORDER_TOPIC_CONFIG"


class NamesrvConfigView:
    """What UPDATE/GET_NAMESRV_CONFIG see: the effective settings and their update rule."""

    def __init__(
        self,
        snapshot: Callable[[], dict[str, str]],
        apply: Callable[[dict[str, str]], None],
        updatable: frozenset[str],
    ) -> None:
        self.snapshot = snapshot
        self.apply = apply
        self.updatable = updatable


def _kv_table(table: dict[str, str]) -> bytes:
    return fastjson.dumps({"table": table})


def _topic_list(topics: list[str], broker_addr: str | None = None) -> bytes:
    body: dict[str, object] = {"topicList": topics}
    if broker_addr is not None:
        body["brokerAddr"] = broker_addr
    return fastjson.dumps(body)


class NamesrvProcessor:
    def __init__(
        self,
        routes: RouteTable,
        kv: KVConfig,
        config: NamesrvConfigView,
        *,
        order_message_enable: Callable[[], bool],
    ) -> None:
        self._routes = routes
        self._kv = kv
        self._config = config
        self._order_message_enable = order_message_enable

    def register(self, dispatcher: Dispatcher) -> None:
        table = {
            RequestCode.PUT_KV_CONFIG: self.put_kv_config,
            RequestCode.GET_KV_CONFIG: self.get_kv_config,
            RequestCode.DELETE_KV_CONFIG: self.delete_kv_config,
            RequestCode.GET_KVLIST_BY_NAMESPACE: self.get_kv_list,
            RequestCode.QUERY_DATA_VERSION: self.query_data_version,
            RequestCode.REGISTER_BROKER: self.register_broker,
            RequestCode.UNREGISTER_BROKER: self.unregister_broker,
            RequestCode.GET_ROUTEINFO_BY_TOPIC: self.get_route,
            RequestCode.GET_BROKER_CLUSTER_INFO: self.get_cluster_info,
            RequestCode.WIPE_WRITE_PERM_OF_BROKER: self.wipe_write_perm,
            RequestCode.ADD_WRITE_PERM_OF_BROKER: self.add_write_perm,
            RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER: self.get_all_topics,
            RequestCode.DELETE_TOPIC_IN_NAMESRV: self.delete_topic,
            RequestCode.GET_TOPICS_BY_CLUSTER: self.get_topics_by_cluster,
            RequestCode.GET_SYSTEM_TOPIC_LIST_FROM_NS: self.get_system_topics,
            RequestCode.GET_UNIT_TOPIC_LIST: self.get_unit_topics,
            RequestCode.GET_HAS_UNIT_SUB_TOPIC_LIST: self.get_has_unit_sub_topics,
            RequestCode.GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST: self.get_has_unit_sub_ununit_topics,
            RequestCode.UPDATE_NAMESRV_CONFIG: self.update_config,
            RequestCode.GET_NAMESRV_CONFIG: self.get_config,
        }
        for code, handler in table.items():
            dispatcher.register(code, handler)

    # KV config

    def put_kv_config(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        self._kv.put(required(req, "namespace"), required(req, "key"), required(req, "value"))
        return req.answer()

    def get_kv_config(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        namespace, key = required(req, "namespace"), required(req, "key")
        value = self._kv.get(namespace, key)
        if value is None:
            return req.answer(
                ResponseCode.QUERY_NOT_FOUND,
                f"No config item, Namespace: {namespace} Key: {key}",
            )
        return req.answer(ext_fields={"value": value})

    def delete_kv_config(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        self._kv.delete(required(req, "namespace"), required(req, "key"))
        return req.answer()

    def get_kv_list(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        namespace = required(req, "namespace")
        table = self._kv.namespace(namespace)
        if table is None:
            return req.answer(
                ResponseCode.QUERY_NOT_FOUND, f"No config item, Namespace: {namespace}"
            )
        return req.answer(body=_kv_table(table))

    # brokers

    def register_broker(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        cluster = required(req, "clusterName")
        broker_addr = required(req, "brokerAddr")
        broker_name = required(req, "brokerName")
        ha_server_addr = required(req, "haServerAddr")
        broker_id = required_long(req, "brokerId")
        compressed = optional_bool(req, "compressed", False)
        body_crc = optional_int(req, "bodyCrc32", 0)
        if body_crc != 0 and req.body is not None and zlib.crc32(req.body) & 0x7FFFFFFF != body_crc:
            return req.answer(ResponseCode.SYSTEM_ERROR, "crc32 not match")
        try:
            body = RegisterBrokerBody.decode(
                req.body, compressed=compressed, bare=req.version < version.V3_0_11
            )
        except (BodyError, ValueError, UnicodeDecodeError) as exc:
            raise RequestError(
                ResponseCode.SYSTEM_ERROR, f"Failed to decode RegisterBrokerBody: {exc}"
            ) from None
        result = self._routes.register_broker(
            cluster,
            broker_addr,
            broker_name,
            broker_id,
            ha_server_addr,
            body.data_version,
            body.topic_configs,
            body.filter_servers,
            conn,
        )
        ext: dict[str, str] = {}
        if result.ha_server_addr is not None:
            ext["haServerAddr"] = result.ha_server_addr
        if result.master_addr is not None:
            ext["masterAddr"] = result.master_addr
        order = self._kv.namespace(NAMESPACE_ORDER_TOPIC_CONFIG)
        return req.answer(ext_fields=ext or None, body=_kv_table(order) if order else None)

    def unregister_broker(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        self._routes.unregister_broker(
            required(req, "clusterName"),
            required(req, "brokerAddr"),
            required(req, "brokerName"),
            required_long(req, "brokerId"),
        )
        return req.answer()

    def query_data_version(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        broker_addr = required(req, "brokerAddr")
        try:
            asked = DataVersion.from_json(fastjson.loads(req.body or b"{}"))
        except ValueError as exc:
            raise RequestError(ResponseCode.SYSTEM_ERROR, f"bad DataVersion body: {exc}") from None
        changed = self._routes.is_topic_config_changed(broker_addr, asked)
        if not changed:
            self._routes.touch(broker_addr)
        current = self._routes.data_version_of(broker_addr)
        return req.answer(
            ext_fields={"changed": "true" if changed else "false"},
            body=fastjson.dumps(current.to_json()) if current is not None else None,
        )

    def wipe_write_perm(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        count = self._routes.wipe_write_perm(required(req, "brokerName"))
        return req.answer(ext_fields={"wipeTopicCount": str(count)})

    def add_write_perm(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        count = self._routes.add_write_perm(required(req, "brokerName"))
        return req.answer(ext_fields={"addTopicCount": str(count)})

    # routes and topics

    def get_route(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        topic = required(req, "topic")
        order_conf = None
        if self._order_message_enable():
            order_conf = self._kv.get(NAMESPACE_ORDER_TOPIC_CONFIG, topic)
        body = self._routes.route_body(topic, order_conf)
        if body is None:
            return req.answer(
                ResponseCode.TOPIC_NOT_EXIST,
                f"No topic route info in name server for the topic: {topic}",
            )
        return req.answer(body=body)

    def get_cluster_info(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        return req.answer(body=self._routes.cluster_info())

    def get_all_topics(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        return req.answer(body=_topic_list(self._routes.all_topics()))

    def delete_topic(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        self._routes.delete_topic(required(req, "topic"), req.field("clusterName"))
        return req.answer()

    def get_topics_by_cluster(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        return req.answer(
            body=_topic_list(self._routes.topics_by_cluster(required(req, "cluster")))
        )

    def get_system_topics(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        topics, broker_addr = self._routes.system_topics()
        return req.answer(body=_topic_list(topics, broker_addr))

    def get_unit_topics(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        topics = self._routes.topics_by_sys_flag(lambda f: bool(f & TOPIC_SYS_FLAG_UNIT))
        return req.answer(body=_topic_list(topics))

    def get_has_unit_sub_topics(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        topics = self._routes.topics_by_sys_flag(lambda f: bool(f & TOPIC_SYS_FLAG_UNIT_SUB))
        return req.answer(body=_topic_list(topics))

    def get_has_unit_sub_ununit_topics(
        self, conn: Connection, req: RemotingCommand
    ) -> RemotingCommand:
        topics = self._routes.topics_by_sys_flag(
            lambda f: not f & TOPIC_SYS_FLAG_UNIT and bool(f & TOPIC_SYS_FLAG_UNIT_SUB)
        )
        return req.answer(body=_topic_list(topics))

    # the NameServer's own settings

    def update_config(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        if not req.body:
            return req.answer()
        try:
            entries = parse_properties(req.body.decode(), "request body")
        except (ValueError, UnicodeDecodeError) as exc:
            return req.answer(ResponseCode.SYSTEM_ERROR, f"string2Properties error: {exc}")
        refused = sorted(k for k in entries if k not in self._config.updatable)
        if refused:
            log.warning("refused namesrv config update peer=%s keys=%s", conn.peer, refused)
            return req.answer(
                ResponseCode.NO_PERMISSION,
                f"Can not update config keys {', '.join(refused)}: only "
                f"{', '.join(sorted(self._config.updatable))} may change at run time",
            )
        try:
            self._config.apply({k: e.value for k, e in entries.items()})
        except ValueError as exc:
            return req.answer(ResponseCode.SYSTEM_ERROR, str(exc))
        log.info("namesrv config updated peer=%s keys=%s", conn.peer, sorted(entries))
        return req.answer()

    def get_config(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        return req.answer(body=format_properties(self._config.snapshot()).encode())
