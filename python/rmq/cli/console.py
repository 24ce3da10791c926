"""``rmq-console``: the web dashboard for rmq and Apache RocketMQ clusters."""

import os
import sys
from pathlib import Path

import click


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-n",
    "--namesrvAddr",
    "namesrv",
    default=lambda: os.environ.get("NAMESRV_ADDR", "127.0.0.1:9876"),
    show_default="$NAMESRV_ADDR or 127.0.0.1:9876",
    help="NameServer addresses, ';' between",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("-p", "--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: str(Path.home() / "rmq-console"),
    show_default="~/rmq-console",
    help="dashboard history, Ops choices, session secret",
)
@click.option(
    "--login-required/--no-login-required",
    default=None,
    help="ask for a login (default: only when not listening on loopback)",
)
@click.option(
    "--users-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="name=pbkdf2_sha256$...[,admin] per line (see --hash-password)",
)
@click.option(
    "--collect-interval",
    default=60.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="seconds between dashboard samples",
)
@click.option(
    "--hash-password", is_flag=True, help="read a password on stdin, print its hash, exit"
)
def main(
    namesrv: str,
    host: str,
    port: int,
    data_dir: Path,
    login_required: bool | None,
    users_file: Path | None,
    collect_interval: float,
    hash_password: bool,
) -> None:
    """Serve the rmq console (Ops, Dashboard, Cluster, Topic, Consumer, Producer, Message,
    dead letters, trace) for the cluster behind the NameServers."""
    from rmq.console.auth import UsersFileError
    from rmq.console.auth import hash_password as make_hash
    from rmq.console.settings import ConsoleSettings

    if hash_password:
        click.echo(make_hash(sys.stdin.readline().rstrip("\n")))
        return
    settings = ConsoleSettings(
        [a for a in namesrv.split(";") if a],
        host,
        port,
        data_dir,
        login_required,
        users_file,
        collect_interval,
    )
    if settings.needs_login and users_file is None:
        click.echo("a login is required (not listening on loopback): give --users-file", err=True)
        sys.exit(2)
    from rmq.cli.runner import serve
    from rmq.console.server import ConsoleServer
    from rmq.logs import setup_logging

    try:
        server = ConsoleServer(settings)
    except UsersFileError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    setup_logging("console")
    serve(server.start, server.stop, lambda: click.echo(server.boot_line))
