"""DLedger group settings load from RocketMQ's keys and bad ones are one clear line."""

import subprocess
from pathlib import Path

import pytest

from rmq.cli.broker import load_broker_settings
from rmq.config.dledger import DLedgerPeer, dledger_settings
from rmq.config.loader import ConfigError, ConfigInput
from rmq.config.store import MessageStoreConfig
from tests.harness.processes import BIN, free_port, write_properties

ROOT = Path(__file__).resolve().parents[2]
PEERS = "n0-127.0.0.1:40911;n1-127.0.0.1:40912;n2-127.0.0.1:40913"


def settings_of(values: dict[str, str]) -> ConfigInput:
    base = {"enableDLegerCommitLog": "true", "dLegerGroup": "RaftNode00", "dLegerPeers": PEERS,
            "dLegerSelfId": "n1"}  # fmt: skip
    return ConfigInput(None, {}, {**base, **values}, {"listenPort": "30921"})


def test_the_shipped_group_files_describe_one_group_of_three() -> None:
    groups = []
    for i in range(3):
        config = ConfigInput.read(str(ROOT / "conf" / "dledger" / f"broker-n{i}.conf"))
        store = config.build(MessageStoreConfig)
        groups.append(dledger_settings(config, store))
    assert {g.group for g in groups} == {"RaftNode00"}
    assert [g.me for g in groups] == [
        DLedgerPeer("n0", "127.0.0.1", 40911),
        DLedgerPeer("n1", "127.0.0.1", 40912),
        DLedgerPeer("n2", "127.0.0.1", 40913),
    ]


BAD = [
    ({"dLegerSelfId": "n7"}, "dLegerSelfId=n7 from the command line: not one of the peers' ids"),
    ({"dLegerSelfId": ""}, "dLegerSelfId= from the command line"),
    ({"dLegerPeers": "n0-127.0.0.1:1;n0-127.0.0.1:2"}, "peer id n0 appears twice"),
    ({"dLegerPeers": "n0-127.0.0.1:1;n1-127.0.0.1:1"}, "address 127.0.0.1:1 appears twice"),
    ({"dLegerPeers": "n0=127.0.0.1:1"}, "is not id-host:port"),
    ({"dLegerPeers": "n0-127.0.0.1"}, "is not id-host:port"),
    ({"dLegerPeers": "n0-127.0.0.1:70000"}, "port 70000 of n0 is out of range"),
    ({"dLegerPeers": "node-127.0.0.1:1"}, "is not a letter followed by digits"),
    ({"dLegerPeers": "n1-127.0.0.1:1;m1-127.0.0.1:2"}, "peer id n1 has the same number"),
    ({"dLegerPeers": ""}, "needs its group's peers"),
    ({"dLegerGroup": ""}, "needs its group's name"),
]


@pytest.mark.parametrize(("values", "message"), BAD)
def test_bad_group_settings_are_refused_with_the_key_and_reason(
    values: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=r"^config error: ") as caught:
        load_broker_settings(settings_of(values))
    assert message in str(caught.value)


def test_a_bad_dledger_broker_file_exits_before_binding(tmp_path: Path) -> None:
    port = free_port()
    conf = write_properties(tmp_path / "n0.conf", {
        "brokerName": "RaftNode00", "listenPort": str(port), "enableDLegerCommitLog": "true",
        "dLegerGroup": "RaftNode00", "dLegerPeers": PEERS, "dLegerSelfId": "n0",
        "storePathRootDir": str(tmp_path / "store")})  # fmt: skip
    checked = subprocess.run([str(BIN / "rmq-broker"), "-c", str(conf), "-p"],
                             capture_output=True, text=True, timeout=30)  # fmt: skip
    assert checked.returncode == 0
    assert f"dLegerPeers={PEERS}" in checked.stdout
    bad = write_properties(tmp_path / "bad.conf", {"enableDLegerCommitLog": "true",
                                                    "dLegerGroup": "G", "dLegerPeers": PEERS,
                                                    "dLegerSelfId": "n9"})  # fmt: skip
    refused = subprocess.run([str(BIN / "rmq-broker"), "-c", str(bad), "-p"],
                             capture_output=True, text=True, timeout=30)  # fmt: skip
    assert refused.returncode == 1
    assert "dLegerSelfId=n9 from" in refused.stderr
    assert "not one of the peers' ids" in refused.stderr
    started = subprocess.run([str(BIN / "rmq-broker"), "-c", str(bad)], capture_output=True,
                             text=True, timeout=30, cwd=tmp_path)  # fmt: skip
    assert started.returncode == 1
    assert started.stderr.strip().splitlines()[-1].startswith("config error: dLegerSelfId=n9")
