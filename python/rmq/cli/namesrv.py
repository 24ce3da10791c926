"""``rmq-namesrv``: the NameServer (Java: ``NamesrvStartup``, same flags)."""

import logging
import sys

import click

from rmq.config.loader import ConfigError, print_settings
from rmq.config.namesrv import NamesrvConfig
from rmq.config.network import NettyServerConfig
from rmq.logs import setup_logging

log = logging.getLogger(__name__)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-c", "--configFile", "config_file", help="Name server config properties file")
@click.option(
    "-p", "--printConfigItem", "print_config", is_flag=True, help="Print all config items"
)
@click.option("-n", "--namesrvAddr", "namesrv_addr", help="Name server address list (ignored)")
def main(config_file: str | None, print_config: bool, namesrv_addr: str | None) -> None:
    """Start a RocketMQ-compatible NameServer."""
    from rmq.cli.runner import read_config, serve_service
    from rmq.namesrv.app import BOOT_LINE, NAMESRV_PORT, NamesrvApp

    config = read_config(config_file, {}, {"listenPort": str(NAMESRV_PORT)})
    warnings = config.warnings([NamesrvConfig, NettyServerConfig])
    for warning in warnings:
        click.echo(f"WARN {warning}", err=True)
    try:
        app = NamesrvApp(config)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    if print_config:
        click.echo(print_settings([app.namesrv, app.server_config]))
        sys.exit(0)
    setup_logging("namesrv")
    for warning in warnings:
        log.warning(warning)

    def booted() -> None:
        log.info(BOOT_LINE)
        click.echo(BOOT_LINE)

    serve_service(lambda: app, booted)
