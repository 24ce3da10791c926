"""One admin command: its mqadmin name, description, options and what it does."""

import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from rmq.admin.admin_client import AdminClient
from rmq.admin.options import Args, Opt


def out(text: str) -> None:
    """Java's System.out.printf: the exact text, no added newline."""
    sys.stdout.write(text)


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    desc: str
    options: tuple[Opt, ...]
    run: Callable[[Args, AdminClient], Awaitable[None]]
    #: groups of which one option is required (commons-cli OptionGroup.setRequired)
    required_groups: tuple[tuple[str, ...], ...] = ()
