"""``rmq-admin`` dispatch as ``mqadmin`` does it (Java: ``MQAdminStartup``): no arguments
list the commands, ``help CMD`` or ``CMD -h`` print a command's options, otherwise the
command runs. Errors are one line on stderr and a non-zero exit, never a traceback."""

import asyncio
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Final

from rmq.admin.admin_client import AdminClient, AdminError
from rmq.admin.command import Command
from rmq.admin.options import HELP, NAMESRV, Args, Opt, UsageError, help_text, parse
from rmq.admin.table import COMMANDS

NAMESRV_ENV: Final = "NAMESRV_ADDR"
EXIT_USAGE: Final = 1
EXIT_FAILED: Final = 1
EXIT_NOT_YET: Final = 2
ACL_COMMANDS: Final = frozenset({"updateAclConfig", "deleteAclConfig", "clusterAclConfigVersion",
                                 "updateGlobalWhiteAddr", "getAclConfig"})  # fmt: skip


def _find(name: str) -> tuple[str, str | None, str] | None:
    return next((row for row in COMMANDS if row[0].lower() == name.lower()), None)


def _load(name: str, module: str) -> Command:
    command: Command = importlib.import_module(module).COMMANDS[name]
    return command


def _listing() -> str:
    lines = ["The most commonly used mqadmin commands are:"]
    lines += [f"   {name:<20} {desc}" for name, _, desc in COMMANDS]
    lines += ["", "See 'rmq-admin help <command>' for more information on a specific command."]
    return "\n".join(lines) + "\n"


def _options(command: Command) -> tuple[Opt, ...]:
    """The shared -h and -n, unless the command words its own -n (as a few of Java's do)."""
    if any(o.short == "n" for o in command.options):
        return (HELP, *command.options)
    return (HELP, NAMESRV, *command.options)


def _help(command: Command) -> str:
    return help_text(command.name, _options(command), command.required_groups)


def _fail(text: str, status: int) -> int:
    sys.stderr.write(f"rmq-admin: {text}\n")
    return status


def run(argv: Sequence[str]) -> int:
    if not argv:
        sys.stdout.write(_listing())
        return 0
    name, rest = argv[0], list(argv[1:])
    if name == "help" and len(rest) == 1:
        name, rest = rest[0], ["-h"]
    row = _find(name)
    if row is None:
        return _fail(f"The sub command {name} not exist.", EXIT_USAGE)
    name, module, _ = row
    if module is None:
        if name in ACL_COMMANDS:
            text = (f"command {name} is not available: rmq has no ACL yet, and rmq-admin "
                    "does not sign requests for clusters that have one")  # fmt: skip
            return _fail(text, EXIT_NOT_YET)
        return _fail(f"command {name} is not available in rmq-admin yet", EXIT_NOT_YET)
    command = _load(name, module)
    options = _options(command)
    try:
        args = parse(options, rest, command.required_groups)
    except UsageError as exc:
        return _fail(f"{name}: {exc} (see rmq-admin {name} -h)", EXIT_USAGE)
    if args.has("h"):
        sys.stdout.write(_help(command))
        return 0
    text = args.get("n") or os.environ.get(NAMESRV_ENV) or ""
    namesrv = [a.strip() for a in text.split(";") if a.strip()]
    try:
        asyncio.run(_execute(command, args, namesrv))
    except UsageError as exc:
        return _fail(f"{name}: {exc}", EXIT_USAGE)
    except AdminError as exc:
        return _fail(f"{name} command failed: {exc}", EXIT_FAILED)
    except KeyboardInterrupt:
        return 130
    return 0


async def _execute(command: Command, args: Args, namesrv: list[str]) -> None:
    admin = AdminClient(namesrv)
    try:
        await command.run(args, admin)
    finally:
        await admin.close()


def main() -> None:
    sys.exit(run(sys.argv[1:]))
