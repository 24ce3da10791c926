"""A DLedger (Raft) group's settings, checked the way RocketMQ's DLedger reads them
(Java: ``DLedgerConfig``, ``DLedgerCommitLog``): ``dLegerPeers`` is ``id-host:port`` joined
by ``;``, ``dLegerSelfId`` one of those ids, ``dLegerGroup`` the group's name. Java derives
a number from the id (``n0`` -> 0), so an id is a letter followed by digits."""

import re
from dataclasses import dataclass
from typing import Final

from rmq.config.loader import ConfigError, ConfigInput
from rmq.config.store import MessageStoreConfig

_ID: Final = re.compile(r"[A-Za-z][0-9]+")


@dataclass(frozen=True, slots=True)
class DLedgerPeer:
    id: str
    host: str
    port: int

    @property
    def addr(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class DLedgerSettings:
    group: str
    self_id: str
    peers: tuple[DLedgerPeer, ...]

    @property
    def me(self) -> DLedgerPeer:
        return next(p for p in self.peers if p.id == self.self_id)


def _fail(config: ConfigInput, key: str, value: object, why: str) -> ConfigError:
    return ConfigError(f"config error: {key}={value} from {config.origin(key)}: {why}")


def _peer(config: ConfigInput, text: str, raw: str) -> DLedgerPeer:
    peer_id, sep, addr = text.partition("-")
    host, colon, port = addr.rpartition(":")
    if not sep or not colon or not host or not port.isdigit():
        raise _fail(config, "dLegerPeers", raw, f"{text!r} is not id-host:port")
    if not _ID.fullmatch(peer_id):
        raise _fail(config, "dLegerPeers", raw,
                    f"peer id {peer_id!r} is not a letter followed by digits (as n0)")  # fmt: skip
    if not 0 < int(port) < 65536:
        raise _fail(config, "dLegerPeers", raw, f"port {port} of {peer_id} is out of range")
    return DLedgerPeer(peer_id, host, int(port))


def dledger_settings(config: ConfigInput, store: MessageStoreConfig) -> DLedgerSettings:
    """The group's settings, or a ConfigError naming the key, its origin and the problem."""
    group = (store.dleger_group or "").strip()
    if not group:
        raise _fail(config, "dLegerGroup", "", "a DLedger broker needs its group's name")
    raw = (store.dleger_peers or "").strip()
    items = [item.strip() for item in raw.split(";") if item.strip()]
    if not items:
        raise _fail(config, "dLegerPeers", raw, "a DLedger broker needs its group's peers")
    peers = tuple(_peer(config, item, raw) for item in items)
    ids = [p.id for p in peers]
    for peer_id in ids:
        if ids.count(peer_id) > 1:
            raise _fail(config, "dLegerPeers", raw, f"peer id {peer_id} appears twice")
    numbers = [int(p.id[1:]) for p in peers]
    for peer, number in zip(peers, numbers, strict=True):
        if numbers.count(number) > 1:
            raise _fail(config, "dLegerPeers", raw,
                        f"peer id {peer.id} has the same number as another peer "
                        "(members are numbered by the digits of their id)")  # fmt: skip
    addrs = [p.addr for p in peers]
    for addr in addrs:
        if addrs.count(addr) > 1:
            raise _fail(config, "dLegerPeers", raw, f"address {addr} appears twice")
    self_id = (store.dleger_self_id or "").strip()
    if self_id not in ids:
        raise _fail(config, "dLegerSelfId", self_id,
                    f"not one of the peers' ids ({', '.join(ids)})")  # fmt: skip
    return DLedgerSettings(group, self_id, peers)
