"""A DLedger group of three rmq brokers driven by the official Java client and mqadmin
(Apache RocketMQ 4.9.7): the Java producer keeps sending while the master is killed and
goes on with the new one; a Java push consumer then reads every message that was
acknowledged; mqadmin clusterList shows the new master as BID 0 and the others as slaves
numbered as Java numbers them (n0 -> 1, n1 -> 2, n2 -> 3)."""

import signal
from pathlib import Path

import pytest

from rmq.remoting.client import RemotingClient
from tests.harness.dledger import GROUP, dledger_group, wait_master
from tests.harness.java import mqadmin_batch
from tests.harness.java_client import JavaClient

pytestmark = [pytest.mark.compat, pytest.mark.slow]

TOPIC = "RaftCompat"


def cluster_rows(output: str) -> list[tuple[str, str, str]]:
    """(broker name, BID, address) of clusterList's rows."""
    rows = [line.split() for line in output.splitlines() if line.split()[:1] == ["TestCluster"]]
    return sorted((r[1], r[2], r[3]) for r in rows)


async def test_java_clients_carry_on_through_a_failover(tmp_path: Path) -> None:
    with dledger_group(tmp_path) as group:
        client = RemotingClient(timeout=10.0)
        try:
            master = await wait_master(client, group)
        finally:
            await client.close()
        with JavaClient("steady", group.namesrv, TOPIC, "400", "90") as producer:
            assert producer.wait_for(lambda lines: sum(x.startswith("SENT") for x in lines) >= 50,
                                     60), "\n".join(producer.lines[-20:])  # fmt: skip
            old = group.index_of(master)
            group.stop(old, signal.SIGKILL)
            output = producer.finish(120)
        sent = [line.split()[1] for line in output.splitlines() if line.startswith("SENT ")]
        failed = [line for line in output.splitlines() if line.startswith("FAILED ")]
        assert output.splitlines()[-1] == "DONE", output[-2000:]
        # Every number was acknowledged once the new master took over (a send that failed
        # during the election is a FAILED line, and the client moved on).
        assert len(sent) + len(failed) == 400
        assert len(sent) >= 300, output[-2000:]
        client = RemotingClient(timeout=10.0)
        try:
            new_master = await wait_master(client, group, not_addr=master)
        finally:
            await client.close()
        listing = mqadmin_batch([["clusterList", "-n", group.namesrv]])[0]
        rows = cluster_rows(listing)
        assert (GROUP, "0", new_master) in rows, listing
        survivors = {(GROUP, str(i + 1), group.addr(i)) for i in range(3)
                     if i != old and group.addr(i) != new_master}  # fmt: skip
        assert survivors <= set(rows), listing
        with JavaClient("push", group.namesrv, TOPIC, "raft_compat_consumer", "CLUSTERING", "*",
                        str(len(sent)), "60") as consumer:  # fmt: skip
            consumed = consumer.finish(90)
        bodies = {line.split(" ", 8)[8] for line in consumed.splitlines()
                  if line.startswith("RECV ")}  # fmt: skip
        missing = {f"steady-{n}" for n in sent} - bodies
        assert not missing, sorted(missing)[:20]
