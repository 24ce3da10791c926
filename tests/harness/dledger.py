"""A DLedger group of real rmq-broker processes with one NameServer, and the checker that
judges what a run under faults did (in the spirit of OpenMessaging-Chaos): every send's
outcome is recorded, everything is consumed afterwards, and the report counts what was
acknowledged but never consumed (lost), consumed twice (duplicated), consumed out of send
order within a queue, and how long no send succeeded around each fault."""

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rmq.common import fastjson
from rmq.common.codes import RequestCode, ResponseCode
from rmq.common.message import decode_records
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import request
from rmq.remoting.errors import RemotingError
from tests.harness.broker_requests import pull_request, send_request
from tests.harness.processes import (
    ServerProcess,
    free_broker_port,
    free_port,
    running_namesrv,
    start_broker,
)

GROUP = "RaftNode00"
TOPIC = "RaftTopic"


@dataclass
class Group:
    root: Path
    namesrv: str
    ports: list[int]
    raft_ports: list[int]
    hosts: list[str]
    brokers: list[ServerProcess | None]
    extra: dict[str, str] = field(default_factory=dict)
    #: Starts a member; replaced by tests that put members in network namespaces.
    launcher: Callable[[int], ServerProcess] | None = None

    @property
    def peers(self) -> str:
        pairs = zip(self.hosts, self.raft_ports, strict=True)
        return ";".join(f"n{i}-{h}:{p}" for i, (h, p) in enumerate(pairs))

    def properties(self, i: int) -> dict[str, str]:
        return {
            "brokerName": GROUP,
            "brokerIP1": self.hosts[i],
            "brokerIP2": self.hosts[i],
            "enableDLegerCommitLog": "true",
            "dLegerGroup": GROUP,
            "dLegerPeers": self.peers,
            "dLegerSelfId": f"n{i}",
            "syncFlushTimeout": "3000",
            **self.extra,
        }

    def start(self, i: int) -> ServerProcess:
        if self.launcher is not None:
            broker = self.launcher(i)
        else:
            broker = start_broker(self.root / f"n{i}", self.namesrv, self.properties(i),
                                  self.ports[i])  # fmt: skip
        self.brokers[i] = broker
        return broker

    def stop(self, i: int, sig: int) -> None:
        broker = self.brokers[i]
        if broker is not None:
            broker.stop(sig)
        self.brokers[i] = None

    def addr(self, i: int) -> str:
        return f"{self.hosts[i]}:{self.ports[i]}"

    def index_of(self, addr: str) -> int:
        return [self.addr(i) for i in range(len(self.ports))].index(addr)

    def logs(self) -> str:
        return "\n".join(
            f"--- n{i}\n{b.log_tail('broker.log', 25)}"
            for i, b in enumerate(self.brokers)
            if b is not None
        )

    def commitlog(self, i: int) -> bytes:
        directory = self.root / f"n{i}" / "store" / "commitlog"
        return b"".join(p.read_bytes() for p in sorted(directory.iterdir())).rstrip(b"\0")


@contextmanager
def dledger_group(
    root: Path, members: int = 3, extra: dict[str, str] | None = None
) -> Iterator[Group]:
    with running_namesrv(root / "namesrv") as ns:
        ports: list[int] = []
        for _ in range(members):
            ports.append(free_broker_port(ports))
        group = Group(root, ns.addr, ports, [free_port() for _ in range(members)],
                      ["127.0.0.1"] * members, [None] * members, dict(extra or {}))  # fmt: skip
        try:
            for i in range(members):
                group.start(i)
            yield group
        except BaseException:
            print(group.logs())
            raise
        finally:
            for i in range(members):
                group.stop(i, 15)


async def broker_addrs(client: RemotingClient, namesrv: str) -> dict[str, str]:
    reply = await client.invoke(namesrv, request(RequestCode.GET_BROKER_CLUSTER_INFO), 3.0)
    table = fastjson.loads(reply.body or b"{}").get("brokerAddrTable", {})
    return {str(k): v for k, v in table.get(GROUP, {}).get("brokerAddrs", {}).items()}


async def wait_master(
    client: RemotingClient, group: Group, *, not_addr: str | None = None, timeout: float = 20.0,
    every: float = 0.1,
) -> str:  # fmt: skip
    """The master's address once the NameServer lists one (other than ``not_addr``) that
    takes a send (AssertionError after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            master = (await broker_addrs(client, group.namesrv)).get("0")
            if master and master != not_addr:
                reply = await client.invoke(master, send_request(TOPIC, b"probe"), 3.0)
                if reply.code == ResponseCode.SUCCESS:
                    return master
        except (OSError, TimeoutError, RemotingError):
            pass
        await asyncio.sleep(every)
    raise AssertionError(f"no master other than {not_addr} within {timeout} s\n{group.logs()}")


@dataclass
class Outcome:
    body: str
    at: float
    ok: bool


@dataclass
class Load:
    """Sends numbered messages to whoever is master, one at a time, recording outcomes."""

    client: RemotingClient
    group: Group
    queues: int = 4
    outcomes: list[Outcome] = field(default_factory=list)
    master: str | None = None
    _stop: bool = False

    async def run(self, limit: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        n = 0
        while not self._stop and n < limit and time.monotonic() < deadline:
            body = f"m-{n}"
            queue_id = n % self.queues
            ok = False
            try:
                if self.master is None:
                    self.master = (await broker_addrs(self.client, self.group.namesrv)).get("0")
                if self.master is not None:
                    reply = await self.client.invoke(
                        self.master, send_request(TOPIC, body.encode(), queue_id=queue_id), 3.0
                    )
                    ok = reply.code == ResponseCode.SUCCESS
            except (OSError, TimeoutError, RemotingError):
                ok = False
            self.outcomes.append(Outcome(body, time.monotonic(), ok))
            if not ok:
                self.master = None
                await asyncio.sleep(0.05)
            n += 1

    def stop(self) -> None:
        self._stop = True

    def acked(self) -> set[str]:
        return {o.body for o in self.outcomes if o.ok}

    def outage_after(self, fault_at: float) -> float:
        """Seconds from the fault until the first acknowledged send after it."""
        after = [o.at for o in self.outcomes if o.ok and o.at > fault_at]
        return (min(after) - fault_at) if after else float("inf")


async def consume_all(client: RemotingClient, addr: str, queues: int = 4) -> list[list[str]]:
    """Every message body of TOPIC on ``addr``, per queue in queue order."""
    result: list[list[str]] = []
    for queue_id in range(queues):
        bodies: list[str] = []
        offset = 0
        for _ in range(10_000):
            reply = await client.invoke(
                addr, pull_request("raft-checker", TOPIC, queue_id, offset, max_nums=32), 5.0
            )
            following = int(reply.field("nextBeginOffset") or offset)
            if reply.code == ResponseCode.SUCCESS:
                bodies += [m.body.decode() for m in decode_records(reply.body or b"")]
            elif (
                reply.code
                not in (ResponseCode.PULL_RETRY_IMMEDIATELY, ResponseCode.PULL_OFFSET_MOVED)
                or following <= offset
            ):
                break  # the end of the queue (or a queue that cannot be read on)
            offset = following
        result.append(bodies)
    return result


@dataclass
class Verdict:
    #: acknowledged, never consumed
    lost: list[str]
    duplicated: int
    out_of_order: int
    consumed: int


def check(load: Load, per_queue: list[list[str]]) -> Verdict:
    seen: dict[str, int] = {}
    out_of_order = 0
    for bodies in per_queue:
        last = -1
        for body in bodies:
            if not body.startswith("m-"):
                continue  # probes of wait_master
            seen[body] = seen.get(body, 0) + 1
            n = int(body[2:])
            if n < last and seen[body] == 1:
                out_of_order += 1
            last = max(last, n)
    lost = sorted(load.acked() - seen.keys(), key=lambda b: int(b[2:]))
    duplicated = sum(c - 1 for c in seen.values() if c > 1)
    return Verdict(lost, duplicated, out_of_order, sum(seen.values()))
