"""The seed's 2m-2s-async deployment on rmq, driven by the official tools: two NameServers
and the four brokers of conf/loopback/2m-2s-async (the shipped files, with ports and store
dirs moved into the test's temp dir). The official mqadmin lists the four brokers with
their ids and roles; the official Java producer spreads over both masters and its
consumer reads everything; with broker-a's master gone, sends go to broker-b and a
consumer still reads broker-a's messages from its slave."""

import asyncio
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rmq.common import fastjson
from rmq.common.codes import RequestCode
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import request
from tests.harness.java import mqadmin_batch
from tests.harness.java_client import java, received
from tests.harness.processes import (
    ServerProcess,
    free_broker_port,
    running_namesrv,
    start_broker,
)

pytestmark = [pytest.mark.compat, pytest.mark.slow]

LAYOUT = Path(__file__).resolve().parents[2] / "conf" / "loopback" / "2m-2s-async"
TOPIC = "ClusterCompat"


def read_properties(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


@dataclass
class Deployment:
    namesrvs: list[ServerProcess]
    brokers: dict[str, ServerProcess]  # by conf file name: broker-a, broker-a-s, ...

    @property
    def namesrv_addr(self) -> str:
        return ";".join(ns.addr for ns in self.namesrvs)


@pytest.fixture(scope="module")
def d(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    home = tmp_path_factory.mktemp("cluster-2m-2s-async")
    with (
        running_namesrv(home / "ns1") as ns1,
        running_namesrv(home / "ns2") as ns2,
    ):
        deployment = Deployment([ns1, ns2], {})
        ports: list[int] = []
        try:
            # Masters first, as the loopback script starts them: a slave learns its
            # master's HA address from the NameServers.
            for name in ("broker-a", "broker-b", "broker-a-s", "broker-b-s"):
                values = read_properties(LAYOUT / f"{name}.properties")
                port = free_broker_port([p + k for p in ports for k in (-2, -1, 0, 1, 2)])
                ports.append(port)
                store = home / name / "store"
                values.update({
                    "listenPort": str(port), "namesrvAddr": deployment.namesrv_addr,
                    "storePathRootDir": str(store),
                    "storePathCommitLog": str(store / "commitlog"),
                    "storePathConsumeQueue": str(store / "consumequeue"),
                    "storePathIndex": str(store / "index"),
                    "storeCheckpoint": str(store / "checkpoint"),
                    "abortFile": str(store / "abort"),
                    "mapedFileSizeCommitLog": str(16 * 1024 * 1024),
                    "haSendHeartbeatInterval": "1000",
                })  # fmt: skip
                deployment.brokers[name] = start_broker(home / name, None, values, port)
            yield deployment
        finally:
            for server in deployment.brokers.values():
                server.stop()


def cluster_rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines() if line.startswith("rocketmq-cluster")]


def broker_config(output: str) -> dict[str, str]:
    return {
        key.strip(): value.strip()
        for key, sep, value in (line.partition("=") for line in output.splitlines())
        if sep
    }


def test_mqadmin_lists_four_brokers_with_their_roles(d: Deployment) -> None:
    commands = [["clusterList", "-n", ns.addr] for ns in d.namesrvs]
    commands += [["getBrokerConfig", "-n", d.namesrvs[0].addr, "-b", server.addr]
                 for server in d.brokers.values()]  # fmt: skip
    outputs = mqadmin_batch(commands)
    expected = sorted([
        ("broker-a", "0", d.brokers["broker-a"].addr),
        ("broker-a", "1", d.brokers["broker-a-s"].addr),
        ("broker-b", "0", d.brokers["broker-b"].addr),
        ("broker-b", "1", d.brokers["broker-b-s"].addr),
    ])  # fmt: skip
    for listing in outputs[:2]:  # each NameServer knows all four, on its own
        rows = cluster_rows(listing)
        assert sorted((r[1], r[2], r[3]) for r in rows) == expected, listing
    roles = {name: broker_config(out).get("brokerRole")
             for name, out in zip(d.brokers, outputs[2:], strict=True)}  # fmt: skip
    assert roles == {"broker-a": "ASYNC_MASTER", "broker-b": "ASYNC_MASTER",
                     "broker-a-s": "SLAVE", "broker-b-s": "SLAVE"}  # fmt: skip


def _stored_on(sent: str) -> set[str]:
    """The broker addresses in the offsetMsgIds of RmqCompat's SENT lines (IPv4 + port in
    the id's first 16 hex digits)."""
    where = set()
    for match in re.finditer(r"^SENT \d+ SEND_OK \S+ ([0-9A-F]{32})$", sent, re.M):
        raw = bytes.fromhex(match.group(1)[:16])
        where.add(f"{'.'.join(str(b) for b in raw[:4])}:{int.from_bytes(raw[4:], 'big')}")
    return where


async def slave_in_step(master: str, slave: str, timeout: float = 40.0) -> None:
    """The slave holds the master's whole log and has copied its topic configs."""
    remoting = RemotingClient(timeout=5.0)
    deadline = time.monotonic() + timeout
    try:
        while True:
            offsets = []
            for addr in (master, slave):
                reply = await remoting.invoke(addr, request(RequestCode.GET_BROKER_RUNTIME_INFO))
                offsets.append(fastjson.loads(reply.body or b"{}")["table"]["commitLogMaxOffset"])
            topics = await remoting.invoke(slave, request(RequestCode.GET_ALL_TOPIC_CONFIG))
            if offsets[0] == offsets[1] and f'"{TOPIC}"'.encode() in (topics.body or b""):
                return
            assert time.monotonic() < deadline, f"the slave {slave} never caught up: {offsets}"
            await asyncio.sleep(0.5)
    finally:
        await remoting.close()


async def test_java_clients_use_both_masters_and_read_from_a_slave(d: Deployment) -> None:
    sent = await asyncio.to_thread(java, "send", d.namesrv_addr, TOPIC, "sync", "40")
    assert sent.count("SEND_OK") == 40, sent
    masters = {d.brokers["broker-a"].addr, d.brokers["broker-b"].addr}
    assert _stored_on(sent) == masters
    out = await asyncio.to_thread(java, "push", d.namesrv_addr, TOPIC, "ClusterCompatG1",
                                  "CLUSTERING", "*", "40", "60", "0", timeout=120)  # fmt: skip
    assert sorted(int(r.idx) for r in received(out)) == list(range(40))

    await slave_in_step(d.brokers["broker-a"].addr, d.brokers["broker-a-s"].addr)
    d.brokers["broker-a"].stop()
    # Sends fail over to the other broker name.
    again = await asyncio.to_thread(java, "send", d.namesrv_addr, TOPIC, "sync", "10")
    assert again.count("SEND_OK") == 10, again
    assert _stored_on(again) == {d.brokers["broker-b"].addr}
    # A new group reads all 50: broker-a's share from its slave.
    out = await asyncio.to_thread(java, "push", d.namesrv_addr, TOPIC, "ClusterCompatG2",
                                  "CLUSTERING", "*", "50", "90", "0", timeout=150)  # fmt: skip
    got = received(out)
    assert sorted(int(r.idx) for r in got if r.idx != "null") == sorted([*range(40), *range(10)])
