"""What the Cluster and Ops pages show: brokers per cluster with role, version, TPS and
message counts (the same runtime info ``mqadmin clusterList -m`` reads)."""

import asyncio
from dataclasses import asdict, dataclass
from typing import Any

from rmq.admin.admin_client import AdminClient, AdminError


@dataclass(frozen=True, slots=True)
class BrokerRow:
    cluster: str
    broker_name: str
    broker_id: int
    addr: str
    role: str
    version: str
    in_tps: float
    out_tps: float
    in_yesterday: int
    out_yesterday: int
    in_today: int
    out_today: int
    error: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _long(table: dict[str, str], key: str) -> int:
    try:
        return int(table.get(key) or 0)
    except ValueError:
        return 0


def _float(table: dict[str, str], key: str) -> float:
    # Java writes "putTps" as "12.5 11.0 10.2" (10 s, 1 min, 10 min windows): the first.
    try:
        return float((table.get(key) or "0").split()[0])
    except (ValueError, IndexError):
        return 0.0


async def _row(admin: AdminClient, cluster: str, name: str, broker_id: int, addr: str) -> BrokerRow:
    role = "MASTER" if broker_id == 0 else "SLAVE"
    try:
        kv = await admin.runtime_info(addr)
    except AdminError as exc:
        return BrokerRow(cluster, name, broker_id, addr, role, "", 0.0, 0.0, 0, 0, 0, 0, str(exc))
    put = [_long(kv, f"msgPutTotal{k}") for k in ("YesterdayMorning", "TodayMorning", "TodayNow")]
    get = [_long(kv, f"msgGetTotal{k}") for k in ("YesterdayMorning", "TodayMorning", "TodayNow")]
    return BrokerRow(
        cluster,
        name,
        broker_id,
        addr,
        role,
        kv.get("brokerVersionDesc", ""),
        _float(kv, "putTps"),
        _float(kv, "getTransferedTps"),
        put[1] - put[0],
        get[1] - get[0],
        put[2] - put[1],
        get[2] - get[1],
    )


async def broker_rows(admin: AdminClient) -> list[BrokerRow]:
    """Every broker the NameServer knows, asked for its runtime info in parallel."""
    info = await admin.cluster_info()
    calls = []
    for cluster, names in sorted(info.clusters.items()):
        for name in names:
            for broker_id, addr in sorted(info.brokers.get(name, ("", {}))[1].items()):
                calls.append(_row(admin, cluster, name, broker_id, addr))
    return list(await asyncio.gather(*calls))


async def broker_detail(admin: AdminClient, addr: str) -> dict[str, dict[str, str]]:
    """One broker's runtime status and configuration, both sorted by key."""
    info = await admin.cluster_info()
    if info.broker_name_of(addr) is None:
        raise LookupError(f"no broker at {addr} in this cluster")
    runtime, config = await asyncio.gather(admin.runtime_info(addr), admin.broker_config(addr))
    return {"runtime": dict(sorted(runtime.items())), "config": dict(sorted(config.items()))}
