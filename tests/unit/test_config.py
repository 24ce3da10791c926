"""Settings: every key RocketMQ users have loads; bad values stop with one clear line."""

import subprocess
import sys
from pathlib import Path

import pytest

from rmq.cli.broker import MODELS, load_broker_settings
from rmq.config.broker import BrokerConfig
from rmq.config.loader import ConfigError, ConfigInput
from rmq.config.namesrv import NamesrvConfig
from rmq.config.network import NettyServerConfig
from rmq.config.properties import read_properties
from rmq.config.store import BrokerRole, FlushDiskType, MessageStoreConfig

ROOT = Path(__file__).resolve().parents[2]
CONF_FILES = [
    *sorted((ROOT / "conf").rglob("*.properties")),
    ROOT / "conf" / "broker.conf",
    *sorted((ROOT / "conf" / "dledger").glob("*.conf")),
]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("path", CONF_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_broker_file_loads_without_unknown_keys(path: Path) -> None:
    config = ConfigInput.read(str(path), process_defaults={"listenPort": "10911"})
    assert [w for w in config.warnings(MODELS) if "unknown" in w] == []
    broker, server, _client, store = load_broker_settings(config)
    assert isinstance(broker, BrokerConfig)
    assert isinstance(store, MessageStoreConfig)
    assert isinstance(server, NettyServerConfig)
    assert store.ha_listen_port == server.listen_port + 1


def test_seed_broker_a_file_means_what_it_says() -> None:
    config = ConfigInput.read(str(ROOT / "conf" / "2m-2s-async" / "broker-a-s.properties"))
    broker, server, _client, store = load_broker_settings(config)
    assert isinstance(broker, BrokerConfig)
    assert isinstance(store, MessageStoreConfig)
    assert isinstance(server, NettyServerConfig)
    assert broker.broker_cluster_name == "rocketmq-cluster"
    assert broker.broker_name == "broker-a"
    assert broker.broker_id == 1
    assert broker.namesrv_addr == "192.168.230.133:9876;192.168.230.134:9876;192.168.230.135:9876"
    assert broker.default_topic_queue_nums == 4
    assert server.listen_port == 11011
    assert store.broker_role is BrokerRole.SLAVE
    assert store.flush_disk_type is FlushDiskType.ASYNC_FLUSH
    assert store.mapped_file_size_commit_log == 1073741824
    assert store.disk_max_used_space_ratio == 88
    assert store.max_message_size == 65536
    assert store.store_path_root_dir == "/opt/rocketmq/storeSlave"
    assert store.store_path_consume_queue == "/opt/rocketmq/storeSlave/consumequeue"


def test_old_spellings_load_with_a_warning() -> None:
    config = ConfigInput.read(str(ROOT / "conf" / "2m-2s-async" / "broker-a.properties"))
    warnings = config.warnings(MODELS)
    assert any("'mapedFileSizeCommitLog'" in w and "old spelling" in w for w in warnings)


def test_defaults_are_rocketmq_defaults() -> None:
    store = ConfigInput().build(MessageStoreConfig)
    broker = ConfigInput().build(BrokerConfig)
    assert store.flush_interval_commit_log == 500
    assert store.flush_commit_log_least_pages == 4
    assert store.sync_flush_timeout == 5000
    assert store.file_reserved_time == 72
    assert store.delete_when == "04"
    assert store.disk_max_used_space_ratio == 75
    assert store.max_message_size == 4 * 1024 * 1024
    assert store.mapped_file_size_consume_queue == 6_000_000
    assert store.message_delay_level.split()[-1] == "2h"
    assert broker.broker_cluster_name == "DefaultCluster"
    assert broker.default_topic_queue_nums == 8
    assert broker.auto_create_topic_enable is True
    assert broker.wait_time_mills_in_send_queue == 200
    assert broker.register_name_server_period == 30_000


def test_precedence_is_flags_over_file_over_env_over_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NAMESRV_ADDR", "10.0.0.9:9876")
    assert ConfigInput().build(BrokerConfig).namesrv_addr == "10.0.0.9:9876"
    path = tmp_path / "b.properties"
    path.write_text("namesrvAddr=127.0.0.1:1\nbrokerName=from-file\n")
    from_file = ConfigInput.read(str(path))
    assert from_file.build(BrokerConfig).namesrv_addr == "127.0.0.1:1"
    flagged = ConfigInput.read(str(path), flags={"namesrvAddr": "127.0.0.1:2"})
    built = flagged.build(BrokerConfig)
    assert (built.namesrv_addr, built.broker_name) == ("127.0.0.1:2", "from-file")


@pytest.mark.parametrize(
    ("line", "key", "why"),
    [
        ("listenPort=abc", "listenPort", "valid integer"),
        ("listenPort=70000", "listenPort", "less than or equal to 65535"),
        ("brokerRole=MASTER", "brokerRole", "ASYNC_MASTER"),
        ("flushDiskType=SOMETIMES", "flushDiskType", "SYNC_FLUSH"),
        ("autoCreateTopicEnable=maybe", "autoCreateTopicEnable", "valid boolean"),
        ("deleteWhen=4am", "deleteWhen", "pattern"),
    ],
)
def test_bad_value_is_one_line_naming_key_value_and_file(
    tmp_path: Path, line: str, key: str, why: str
) -> None:
    path = tmp_path / "bad.properties"
    path.write_text(f"brokerName=b\n{line}\n")
    with pytest.raises(ConfigError) as err:
        load_broker_settings(ConfigInput.read(str(path)))
    message = str(err.value)
    assert "\n" not in message
    assert f"{key}=" in message
    assert f"{path}:2" in message
    assert why in message


def test_slave_with_broker_id_zero_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.properties"
    path.write_text("brokerRole=SLAVE\nbrokerId=0\n")
    with pytest.raises(ConfigError, match="Slave's brokerId must be > 0"):
        load_broker_settings(ConfigInput.read(str(path)))


def test_unknown_key_is_a_warning_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "u.properties"
    path.write_text("brokerName=b\nbrokerNmae=typo\n")
    warnings = ConfigInput.read(str(path)).warnings(MODELS)
    assert warnings == [f"unknown config key 'brokerNmae' at {path}:2 is ignored"]


def test_namesrv_keys_and_defaults() -> None:
    config = ConfigInput(process_defaults={"listenPort": "9876"})
    assert config.build(NettyServerConfig).listen_port == 9876
    namesrv = config.build(NamesrvConfig)
    assert namesrv.kv_config_path.endswith("namesrv/kvConfig.json")
    assert namesrv.order_message_enable is False
    assert namesrv.broker_channel_expired_time == 120_000


def test_every_key_of_a_seed_file_is_read_by_some_model() -> None:
    path = ROOT / "conf" / "2m-2s-sync" / "broker-b.properties"
    known = set().union(*(m.known_keys() for m in MODELS))
    assert set(read_properties(path)) <= known


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
    )


def test_broker_p_prints_every_setting_and_exits_zero(tmp_path: Path) -> None:
    conf = ROOT / "conf" / "2m-2s-async" / "broker-a.properties"
    result = run_cli("rmq-broker", "-c", str(conf), "-p", "-n", "127.0.0.1:9999", home=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert lines["brokerName"] == "broker-a"
    assert lines["namesrvAddr"] == "127.0.0.1:9999"
    assert lines["listenPort"] == "10911"
    assert lines["haListenPort"] == "10912"
    assert len(lines) > 150


def test_broker_m_prints_only_important_settings(tmp_path: Path) -> None:
    result = run_cli("rmq-broker", "-c", str(ROOT / "conf" / "broker.conf"), "-m", home=tmp_path)
    assert result.returncode == 0, result.stderr
    keys = {line.split("=", 1)[0] for line in result.stdout.splitlines() if "=" in line}
    assert {"brokerName", "brokerRole", "flushDiskType", "storePathRootDir"} <= keys
    assert "serverSelectorThreads" not in keys


def test_broker_with_a_bad_file_exits_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.properties"
    path.write_text("listenPort=ten\n")
    result = run_cli("rmq-broker", "-c", str(path), home=tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("config error")]
    assert errors == [
        f"config error: listenPort='ten' from {path}:1: " + errors[0].split(": ", 2)[2]
    ]


def test_missing_config_file_exits_with_one_line(tmp_path: Path) -> None:
    result = run_cli("rmq-namesrv", "-c", str(tmp_path / "nope.conf"), home=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().endswith("cannot read config file: No such file or directory")


def test_admin_without_a_namesrv_says_so_in_one_line(tmp_path: Path) -> None:
    result = run_cli("rmq-admin", "clusterList", home=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().endswith("no name server address: use -n or set NAMESRV_ADDR")
