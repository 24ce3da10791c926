"""``rmq-admin``: the mqadmin command set arrives with issue #8.

Until then it lists nothing it cannot do: any command exits non-zero with one line.
"""

import sys

import click


@click.command(context_settings={"help_option_names": ["-h", "--help"],
                                 "ignore_unknown_options": True})  # fmt: skip
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def main(args: tuple[str, ...]) -> None:
    """RocketMQ admin commands (mqadmin); not implemented in this build."""
    command = args[0] if args else "(none)"
    click.echo(f"rmq-admin: command {command} is not available yet (issue #8)", err=True)
    sys.exit(2)
