"""Registering with every NameServer (Java: ``BrokerOuterAPI.registerBrokerAll``): at start,
every registerNameServerPeriod (clamped to 10-60 s, as Java does), at once after a topic
change, and an UNREGISTER_BROKER on shutdown."""

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Callable

from rmq.broker.context import BrokerContext
from rmq.common.codes import RequestCode, ResponseCode
from rmq.common.perm import is_readable, is_writeable
from rmq.common.route import RegisterBrokerBody, TopicConfig
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import request
from rmq.remoting.errors import RemotingError

log = logging.getLogger(__name__)


def namesrv_addrs(text: str | None) -> list[str]:
    return [a.strip() for a in (text or "").split(";") if a.strip()]


class Registration:
    def __init__(self, ctx: BrokerContext, client: RemotingClient) -> None:
        self._ctx = ctx
        self._client = client
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        #: Called with the (haServerAddr, masterAddr) each accepted registration answers:
        #: the NameServer names a slave's master this way.
        self.on_master: Callable[[str | None, str | None], None] | None = None

    @property
    def addrs(self) -> list[str]:
        return namesrv_addrs(self._ctx.broker.namesrv_addr)

    def _topics(self) -> dict[str, TopicConfig]:
        perm = self._ctx.broker.broker_permission
        topics = dict(self._ctx.topics.topics)
        if is_writeable(perm) and is_readable(perm):
            return topics
        # A broker without write (or read) permission advertises every topic without it.
        return {n: _with_perm(c, c.perm & perm) for n, c in topics.items()}

    def _headers(self) -> dict[str, str]:
        b = self._ctx.broker
        return {
            "brokerAddr": self._ctx.addr,
            "brokerId": str(b.broker_id),
            "brokerName": b.broker_name,
            "clusterName": b.broker_cluster_name,
        }

    async def register_once(self) -> int:
        """Register with every NameServer in parallel; returns how many accepted."""
        ctx = self._ctx
        body = RegisterBrokerBody(ctx.topics.data_version, self._topics(), []).encode()
        headers = {
            **self._headers(),
            "haServerAddr": f"{ctx.broker.broker_ip2}:{ctx.store_config.ha_listen_port}",
            "compressed": "false",
            "bodyCrc32": str(zlib.crc32(body) & 0x7FFFFFFF),
        }
        timeout = ctx.broker.register_broker_timeout_mills / 1000
        results = await asyncio.gather(
            *(self._register(addr, headers, body, timeout) for addr in self.addrs)
        )
        return sum(results)

    async def _register(self, addr: str, headers: dict[str, str], body: bytes,
                        timeout: float) -> bool:  # fmt: skip
        try:
            reply = await self._client.invoke(
                addr, request(RequestCode.REGISTER_BROKER, headers, body), timeout
            )
        except (RemotingError, OSError) as exc:
            log.warning("register to name server %s failed: %s", addr, exc)
            return False
        if reply.code != ResponseCode.SUCCESS:
            log.warning("register to name server %s refused: %s %s", addr, reply.code, reply.remark)
            return False
        if self.on_master is not None:
            self.on_master(reply.field("haServerAddr") or None, reply.field("masterAddr") or None)
        return True

    def request_now(self) -> None:
        """A topic changed: register without waiting for the period."""
        self._wake.set()

    async def registered(self) -> None:
        """Register now and return once every NameServer answered (or the attempt timed
        out), so an admin's topic change is routable when its answer arrives."""
        if self.addrs:
            await self.register_once()

    async def _run(self) -> None:
        period = max(10.0, min(self._ctx.broker.register_name_server_period / 1000, 60.0))
        while True:
            try:
                async with asyncio.timeout(period):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.register_once()
            except Exception:
                log.exception("register broker failed")

    async def start(self) -> None:
        if not self.addrs:
            log.warning("no namesrvAddr configured: the broker registers with no NameServer")
            return
        await self.register_once()
        self._task = asyncio.create_task(self._run(), name="broker-register")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        headers = self._headers()
        for addr in self.addrs:
            try:
                await self._client.invoke(
                    addr, request(RequestCode.UNREGISTER_BROKER, headers), 3.0
                )
            except (RemotingError, OSError) as exc:
                log.warning("unregister from name server %s failed: %s", addr, exc)


def _with_perm(config: TopicConfig, perm: int) -> TopicConfig:
    return TopicConfig(
        config.topic_name,
        config.read_queue_nums,
        config.write_queue_nums,
        perm,
        config.topic_filter_type,
        config.topic_sys_flag,
        config.order,
    )
