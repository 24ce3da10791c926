"""``rmq-standalone``: a NameServer and a broker in one process, for a first try and tests.

The broker registers with the in-process NameServer over loopback exactly as a separate
broker would, so clients see an ordinary one-node cluster."""

import logging
import sys

import click

from rmq.logs import setup_logging

log = logging.getLogger(__name__)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-n", "--namesrvPort", "namesrv_port", default=9876, show_default=True,
              type=click.IntRange(1, 65535), help="NameServer listen port")  # fmt: skip
@click.option("-b", "--brokerPort", "broker_port", default=10911, show_default=True,
              type=click.IntRange(1, 65534), help="broker listen port")  # fmt: skip
@click.option("-c", "--configFile", "config_file", help="Broker config properties file")
@click.option("--consolePort", "console_port", default=8080, show_default=True,
              type=click.IntRange(1, 65535), help="web console port (on 127.0.0.1)")  # fmt: skip
@click.option("--console/--no-console", "console", default=True, show_default=True,
              help="serve the web console")  # fmt: skip
def main(namesrv_port: int, broker_port: int, config_file: str | None, console_port: int,
         console: bool) -> None:  # fmt: skip
    """Start a single rmq node: a NameServer, a broker (store in ~/store) and the web
    console on 127.0.0.1."""
    from rmq.broker.app import BrokerApp, boot_line
    from rmq.cli.broker import load_broker_settings
    from rmq.cli.runner import read_config, serve
    from rmq.config.loader import ConfigError
    from rmq.console.server import ConsoleServer
    from rmq.console.settings import ConsoleSettings
    from rmq.namesrv.app import BOOT_LINE, NamesrvApp

    namesrv_config = read_config(
        None, {}, {"listenPort": str(namesrv_port), "bindAddress": "127.0.0.1"}
    )
    namesrv_addr = f"127.0.0.1:{namesrv_port}"
    broker_config = read_config(
        config_file,
        {"namesrvAddr": namesrv_addr},
        {"listenPort": str(broker_port), "brokerIP1": "127.0.0.1", "brokerIP2": "127.0.0.1",
         "brokerName": "broker-a"},
    )  # fmt: skip
    try:
        models = load_broker_settings(broker_config)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    setup_logging("standalone")
    apps: list[NamesrvApp | BrokerApp | ConsoleServer] = []

    async def start() -> None:
        namesrv = NamesrvApp(namesrv_config)
        apps.append(namesrv)
        await namesrv.start()
        broker = BrokerApp(broker_config, models)
        apps.append(broker)
        await broker.start()
        if console:
            web = ConsoleServer(ConsoleSettings([namesrv_addr], port=console_port))
            apps.append(web)
            await web.start()

    async def stop() -> None:
        for app in reversed(apps):
            await app.stop()

    def booted() -> None:
        click.echo(BOOT_LINE)
        broker = next(app for app in apps if isinstance(app, BrokerApp))
        assert broker.ctx is not None
        click.echo(boot_line(broker.broker.broker_name, broker.ctx.addr, namesrv_addr))
        for app in apps:
            if isinstance(app, ConsoleServer):
                click.echo(app.boot_line)

    serve(start, stop, booted)
