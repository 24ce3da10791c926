"""DLedger groups of three real rmq-broker processes on loopback: one member is elected
master and registered, every acknowledged message is on every member byte for byte, a
killed or frozen master is replaced within seconds, and no acknowledged message is lost."""

import asyncio
import signal
import time
from pathlib import Path

import pytest

from rmq.common.codes import ResponseCode
from rmq.remoting.client import RemotingClient
from tests.harness import netns
from tests.harness.broker_requests import pull_request, send_request
from tests.harness.dledger import (
    TOPIC,
    Group,
    Load,
    broker_addrs,
    check,
    consume_all,
    dledger_group,
    wait_master,
)
from tests.harness.processes import ServerProcess, running_namesrv, start_broker

pytestmark = pytest.mark.slow


async def test_a_group_elects_one_master_and_replicates_every_ack(tmp_path: Path) -> None:
    with dledger_group(tmp_path) as group:
        client = RemotingClient(timeout=10.0)
        try:
            master = await wait_master(client, group)
            codes = []
            for n in range(100):
                reply = await client.invoke(
                    master, send_request(TOPIC, f"m-{n}".encode(), queue_id=n % 4), 5.0
                )
                codes.append(reply.code)
            assert codes == [ResponseCode.SUCCESS] * 100
            addrs = await broker_addrs(client, group.namesrv)
            # Java numbers slaves by their id: n0 -> 1, n1 -> 2, n2 -> 3.
            leader = group.index_of(master)
            assert addrs == {"0": master} | {
                str(i + 1): group.addr(i) for i in range(3) if i != leader
            }
            follower = group.addr((leader + 1) % 3)
            refused = await client.invoke(follower, send_request(TOPIC, b"no"), 5.0)
            assert refused.code == ResponseCode.SERVICE_NOT_AVAILABLE
            # Followers answer pulls with exactly what was committed.
            per_queue = await consume_all(client, follower)
            numbered = sorted((b for q in per_queue for b in q if b.startswith("m-")),
                              key=lambda b: int(b[2:]))  # fmt: skip
            assert numbered == [f"m-{n}" for n in range(100)]
        finally:
            await client.close()
        for i in range(3):
            group.stop(i, signal.SIGTERM)
        logs = [group.commitlog(i) for i in range(3)]
        assert len(logs[0]) > 100 * 100
        assert logs[0] == logs[1] == logs[2]


async def test_killing_the_master_under_load_loses_no_acknowledged_message(
    tmp_path: Path,
) -> None:
    with dledger_group(tmp_path) as group:
        client = RemotingClient(timeout=10.0)
        try:
            master = await wait_master(client, group)
            load = Load(client, group)
            runner = asyncio.create_task(load.run(limit=100_000, seconds=60))
            await asyncio.sleep(1.5)
            old = group.index_of(master)
            fault_at = time.monotonic()
            group.stop(old, signal.SIGKILL)
            new_master = await wait_master(client, group, not_addr=master)
            failover = time.monotonic() - fault_at
            await asyncio.sleep(1.0)
            # The old master comes back as a follower and catches up.
            group.start(old)
            await asyncio.sleep(2.0)
            load.stop()
            await runner
            addrs = await broker_addrs(client, group.namesrv)
            assert addrs["0"] == new_master
            assert addrs[str(old + 1)] == master
            verdict = check(load, await consume_all(client, new_master))
            print(f"failover {failover:.2f} s, outage {load.outage_after(fault_at):.2f} s, "
                  f"{len(load.acked())} acked, {verdict}")  # fmt: skip
            assert verdict.lost == []
            assert verdict.out_of_order == 0
            rejoined = await consume_all(client, master)
            assert sorted(b for q in rejoined for b in q) == sorted(
                b for q in await consume_all(client, new_master) for b in q
            )
        finally:
            await client.close()
        for i in range(3):
            group.stop(i, signal.SIGTERM)
        logs = [group.commitlog(i) for i in range(3)]
        assert logs[0] == logs[1] == logs[2]


async def test_a_frozen_master_is_replaced_and_steps_down_when_it_wakes(tmp_path: Path) -> None:
    """Three rounds, under load: a frozen master wakes with sends in its socket buffer and
    its own uncommitted writes in its commitlog while the new term's entries arrive; none
    of those writes may be acknowledged and every acknowledged message must survive."""
    with dledger_group(tmp_path) as group:
        client = RemotingClient(timeout=10.0)
        try:
            master = await wait_master(client, group)
            load = Load(client, group)
            runner = asyncio.create_task(load.run(limit=100_000, seconds=120))
            for _ in range(3):
                await asyncio.sleep(1.0)
                frozen = group.brokers[group.index_of(master)]
                assert frozen is not None
                frozen.proc.send_signal(signal.SIGSTOP)
                try:
                    new_master = await wait_master(client, group, not_addr=master)
                finally:
                    frozen.proc.send_signal(signal.SIGCONT)
                # Woken, it learns the new term and refuses writes at once.
                deadline = time.monotonic() + 10
                code: int = ResponseCode.SUCCESS
                while time.monotonic() < deadline:
                    reply = await client.invoke(master, send_request(TOPIC, b"stale"), 5.0)
                    code = reply.code
                    if code == ResponseCode.SERVICE_NOT_AVAILABLE:
                        break
                    await asyncio.sleep(0.1)
                assert code == ResponseCode.SERVICE_NOT_AVAILABLE
                master = new_master
            await asyncio.sleep(1.0)
            load.stop()
            await runner
            verdict = check(load, await consume_all(client, master))
            assert verdict.lost == []
            assert (await broker_addrs(client, group.namesrv))["0"] == master
        finally:
            await client.close()
        for i in range(3):
            group.stop(i, signal.SIGTERM)
        logs = [group.commitlog(i) for i in range(3)]
        assert logs[0] == logs[1] == logs[2]


async def test_a_restarted_member_keeps_its_log_and_the_group_its_messages(
    tmp_path: Path,
) -> None:
    with dledger_group(tmp_path) as group:
        client = RemotingClient(timeout=10.0)
        try:
            master = await wait_master(client, group)
            for n in range(20):
                reply = await client.invoke(master, send_request(TOPIC, f"m-{n}".encode()), 5.0)
                assert reply.code == ResponseCode.SUCCESS
            for i in range(3):
                group.stop(i, signal.SIGTERM)
            for i in range(3):
                group.start(i)
            master = await wait_master(client, group)
            reply = await client.invoke(master, pull_request("g", TOPIC, 0, 0, max_nums=64), 5.0)
            assert reply.code == ResponseCode.SUCCESS
            per_queue = await consume_all(client, master)
            assert [f"m-{n}" for n in range(20)] == [b for b in per_queue[0] if b.startswith("m-")]
        finally:
            await client.close()


@pytest.mark.skipif(netns.available() is not None, reason=str(netns.available()))
async def test_a_partitioned_master_is_replaced_and_rejoins_after_healing(tmp_path: Path) -> None:
    """Three broker hosts and a client host (with the NameServer) on one switch, every
    broker on 10911 as on real machines. Unplugging the master's host makes the other two
    elect a new master; plugging it back makes the old one a follower with the same log."""
    with netns.switched_hosts(4) as switch, netns.inside(switch.hosts[3]):
        client_host = switch.hosts[3]
        with running_namesrv(tmp_path / "ns", {"bindAddress": "0.0.0.0"}, 9876):
            hosts = [h.ip for h in switch.hosts[:3]]
            group = Group(tmp_path, f"{client_host.ip}:9876", [10911] * 3, [40911] * 3, hosts,
                          [None] * 3)  # fmt: skip

            def launch(i: int) -> ServerProcess:
                with netns.inside(switch.hosts[i]):
                    return start_broker(tmp_path / f"n{i}", group.namesrv, group.properties(i),
                                        10911)  # fmt: skip

            group.launcher = launch
            client = RemotingClient(timeout=10.0)
            try:
                for i in range(3):
                    group.start(i)
                master = await wait_master(client, group, timeout=30)
                load = Load(client, group)
                runner = asyncio.create_task(load.run(limit=100_000, seconds=90))
                await asyncio.sleep(1.0)
                cut = switch.hosts[group.index_of(master)]
                fault_at = time.monotonic()
                switch.cut(cut)
                try:
                    new_master = await wait_master(client, group, not_addr=master, timeout=30)
                    failover = time.monotonic() - fault_at
                    await asyncio.sleep(1.0)
                finally:
                    switch.heal(cut)
                # Healed: the old master hears the new term and follows.
                deadline = time.monotonic() + 30
                addrs = await broker_addrs(client, group.namesrv)
                while time.monotonic() < deadline:
                    addrs = await broker_addrs(client, group.namesrv)
                    if addrs.get(str(group.index_of(master) + 1)) == master:
                        break
                    await asyncio.sleep(0.2)
                assert addrs["0"] == new_master
                assert addrs.get(str(group.index_of(master) + 1)) == master
                await asyncio.sleep(1.0)
                load.stop()
                await runner
                verdict = check(load, await consume_all(client, new_master))
                print(f"partition failover {failover:.2f} s, {verdict}")
                assert verdict.lost == []
                assert verdict.out_of_order == 0
            finally:
                await client.close()
                for i in range(3):
                    group.stop(i, signal.SIGTERM)
            logs = [group.commitlog(i) for i in range(3)]
            assert logs[0] == logs[1] == logs[2]


async def test_garbage_on_a_raft_port_is_dropped_and_the_group_goes_on(tmp_path: Path) -> None:
    with dledger_group(tmp_path) as group:
        client = RemotingClient(timeout=10.0)
        try:
            master = await wait_master(client, group)
            port = group.raft_ports[group.index_of(master)]
            # A frame that does not decode as a Raft message is ignored (connection kept).
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"\x00\x00\x00\x0a" + b"not-a-raft")
            await writer.drain()
            # One past the frame limit: the member hangs up.
            writer.write(b"\x7f\xff\xff\xff")
            await writer.drain()
            assert await asyncio.wait_for(reader.read(), 5.0) == b""
            writer.close()
            reply = await client.invoke(master, send_request(TOPIC, b"still-here"), 5.0)
            assert reply.code == ResponseCode.SUCCESS
            assert (await broker_addrs(client, group.namesrv))["0"] == master
        finally:
            await client.close()
        log = tmp_path / f"n{group.index_of(master)}" / "logs" / "rocketmqlogs" / "broker.log"
        text = log.read_text()
        assert "ignoring a peer message" in text
        assert "sent a 2147483647-byte frame" in text
