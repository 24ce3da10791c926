"""Master/slave replication with real processes: a NameServer, a master and a slave on
loopback. What a user sees: every acknowledged message is on the slave byte for byte, a
SYNC_MASTER send waits for the slave (or says why not), the slave answers pulls, and it
catches up after being killed, frozen or left behind."""

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from rmq.common import fastjson
from rmq.common.codes import RequestCode, ResponseCode
from rmq.remoting.client import RemotingClient
from rmq.remoting.command import RemotingCommand, request
from tests.harness import netns
from tests.harness.broker_requests import pull_request, send_request
from tests.harness.processes import (
    ServerProcess,
    free_broker_port,
    running_namesrv,
    start_broker,
)

pytestmark = pytest.mark.slow

TOPIC = "HaTopic"
FAST_HA = {
    "brokerName": "broker-ha",
    "haSendHeartbeatInterval": "1000",
    "haHousekeepingInterval": "5000",
    "syncFlushTimeout": "1500",
}


@dataclass
class Cluster:
    namesrv: str
    root: Path
    master: ServerProcess
    slave: ServerProcess | None
    master_port: int
    slave_port: int
    role: str
    master_extra: dict[str, str]

    def start_master(self) -> None:
        extra = {**FAST_HA, "brokerRole": self.role, **self.master_extra}
        self.master = start_broker(self.root / "master", self.namesrv, extra, self.master_port)

    def start_slave(self) -> None:
        extra = {**FAST_HA, "brokerRole": "SLAVE", "brokerId": "1"}
        self.slave = start_broker(self.root / "slave", self.namesrv, extra, self.slave_port)

    def logs(self) -> str:
        parts = [self.master.log_tail("broker.log", 30)]
        if self.slave is not None:
            parts.append(self.slave.log_tail("broker.log", 30))
        return "\n---\n".join(parts)


@contextmanager
def cluster(
    tmp_path: Path, role: str = "SYNC_MASTER", slave: bool = True,
    master_extra: dict[str, str] | None = None,
) -> Iterator[Cluster]:  # fmt: skip
    with running_namesrv(tmp_path / "ns") as ns:
        master_port = free_broker_port()
        slave_port = free_broker_port([master_port, master_port + 1])
        c = Cluster(ns.addr, tmp_path, None, None, master_port, slave_port, role,  # type: ignore[arg-type]
                    master_extra or {})  # fmt: skip
        c.start_master()
        try:
            if slave:
                c.start_slave()
            yield c
        except BaseException:
            print(c.logs())
            raise
        finally:
            if c.slave is not None:
                c.slave.stop()
            c.master.stop()


async def send_many(
    client: RemotingClient, addr: str, count: int, tag: str = "m", codes: list[int] | None = None
) -> list[int]:
    """Send one at a time; ``codes`` collects the answers as they come, so a caller keeps
    them even when the broker dies mid-way."""
    codes = [] if codes is None else codes
    for i in range(count):
        reply = await client.invoke(
            addr, send_request(TOPIC, f"{tag}-{i}".encode() * 10, queue_id=i % 4), 10.0
        )
        codes.append(reply.code)
    return codes


async def runtime(client: RemotingClient, addr: str) -> dict[str, str]:
    reply = await client.invoke(addr, request(RequestCode.GET_BROKER_RUNTIME_INFO), 5.0)
    table: dict[str, str] = fastjson.loads(reply.body or b"{}")["table"]
    return table


async def max_offset(client: RemotingClient, addr: str) -> int:
    return int((await runtime(client, addr))["commitLogMaxOffset"])


async def wait_until(
    check: Callable[[], Awaitable[bool]], failure: str, timeout: float = 20.0, every: float = 0.2
) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, failure
        await asyncio.sleep(every)


async def wait_caught_up(
    client: RemotingClient, master: str, slave: str, timeout: float = 30.0
) -> int:
    """The master's commitlog end once the slave's equals it."""
    reached = [-1, -2]

    async def same() -> bool:
        reached[:] = [await max_offset(client, master), await max_offset(client, slave)]
        return reached[0] == reached[1]

    await wait_until(same, f"the slave never caught up: master, slave at {reached}", timeout)
    return reached[0]


async def pull_once_synced(client: RemotingClient, addr: str, queue_id: int) -> RemotingCommand:
    """A pull from ``queue_id`` of TOPIC on a slave, once it copied the topic from its master
    (3 s after start, then every 10 s)."""
    replies: list[RemotingCommand] = []

    async def answered() -> bool:
        pull = pull_request("g-ha", TOPIC, queue_id, 0, max_nums=64)
        replies[:] = [await client.invoke(addr, pull)]
        return replies[0].code != ResponseCode.TOPIC_NOT_EXIST

    await wait_until(answered, "the slave never synced the topic", every=0.5)
    return replies[0]


async def caught_up(client: RemotingClient, c: Cluster) -> int:
    assert c.slave is not None
    return await wait_caught_up(client, c.master.addr, c.slave.addr)


def commitlog(home: Path, end: int) -> bytes:
    segments = sorted((home / "store" / "commitlog").iterdir())
    data = b"".join(p.read_bytes() for p in segments)
    start = int(segments[0].name)
    assert start == 0
    return data[:end]


async def test_sync_master_acks_reach_the_slave_byte_identical(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        assert c.slave is not None
        client = RemotingClient(timeout=10.0)
        try:
            codes = await send_many(client, c.master.addr, 200)
            assert codes == [ResponseCode.SUCCESS] * 200
            end = await caught_up(client, c)
            assert commitlog(c.root / "master", end) == commitlog(c.root / "slave", end)
            # The slave's consume queues answer pulls, message for message, once it copied
            # the topic's config from its master (3 s after start, then every 10 s).
            pulled = 0
            for queue_id in range(4):
                reply = await pull_once_synced(client, c.slave.addr, queue_id)
                assert reply.code == ResponseCode.SUCCESS, reply.remark
                assert int(reply.field("maxOffset") or 0) == 50
                pulled += int(reply.field("maxOffset") or 0)
            assert pulled == 200
            info = await runtime(client, c.master.addr)
            assert info["haConnectionCount"] == "1"
            assert int(info["haPush2SlaveMaxOffset"]) == end
            assert any(k.startswith("haSlave_") for k in info)
            slave_info = await runtime(client, c.slave.addr)
            assert slave_info["haMasterConnected"] == "true"
            # A slave takes no sends.
            reply = await client.invoke(c.slave.addr, send_request(TOPIC, b"x"), 5.0)
            assert reply.code == ResponseCode.SERVICE_NOT_AVAILABLE
        finally:
            await client.close()


async def test_sync_master_without_slave_says_slave_not_available(tmp_path: Path) -> None:
    with cluster(tmp_path, slave=False) as c:
        client = RemotingClient(timeout=10.0)
        try:
            assert (
                await send_many(client, c.master.addr, 3) == [ResponseCode.SLAVE_NOT_AVAILABLE] * 3
            )
            # A producer that does not wait for the store (WAIT=false) is answered at once.
            reply = await client.invoke(
                c.master.addr, send_request(TOPIC, b"no-wait", properties={"WAIT": "false"})
            )
            assert reply.code == ResponseCode.SUCCESS
            # Stored all the same: the master answers pulls for them.
            reply = await client.invoke(c.master.addr, pull_request("g", TOPIC, 0, 0), 10.0)
            assert reply.code == ResponseCode.SUCCESS
        finally:
            await client.close()


async def test_frozen_slave_times_out_sync_sends_then_catches_up(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        assert c.slave is not None
        client = RemotingClient(timeout=10.0)
        try:
            assert await send_many(client, c.master.addr, 5) == [ResponseCode.SUCCESS] * 5
            c.slave.proc.send_signal(signal.SIGSTOP)
            try:
                codes = await send_many(client, c.master.addr, 2, "frozen")
                assert codes == [ResponseCode.FLUSH_SLAVE_TIMEOUT] * 2
            finally:
                c.slave.proc.send_signal(signal.SIGCONT)
            end = await caught_up(client, c)
            assert commitlog(c.root / "master", end) == commitlog(c.root / "slave", end)
            assert await send_many(client, c.master.addr, 3, "after") == [ResponseCode.SUCCESS] * 3
        finally:
            await client.close()


async def test_killed_slave_restarts_and_catches_up(tmp_path: Path) -> None:
    with cluster(tmp_path, role="ASYNC_MASTER") as c:
        assert c.slave is not None
        client = RemotingClient(timeout=10.0)
        try:
            assert await send_many(client, c.master.addr, 50) == [ResponseCode.SUCCESS] * 50
            load = asyncio.create_task(send_many(client, c.master.addr, 300, "during"))
            await asyncio.sleep(0.2)
            c.slave.stop(signal.SIGKILL)
            assert await load == [ResponseCode.SUCCESS] * 300
            c.start_slave()
            end = await caught_up(client, c)
            assert commitlog(c.root / "master", end) == commitlog(c.root / "slave", end)
        finally:
            await client.close()


async def test_a_pull_held_on_the_slave_wakes_when_a_replicated_message_arrives(
    tmp_path: Path,
) -> None:
    with cluster(tmp_path, role="ASYNC_MASTER") as c:
        assert c.slave is not None
        client = RemotingClient(timeout=40.0)
        try:
            assert await send_many(client, c.master.addr, 4) == [ResponseCode.SUCCESS] * 4
            await caught_up(client, c)
            first = await pull_once_synced(client, c.slave.addr, 0)
            assert first.code == ResponseCode.SUCCESS
            end = int(first.field("nextBeginOffset") or 0)
            # A long-polling pull at the end of queue 0 is held by the slave...
            pull = pull_request("g-ha", TOPIC, 0, end, suspend_ms=30_000)
            held = asyncio.ensure_future(client.invoke(c.slave.addr, pull, 40.0))
            await asyncio.sleep(1.0)
            assert not held.done()
            sent_at = time.monotonic()
            # ...until the master's next message for that queue reaches the slave.
            late = await client.invoke(c.master.addr, send_request(TOPIC, b"late", queue_id=0))
            assert late.code == ResponseCode.SUCCESS
            answer = await asyncio.wait_for(held, 20.0)
            assert answer.code == ResponseCode.SUCCESS
            assert int(answer.field("nextBeginOffset") or 0) == end + 1
            assert time.monotonic() - sent_at < 10.0, "woken by the message, not the timeout"
        finally:
            await client.close()


async def test_killed_sync_master_loses_nothing_acknowledged(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        assert c.slave is not None
        client = RemotingClient(timeout=10.0)
        try:
            answers: list[int] = []
            load = asyncio.create_task(send_many(client, c.master.addr, 2000, "load", answers))
            await wait_until(lambda: _true(len(answers) >= 20), "no answers before the kill")
            c.master.stop(signal.SIGKILL)
            await asyncio.gather(load, return_exceptions=True)
            acked = [code for code in answers if code == ResponseCode.SUCCESS]
            assert len(acked) >= 20
            # Whatever was acknowledged before the kill is on the slave.
            slave_max = await max_offset(client, c.slave.addr)
            assert slave_max > 0
            total = 0
            for queue_id in range(4):
                reply = await client.invoke(
                    c.slave.addr, request(RequestCode.GET_MAX_OFFSET,
                                          {"topic": TOPIC, "queueId": str(queue_id)}),
                )  # fmt: skip
                total += int(reply.field("offset") or 0)
            assert total >= len(acked)
            c.start_master()

            async def reconnected() -> bool:
                return (await runtime(client, c.master.addr))["haConnectionCount"] == "1"

            await wait_until(reconnected, "the slave never reconnected")
            assert await send_many(client, c.master.addr, 5, "again") == [ResponseCode.SUCCESS] * 5
            end = await caught_up(client, c)
            assert commitlog(c.root / "master", end) == commitlog(c.root / "slave", end)
        finally:
            await client.close()


async def test_slave_ahead_of_a_wiped_master_is_refused(tmp_path: Path) -> None:
    with cluster(tmp_path, role="ASYNC_MASTER") as c:
        assert c.slave is not None
        client = RemotingClient(timeout=10.0)
        try:
            assert await send_many(client, c.master.addr, 20) == [ResponseCode.SUCCESS] * 20
            ahead = await caught_up(client, c)
            c.master.stop()
            for path in sorted((c.root / "master" / "store").iterdir()):
                if path.name != "config":
                    _remove(path)
            c.start_master()

            async def refused() -> bool:
                return "diverged" in c.master.log_tail("broker.log", 200)

            await wait_until(refused, "the master never refused the slave")
            # New messages on the master never land on top of the slave's other history,
            # not even once the master's log grows past the slave's end and it restarts.
            assert await send_many(client, c.master.addr, 40) == [ResponseCode.SUCCESS] * 40
            assert await max_offset(client, c.master.addr) > ahead
            before = c.master.log_tail("broker.log", 100_000).count("diverged")
            c.master.stop()
            c.start_master()

            async def refused_again() -> bool:
                return c.master.log_tail("broker.log", 100_000).count("diverged") > before

            await wait_until(refused_again, "the restarted master forgot the diverged slave")
            await asyncio.sleep(1.5)
            assert await max_offset(client, c.slave.addr) == ahead
        finally:
            await client.close()


async def test_master_sends_slow_consumers_to_the_slave(tmp_path: Path) -> None:
    # accessMessageInMemoryMaxRatio=0: anything behind the log's end counts as on disk.
    extra = {"slaveReadEnable": "true", "accessMessageInMemoryMaxRatio": "0"}
    with cluster(tmp_path, "ASYNC_MASTER", slave=False, master_extra=extra) as c:
        client = RemotingClient(timeout=10.0)
        try:
            assert await send_many(client, c.master.addr, 8) == [ResponseCode.SUCCESS] * 8
            behind = await client.invoke(c.master.addr, pull_request("g", TOPIC, 0, 0, max_nums=1))
            assert behind.field("suggestWhichBrokerId") == "1"
        finally:
            await client.close()


async def _true(value: bool) -> bool:
    return value


def _remove(path: Path) -> None:
    if path.is_dir():
        for child in path.iterdir():
            _remove(child)
        path.rmdir()
    else:
        path.unlink()


@pytest.mark.skipif(netns.available() is not None, reason=str(netns.available()))
async def test_network_cut_between_master_and_slave_hosts_then_heal(tmp_path: Path) -> None:
    """Master (with the NameServer) and slave on two hosts joined by a veth pair, both on
    port 10911 as on real machines. Pulling the cable stops SYNC_MASTER acks; plugging it
    back lets the slave resume from its own offset until the logs are identical."""
    with netns.two_hosts() as cable, netns.inside(cable.a):
        a, b = cable.a.ip, cable.b.ip
        ns_home = tmp_path / "ns"
        with running_namesrv(ns_home, {"bindAddress": "0.0.0.0"}, 9876):
            common = {**FAST_HA, "namesrvAddr": f"{a}:9876"}
            master = start_broker(tmp_path / "master", None, {
                **common, "brokerRole": "SYNC_MASTER", "brokerIP1": a, "brokerIP2": a,
            }, 10911)  # fmt: skip
            slave: ServerProcess | None = None
            client = RemotingClient(timeout=10.0)
            try:
                with netns.inside(cable.b):
                    slave = start_broker(tmp_path / "slave", None, {
                        **common, "brokerRole": "SLAVE", "brokerId": "1", "brokerIP1": b,
                        "brokerIP2": b,
                    }, 10911)  # fmt: skip
                master_addr, slave_addr = f"{a}:10911", f"{b}:10911"

                async def replicating() -> bool:
                    reply = await client.invoke(master_addr, send_request(TOPIC, b"hello"))
                    return reply.code == ResponseCode.SUCCESS

                await wait_until(replicating, "the slave never acknowledged", timeout=30)
                assert await send_many(client, master_addr, 20) == [ResponseCode.SUCCESS] * 20
                cable.cut()
                try:
                    # Unacknowledged while the cable is out: first the acks time out, then
                    # housekeeping drops the silent slave and sends say no slave is there.
                    cut_codes = await send_many(client, master_addr, 3, "cut")
                    await asyncio.sleep(6)
                    cut_codes += await send_many(client, master_addr, 2, "cut-late")
                finally:
                    cable.heal()
                assert set(cut_codes) <= {
                    ResponseCode.FLUSH_SLAVE_TIMEOUT, ResponseCode.SLAVE_NOT_AVAILABLE,
                }, cut_codes  # fmt: skip
                assert cut_codes[-1] == ResponseCode.SLAVE_NOT_AVAILABLE
                end = await wait_caught_up(client, master_addr, slave_addr, timeout=40)
                assert commitlog(tmp_path / "master", end) == commitlog(tmp_path / "slave", end)
                assert (
                    await send_many(client, master_addr, 5, "healed") == [ResponseCode.SUCCESS] * 5
                )
            except BaseException:
                print(master.log_tail("broker.log", 40))
                if slave is not None:
                    print(slave.log_tail("broker.log", 40))
                raise
            finally:
                await client.close()
                if slave is not None:
                    slave.stop()
                master.stop()
