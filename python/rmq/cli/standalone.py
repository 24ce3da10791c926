"""``rmq-standalone``: a NameServer and a broker in one process, for a first try and tests.

This build has the NameServer only (the broker core is issue #5): it starts it on 9876
and says on stdout that no broker runs, rather than pretending one does.
"""

import logging

import click

from rmq.logs import setup_logging

log = logging.getLogger(__name__)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-n", "--namesrvPort", "namesrv_port", default=9876, show_default=True,
              type=click.IntRange(1, 65535), help="NameServer listen port")  # fmt: skip
def main(namesrv_port: int) -> None:
    """Start a single rmq node (NameServer; the broker arrives with issue #5)."""
    from rmq.cli.runner import read_config, serve_service
    from rmq.namesrv.app import BOOT_LINE, NamesrvApp

    config = read_config(None, {}, {"listenPort": str(namesrv_port), "bindAddress": "127.0.0.1"})
    setup_logging("namesrv")

    def booted() -> None:
        click.echo(BOOT_LINE)
        click.echo("rmq-standalone: no broker in this build yet (issue #5); NameServer only")

    serve_service(lambda: NamesrvApp(config), booted)
