"""Broker commands (Java: ``tools.command.broker``): brokerStatus, getBrokerConfig,
updateBrokerConfig."""

from rmq.admin.admin_client import AdminClient, AdminError
from rmq.admin.command import Command, out
from rmq.admin.options import Args, Opt, UsageError


async def broker_status(args: Args, admin: AdminClient) -> None:
    if args.has("b"):
        table = await admin.runtime_info(args.need("b"))
        for key in sorted(table):
            out("%-32s: %s\n" % (key, table[key]))
        return
    if not args.has("c"):
        raise UsageError("brokerStatus needs -b or -c")
    info = await admin.cluster_info()
    for addr in info.all_addrs(args.need("c")):
        try:
            table = await admin.runtime_info(addr)
        except AdminError as exc:
            out(f"{exc}\n")
            continue
        for key in sorted(table):
            out("%-24s %-32s: %s\n" % (addr, key, table[key]))


async def _print_config(admin: AdminClient, banner: str, addr: str) -> None:
    out(banner)
    config = await admin.broker_config(addr)
    if not config:
        out(f"Broker[{addr}] has no config property!\n")
        return
    for key, value in config.items():
        out("%-50s=  %s\n" % (key, value))
    out("\n")


async def get_broker_config(args: Args, admin: AdminClient) -> None:
    if args.has("b"):
        addr = args.need("b")
        await _print_config(admin, f"============{addr}============\n", addr)
        return
    if not args.has("c"):
        raise UsageError("getBrokerConfig needs -b or -c")
    info = await admin.cluster_info()
    for name in info.clusters.get(args.need("c"), []):
        addrs = info.brokers.get(name, ("", {}))[1]
        master = addrs.get(0)
        if master is None:
            continue
        await _print_config(admin, f"============Master: {master}============\n", master)
        for broker_id, slave in sorted(addrs.items()):
            if broker_id != 0:
                banner = f"============My Master: {master}=====Slave: {slave}============\n"
                await _print_config(admin, banner, slave)


async def update_broker_config(args: Args, admin: AdminClient) -> None:
    values = {args.need("k"): args.need("v")}
    if args.has("b"):
        addr = args.need("b")
        await admin.update_broker_config(addr, values)
        out(f"update broker config success, {addr}\n")
        return
    if not args.has("c"):
        raise UsageError("updateBrokerConfig needs -b or -c")
    info = await admin.cluster_info()
    for addr in info.master_addrs(args.need("c")):
        try:
            await admin.update_broker_config(addr, values)
        except AdminError as exc:
            out(f"update broker config failed, {addr}: {exc}\n")
            continue
        out(f"update broker config success, {addr}\n")


COMMANDS = {
    "brokerStatus": Command(
        "brokerStatus", "Fetch broker runtime status data",
        (Opt("b", "brokerAddr", True, "Broker address"),
         Opt("c", "clusterName", True, "which cluster")),
        broker_status,
    ),
    "getBrokerConfig": Command(
        "getBrokerConfig", "Get broker config by cluster or special broker!",
        (Opt("b", "brokerAddr", True, "get which broker"),
         Opt("c", "clusterName", True, "get which cluster")),
        get_broker_config,
    ),
    "updateBrokerConfig": Command(
        "updateBrokerConfig", "Update broker's config",
        (Opt("b", "brokerAddr", True, "update which broker"),
         Opt("c", "clusterName", True, "update which cluster"),
         Opt("k", "key", True, "config key", required=True),
         Opt("v", "value", True, "config value", required=True)),
        update_broker_config,
    ),
}  # fmt: skip
