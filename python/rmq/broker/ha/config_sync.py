"""A slave copies its master's metadata (Java: ``SlaveSynchronize``): topic configs,
consumer offsets, delay offsets and subscription groups, every 10 s, so that consumers
reading from the slave while the master is down resume where they were."""

import logging
from typing import Any, Final

from rmq.broker.context import BrokerContext
from rmq.common import fastjson
from rmq.common.codes import RequestCode, ResponseCode
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import request
from rmq.remoting.errors import RemotingError

log = logging.getLogger(__name__)

#: Java: first sync 3 s after start, then every 10 s.
FIRST_SYNC_SECONDS: Final = 3.0
SYNC_PERIOD_SECONDS: Final = 10.0


class ConfigSync:
    def __init__(self, ctx: BrokerContext, client: RemotingClient) -> None:
        self._ctx = ctx
        self._client = client
        #: The master's remoting address, from the NameServer's answer to registration.
        self.master_addr: str | None = None

    async def sync_all(self) -> None:
        addr = self.master_addr
        if not addr or addr == self._ctx.addr:
            return
        ctx = self._ctx
        topics = await self._fetch(addr, RequestCode.GET_ALL_TOPIC_CONFIG, "topic config")
        if topics is not None and ctx.topics.follow(topics):
            log.info("slave: topic configs updated from master %s", addr)
        offsets = await self._fetch(addr, RequestCode.GET_ALL_CONSUMER_OFFSET, "consumer offset")
        if offsets is not None:
            ctx.offsets.follow(offsets)
        delay = await self._fetch(addr, RequestCode.GET_ALL_DELAY_OFFSET, "delay offset")
        if delay is not None and ctx.schedule is not None:
            ctx.schedule.follow(delay)
        groups = await self._fetch(
            addr, RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG, "subscription group"
        )
        if groups is not None and ctx.groups.follow(groups):
            log.info("slave: subscription groups updated from master %s", addr)

    async def _fetch(self, addr: str, code: int, what: str) -> dict[str, Any] | None:
        try:
            reply = await self._client.invoke(addr, request(code), 3.0)
        except (RemotingError, OSError) as exc:
            log.warning("slave: cannot sync %s from master %s: %s", what, addr, exc)
            return None
        if reply.code != ResponseCode.SUCCESS or not reply.body:
            log.warning("slave: master %s refused %s sync: %s %s", addr, what, reply.code,
                        reply.remark)  # fmt: skip
            return None
        try:
            data = fastjson.loads(reply.body)
        except ValueError as exc:
            log.warning("slave: master %s sent an unreadable %s body: %s", addr, what, exc)
            return None
        return data if isinstance(data, dict) else None
