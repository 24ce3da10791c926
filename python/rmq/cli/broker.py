"""``rmq-broker``: a broker (Java: ``BrokerStartup``, same flags)."""

import sys

import click

from rmq.config.broker import BrokerConfig
from rmq.config.loader import ConfigError, ConfigInput, print_settings
from rmq.config.network import NettyClientConfig, NettyServerConfig
from rmq.config.settings import JavaSettings
from rmq.config.store import BrokerRole, MessageStoreConfig

BROKER_PORT = 10911
MODELS: tuple[type[JavaSettings], ...] = (
    BrokerConfig,
    NettyServerConfig,
    NettyClientConfig,
    MessageStoreConfig,
)


def load_broker_settings(config: ConfigInput) -> list[JavaSettings]:
    """Build the broker's models and apply BrokerStartup's cross-key rules."""
    broker = config.build(BrokerConfig)
    server = config.build(NettyServerConfig)
    store = config.build(MessageStoreConfig)
    if store.broker_role is BrokerRole.SLAVE and broker.broker_id <= 0:
        raise ConfigError(
            f"config error: brokerId={broker.broker_id} from {config.origin('brokerId')}: "
            "Slave's brokerId must be > 0"
        )
    if store.enable_dleger_commit_log:
        from rmq.config.dledger import dledger_settings

        dledger_settings(config, store)
    elif store.broker_role is not BrokerRole.SLAVE:
        broker.broker_id = 0  # Java: a master is always id 0, whatever the file says
    if "haListenPort" not in config.entries and "haListenPort" not in config.flags:
        if server.listen_port + 1 > 65535:
            raise ConfigError(
                f"config error: listenPort={server.listen_port} from "
                f"{config.origin('listenPort')}: the HA port listenPort+1 is out of range"
            )
        store.ha_listen_port = server.listen_port + 1
    from rmq.broker.schedule import DelayLevelError, parse_delay_levels

    try:
        parse_delay_levels(store.message_delay_level)
    except DelayLevelError as exc:
        raise ConfigError(
            f"config error: messageDelayLevel={store.message_delay_level!r} from "
            f"{config.origin('messageDelayLevel')}: {exc}"
        ) from None
    return [broker, server, config.build(NettyClientConfig), store]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-c", "--configFile", "config_file", help="Broker config properties file")
@click.option(
    "-p", "--printConfigItem", "print_config", is_flag=True, help="Print all config items"
)
@click.option("-m", "--printImportantConfig", "print_important", is_flag=True,
              help="Print important config items")  # fmt: skip
@click.option("-n", "--namesrvAddr", "namesrv_addr",
              help="Name server address list, eg: '192.168.0.1:9876;192.168.0.2:9876'")  # fmt: skip
def main(
    config_file: str | None, print_config: bool, print_important: bool, namesrv_addr: str | None
) -> None:
    """Start a RocketMQ-compatible broker."""
    from rmq.cli.runner import read_config

    flags = {"namesrvAddr": namesrv_addr} if namesrv_addr else {}
    config = read_config(config_file, flags, {"listenPort": str(BROKER_PORT)})
    for warning in config.warnings(MODELS):
        click.echo(f"WARN {warning}", err=True)
    try:
        models = load_broker_settings(config)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    if print_config or print_important:
        click.echo(print_settings(models, important_only=print_important and not print_config))
        sys.exit(0)
    run_broker(config, models)


def run_broker(config: ConfigInput, models: list[JavaSettings]) -> None:
    import logging

    from rmq.broker.app import BrokerApp, boot_line
    from rmq.cli.runner import serve_service
    from rmq.logs import setup_logging

    setup_logging("broker")
    for warning in config.warnings(MODELS):
        logging.getLogger(__name__).warning(warning)
    app = BrokerApp(config, models)

    def booted() -> None:
        assert app.ctx is not None
        line = boot_line(app.broker.broker_name, app.ctx.addr, app.broker.namesrv_addr)
        logging.getLogger(__name__).info(line)
        click.echo(line)

    serve_service(lambda: app, booted)
