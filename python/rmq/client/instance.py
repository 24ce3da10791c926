"""One client process's shared state (Java: ``MQClientInstance``): the connections, the
topic routes and broker addresses, the producers and consumers that share them, and the
periodic work (route polling, heartbeats, offset persistence, rebalancing). Producers and
consumers with the same client id share one instance, as in Java, so brokers see one
client with several groups.

Brokers also call the client over the connections it opened: check a transaction,
rebalance now, reset offsets, report consumer status and running info, consume one
message directly. Those requests are answered here and handed to the member concerned.
"""

import asyncio
import contextlib
import logging
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol

from rmq.client.api import ClientAPI, Subscription, decode_messages
from rmq.client.config import ClientConfig
from rmq.client.errors import ClientError
from rmq.client.message import MessageExt, MessageQueue
from rmq.client.route import MASTER_ID, TopicRoute
from rmq.common import fastjson
from rmq.common import property_keys as pk
from rmq.common.codes import RequestCode, ResponseCode
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import RemotingCommand
from rmq.remoting.connection import Connection
from rmq.remoting.dispatch import Dispatcher
from rmq.remoting.errors import RemotingError

log = logging.getLogger(__name__)

#: Java's fixed rebalance period; NOTIFY_CONSUMER_IDS_CHANGED wakes it early.
REBALANCE_INTERVAL: Final = 20.0
DEFAULT_TOPIC: Final = "TBW102"
NAMESRV_LOOKUP_INTERVAL: Final = 120.0


class ProducerMember(Protocol):
    group: str

    def publish_topics(self) -> list[str]: ...

    def update_publish_route(self, topic: str, route: TopicRoute) -> None: ...

    def check_transaction_state(self, addr: str, msg: MessageExt, header: dict[str, str]
                                ) -> None: ...  # fmt: skip


class ConsumerMember(Protocol):
    group: str

    def heartbeat_data(self) -> dict[str, Any]: ...

    def subscriptions(self) -> list[Subscription]: ...

    def update_subscribe_route(self, topic: str, queues: list[MessageQueue]) -> None: ...

    async def do_rebalance(self) -> None: ...

    async def persist_offsets(self, oneway: bool = True) -> None: ...

    async def reset_offsets(self, topic: str, offsets: dict[MessageQueue, int]) -> None: ...

    def offsets_of(self, topic: str) -> dict[MessageQueue, int]: ...

    def running_info(self) -> dict[str, Any]: ...

    async def consume_directly(self, msg: MessageExt, broker_name: str | None
                               ) -> dict[str, Any]: ...  # fmt: skip


_instances: dict[str, "ClientInstance"] = {}


def get_instance(config: ClientConfig) -> "ClientInstance":
    """The process's instance for this client id, created on first use."""
    client_id = config.build_client_id()
    instance = _instances.get(client_id)
    if instance is None or instance.closed:
        instance = _instances[client_id] = ClientInstance(config, client_id)
    return instance


class ClientInstance:
    def __init__(self, config: ClientConfig, client_id: str) -> None:
        self.config = config
        self.client_id = client_id
        dispatcher = Dispatcher()
        dispatcher.register(RequestCode.CHECK_TRANSACTION_STATE, self._on_check_transaction)
        dispatcher.register(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, self._on_ids_changed)
        dispatcher.register(RequestCode.RESET_CONSUMER_CLIENT_OFFSET, self._on_reset_offset)
        dispatcher.register(RequestCode.GET_CONSUMER_STATUS_FROM_CLIENT, self._on_status)
        dispatcher.register(RequestCode.GET_CONSUMER_RUNNING_INFO, self._on_running_info)
        dispatcher.register(RequestCode.CONSUME_MESSAGE_DIRECTLY, self._on_consume_directly)
        timeout = config.mq_client_api_timeout / 1000
        self.remoting = RemotingClient(timeout=timeout, dispatcher=dispatcher)
        self.api = ClientAPI(self.remoting, config.mq_client_api_timeout, config.language)
        self.routes: dict[str, TopicRoute] = {}
        #: broker name -> broker id -> address, from every route seen
        self.broker_addrs: dict[str, dict[int, str]] = {}
        self.producers: dict[str, ProducerMember] = {}
        self.consumers: dict[str, ConsumerMember] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._rebalance_wakeup = asyncio.Event()
        self._route_lock = asyncio.Lock()
        self._heartbeat_lock = asyncio.Lock()
        self.started = False
        self.closed = False
        self._fixed_namesrv = True

    # membership

    def register_producer(self, group: str, producer: ProducerMember) -> None:
        if group in self.producers:
            raise ClientError(f"The producer group[{group}] has been created before, "
                              "specify another name please.")  # fmt: skip
        self.producers[group] = producer

    def register_consumer(self, group: str, consumer: ConsumerMember) -> None:
        if group in self.consumers:
            raise ClientError(f"The consumer group[{group}] has been created before, "
                              "specify another name please.")  # fmt: skip
        self.consumers[group] = consumer

    async def unregister(self, producer_group: str | None = None,
                         consumer_group: str | None = None) -> None:  # fmt: skip
        """Forget a member, tell every broker, and close when it was the last one."""
        if producer_group:
            self.producers.pop(producer_group, None)
        if consumer_group:
            self.consumers.pop(consumer_group, None)
        for addrs in list(self.broker_addrs.values()):
            for addr in addrs.values():
                try:
                    await self.api.unregister(addr, self.client_id, producer_group,
                                              consumer_group)  # fmt: skip
                except (RemotingError, ClientError, Exception) as exc:
                    log.info("unregister at %s failed: %s", addr, exc)
        if not self.producers and not self.consumers:
            await self.shutdown()

    # lifecycle

    async def fetch_namesrv_addr(self) -> None:
        """Refresh the NameServer list from the lookup URL, when one is configured and no
        address was given (Java fetches it every two minutes)."""
        url = self.config.namesrv_lookup_url()
        if url is None or self._fixed_namesrv:
            return
        try:
            text = await asyncio.to_thread(_http_get, url, self.config.mq_client_api_timeout)
        except OSError as exc:
            log.warning("name server lookup %s failed: %s", url, exc)
            return
        addrs = ";".join(a.strip() for a in text.strip().split(";") if a.strip())
        if addrs and addrs != self.config.namesrv_addr:
            log.info("name server address from %s: %s", url, addrs)
            self.config.namesrv_addr = addrs

    async def start(self) -> None:
        if self.started:
            return
        self._fixed_namesrv = bool(self.config.namesrv_list())
        if not self._fixed_namesrv:
            await self.fetch_namesrv_addr()
        if not self.config.namesrv_list():
            raise ClientError("No name server address, please set it (namesrv_addr, the "
                              "NAMESRV_ADDR environment variable or namesrv_domain)")  # fmt: skip
        self.started = True
        cfg = self.config
        if not self._fixed_namesrv:
            self._every(NAMESRV_LOOKUP_INTERVAL, self.fetch_namesrv_addr, first=10.0)
        self._every(cfg.poll_name_server_interval / 1000, self.update_all_routes, first=0.01)
        self._every(cfg.heartbeat_broker_interval / 1000, self.send_heartbeat, first=1.0)
        self._every(cfg.persist_consumer_offset_interval / 1000, self.persist_offsets,
                    first=10.0)  # fmt: skip
        self._tasks.append(asyncio.create_task(self._rebalance_loop()))

    def _every(self, period: float, work: Callable[[], Awaitable[Any]], first: float) -> None:
        async def loop() -> None:
            await asyncio.sleep(first)
            while True:
                try:
                    await work()
                except Exception:
                    log.exception("periodic %s failed", getattr(work, "__name__", work))
                await asyncio.sleep(period)

        self._tasks.append(asyncio.create_task(loop()))

    async def shutdown(self) -> None:
        if self.closed:
            return
        self.closed = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self.remoting.close()
        if _instances.get(self.client_id) is self:
            del _instances[self.client_id]

    # routes and addresses

    async def update_route(self, topic: str, *, default: bool = False) -> TopicRoute | None:
        """Fetch ``topic``'s route and hand it to the members; None when it has none.
        ``default`` reads TBW102 instead, for topics the broker will create on first send."""
        async with self._route_lock:
            route = await self.api.get_route(self.config.namesrv_list(),
                                             DEFAULT_TOPIC if default else topic)  # fmt: skip
            if route is None:
                return None
            for broker in route.brokers:
                self.broker_addrs[broker.broker_name] = dict(broker.addrs)
            if default:
                return route
            if self.routes.get(topic) != route:
                self.routes[topic] = route
                for producer in list(self.producers.values()):
                    producer.update_publish_route(topic, route)
                queues = route.subscribe_queues()
                for consumer in list(self.consumers.values()):
                    consumer.update_subscribe_route(topic, queues)
            return route

    async def update_all_routes(self) -> None:
        topics: set[str] = set()
        for producer in list(self.producers.values()):
            topics.update(producer.publish_topics())
        for consumer in list(self.consumers.values()):
            topics.update(s.topic for s in consumer.subscriptions())
        for topic in sorted(topics):
            try:
                await self.update_route(topic)
            except (ClientError, RemotingError, Exception) as exc:
                log.warning("route of %s not refreshed: %s", topic, exc)

    def master_addr(self, broker_name: str) -> str | None:
        return self.broker_addrs.get(broker_name, {}).get(MASTER_ID)

    def subscribe_addr(self, broker_name: str, broker_id: int = MASTER_ID,
                       only_this: bool = False) -> tuple[str, bool] | None:  # fmt: skip
        """(address, is slave) to read ``broker_name`` from, preferring ``broker_id``."""
        addrs = self.broker_addrs.get(broker_name)
        if not addrs:
            return None
        if broker_id in addrs:
            return addrs[broker_id], broker_id != MASTER_ID
        if only_this:
            return None
        broker_id, addr = sorted(addrs.items())[0]
        return addr, broker_id != MASTER_ID

    def any_addr(self, topic: str) -> str | None:
        """An address of a broker holding ``topic``, to ask who is in a group."""
        route = self.routes.get(topic)
        for broker in route.brokers if route else ():
            addr = broker.select_addr()
            if addr:
                return addr
        return None

    # heartbeats

    def heartbeat_body(self) -> dict[str, Any]:
        return {
            "clientID": self.client_id,
            "producerDataSet": [{"groupName": g} for g in sorted(self.producers)],
            "consumerDataSet": [c.heartbeat_data() for c in list(self.consumers.values())],
        }

    async def send_heartbeat(self) -> None:
        """To every master, and to slaves too when consumers read from them."""
        body = self.heartbeat_body()
        if not body["producerDataSet"] and not body["consumerDataSet"]:
            return
        async with self._heartbeat_lock:
            for addrs in list(self.broker_addrs.values()):
                for broker_id, addr in sorted(addrs.items()):
                    if broker_id != MASTER_ID and not body["consumerDataSet"]:
                        continue
                    try:
                        await self.api.heartbeat(addr, body)
                    except Exception as exc:
                        log.info("heartbeat to %s failed: %s", addr, exc)

    # consumers' periodic work

    async def persist_offsets(self) -> None:
        for consumer in list(self.consumers.values()):
            try:
                await consumer.persist_offsets()
            except Exception:
                log.exception("persisting offsets of %s failed", consumer.group)

    def rebalance_now(self) -> None:
        self._rebalance_wakeup.set()

    async def _rebalance_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(REBALANCE_INTERVAL):
                    await self._rebalance_wakeup.wait()
            self._rebalance_wakeup.clear()
            await self.rebalance_all()

    async def rebalance_all(self) -> None:
        for consumer in list(self.consumers.values()):
            try:
                await consumer.do_rebalance()
            except Exception:
                log.exception("rebalance of %s failed", consumer.group)

    # requests brokers send to the client

    def _consumer(self, request: RemotingCommand) -> ConsumerMember | None:
        group = request.field("consumerGroup") or request.field("group") or ""
        return self.consumers.get(group)

    def _on_check_transaction(self, conn: Connection, request: RemotingCommand) -> None:
        try:
            msgs = decode_messages(request.body or b"", "")
        except ClientError as exc:
            log.warning("bad check-back body from %s: %s", conn.peer, exc)
            return None
        if not msgs:
            return None
        msg = msgs[0]
        group = msg.properties.get(pk.PRODUCER_GROUP, "")
        producer = self.producers.get(group)
        if producer is None:
            log.info("check-back for unknown producer group %s", group)
            return None
        producer.check_transaction_state(conn.peer or "", msg, dict(request.ext_fields or {}))
        return None

    def _on_ids_changed(self, conn: Connection, request: RemotingCommand) -> None:
        log.info("consumer ids of %s changed, rebalancing", request.field("consumerGroup"))
        self.rebalance_now()
        return None

    def _on_reset_offset(self, conn: Connection, request: RemotingCommand
                         ) -> Awaitable[RemotingCommand | None] | None:  # fmt: skip
        consumer = self._consumer(request)
        topic = request.field("topic") or ""
        if consumer is None:
            return None
        raw = fastjson.loads(request.body or b"{}").get("offsetTable") or {}
        offsets = {MessageQueue.from_key(k): int(v) for k, v in raw.items()}

        async def reset() -> None:
            await consumer.reset_offsets(topic, offsets)
            return None

        return reset()

    def _on_status(self, conn: Connection, request: RemotingCommand) -> RemotingCommand:
        consumer = self._consumer(request)
        table = consumer.offsets_of(request.field("topic") or "") if consumer else {}
        body = fastjson.dumps_object_keyed([(q.to_json(), o) for q, o in sorted(table.items())])
        return request.answer(body=b'{"messageQueueTable":' + body + b"}")

    def _on_running_info(self, conn: Connection, request: RemotingCommand) -> RemotingCommand:
        consumer = self._consumer(request)
        if consumer is None:
            return request.answer(ResponseCode.SYSTEM_ERROR,
                                  f"The Consumer Group <{request.field('consumerGroup')}> "
                                  "not exist in this consumer")  # fmt: skip
        info = consumer.running_info()
        return request.answer(body=_running_info_body(info))

    def _on_consume_directly(self, conn: Connection, request: RemotingCommand
                             ) -> Awaitable[RemotingCommand] | RemotingCommand:  # fmt: skip
        consumer = self._consumer(request)
        if consumer is None:
            return request.answer(ResponseCode.SYSTEM_ERROR, "no such consumer group here")
        msgs = decode_messages(request.body or b"", request.field("brokerName") or "")
        if not msgs:
            return request.answer(ResponseCode.SYSTEM_ERROR, "no message in the request")

        async def consume() -> RemotingCommand:
            result = await consumer.consume_directly(msgs[0], request.field("brokerName"))
            return request.answer(body=fastjson.dumps(result))

        return consume()


def _http_get(url: str, timeout_ms: int) -> str:
    with urllib.request.urlopen(url, timeout=timeout_ms / 1000) as reply:
        body: bytes = reply.read(64 * 1024)
    return body.decode("utf-8", "replace")


def _running_info_body(info: dict[str, Any]) -> bytes:
    """ConsumerRunningInfo as fastjson writes it: its mqTable is keyed by queue objects."""
    mq_table = info.pop("mqTable", {})
    head = fastjson.dumps(info)
    table = fastjson.dumps_object_keyed([(q.to_json(), v) for q, v in sorted(mq_table.items())])
    return head[:-1] + b',"mqTable":' + table + b"}"
