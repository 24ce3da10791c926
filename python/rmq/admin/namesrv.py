"""NameServer commands (Java: ``tools.command.namesrv``): updateKvConfig, deleteKvConfig,
getNamesrvConfig, updateNamesrvConfig, wipeWritePerm, addWritePerm."""

from rmq.admin.admin_client import AdminClient, AdminError
from rmq.admin.command import Command, out
from rmq.admin.options import Args, Opt

NAMESPACE = Opt("s", "namespace", True, "set the namespace", required=True)
KEY = Opt("k", "key", True, "set the key name", required=True)
BROKER_NAME = Opt("b", "brokerName", True, "broker name", required=True)


async def update_kv(args: Args, admin: AdminClient) -> None:
    await admin.put_kv(args.need("s"), args.need("k"), args.need("v"))
    out("create or update kv config to namespace success.\n")


async def delete_kv(args: Args, admin: AdminClient) -> None:
    await admin.delete_kv(args.need("s"), args.need("k"))
    out("delete kv config from namespace success.\n")


async def get_namesrv_config(args: Args, admin: AdminClient) -> None:
    for addr in admin.namesrv:
        config = await admin.namesrv_config(addr)
        out(f"============{addr}============\n")
        for key, value in config.items():
            out("%-50s=  %s\n" % (key, value))


async def update_namesrv_config(args: Args, admin: AdminClient) -> None:
    key, value = args.need("k"), args.need("v")
    for addr in admin.namesrv:
        await admin.update_namesrv_config(addr, {key: value})
    listed = "[" + ", ".join(admin.namesrv) + "]" if args.has("n") else ""
    out(f"update name server config success!{listed}\n{key} : {value}\n")


async def _write_perm(args: Args, admin: AdminClient, wipe: bool) -> None:
    name = args.need("b")
    verb = "wipe" if wipe else "add"
    for addr in admin.namesrv:
        try:
            count = await admin.write_perm(addr, name, wipe)
        except AdminError:
            out(f"{verb} write perm of broker[{name}] in name server[{addr}] Failed\n")
            continue
        out(f"{verb} write perm of broker[{name}] in name server[{addr}] OK, {count}\n")


async def wipe_write_perm(args: Args, admin: AdminClient) -> None:
    await _write_perm(args, admin, True)


async def add_write_perm(args: Args, admin: AdminClient) -> None:
    await _write_perm(args, admin, False)


COMMANDS = {
    "updateKvConfig": Command(
        "updateKvConfig", "Create or update KV config.",
        (NAMESPACE, KEY, Opt("v", "value", True, "set the key value", required=True)), update_kv,
    ),
    "deleteKvConfig": Command("deleteKvConfig", "Delete KV config.", (NAMESPACE, KEY), delete_kv),
    "getNamesrvConfig": Command("getNamesrvConfig", "Get configs of name server.", (),
                                get_namesrv_config),
    "updateNamesrvConfig": Command(
        "updateNamesrvConfig", "Update configs of name server.",
        (Opt("k", "key", True, "config key", required=True),
         Opt("v", "value", True, "config value", required=True)),
        update_namesrv_config,
    ),
    "wipeWritePerm": Command(
        "wipeWritePerm",
        "Wipe write perm of broker in all name server you defined in the -n param",
        (BROKER_NAME,), wipe_write_perm,
    ),
    "addWritePerm": Command(
        "addWritePerm",
        "Add write perm of broker in all name server you defined in the -n param",
        (BROKER_NAME,), add_write_perm,
    ),
}  # fmt: skip
