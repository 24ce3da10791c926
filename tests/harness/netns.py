"""Two test hosts joined by a cable the test can pull: network namespaces with a veth pair.

Each host is a namespace of its own with loopback up and one end of the veth pair; no
address is added outside them. ``inside(host)`` moves the calling thread into a host's
namespace (setns), so the sockets it opens and the processes it starts live there."""

import ctypes
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

_CLONE_NEWNET: Final = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def available() -> str | None:
    """None when this machine can make namespaces, otherwise why not."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2's ip is not installed"
    return None


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def _setns(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, _CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns {path}: {os.strerror(errno)}")
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Host:
    netns: str
    ip: str
    link: str


@dataclass(frozen=True)
class Cable:
    a: Host
    b: Host

    def cut(self) -> None:
        """Both ends down: packets between the hosts vanish, connections are not reset."""
        _ip("-n", self.a.netns, "link", "set", self.a.link, "down")
        _ip("-n", self.b.netns, "link", "set", self.b.link, "down")

    def heal(self) -> None:
        _ip("-n", self.a.netns, "link", "set", self.a.link, "up")
        _ip("-n", self.b.netns, "link", "set", self.b.link, "up")


@contextmanager
def two_hosts(subnet: str = "10.231.7") -> Iterator[Cable]:
    """Hosts ``SUBNET.1`` and ``SUBNET.2`` joined by a veth pair, removed afterwards."""
    tag = f"rmq{os.getpid()}"
    a = Host(f"{tag}-a", f"{subnet}.1", f"{tag}a")
    b = Host(f"{tag}-b", f"{subnet}.2", f"{tag}b")
    made: list[str] = []
    try:
        for host in (a, b):
            _ip("netns", "add", host.netns)
            made.append(host.netns)
            _ip("-n", host.netns, "link", "set", "lo", "up")
        _ip("-n", a.netns, "link", "add", a.link, "type", "veth", "peer", "name", b.link,
            "netns", b.netns)  # fmt: skip
        for host in (a, b):
            _ip("-n", host.netns, "addr", "add", f"{host.ip}/24", "dev", host.link)
            _ip("-n", host.netns, "link", "set", host.link, "up")
        yield Cable(a, b)
    finally:
        for name in made:
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


@contextmanager
def inside(host: Host) -> Iterator[None]:
    """Run the calling thread in ``host``'s namespace, then back where it was."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        _setns(f"/run/netns/{host.netns}")
        try:
            yield
        finally:
            if _libc.setns(home, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back to the test's own namespace")
    finally:
        os.close(home)


@dataclass(frozen=True)
class Switch:
    """Hosts each wired to one port of a bridge in a namespace of its own."""

    netns: str
    hosts: tuple[Host, ...]

    def _port(self, host: Host) -> str:
        return f"{host.link}s"

    def cut(self, host: Host) -> None:
        """Unplug ``host``: it reaches nobody and nobody reaches it; no resets are sent."""
        _ip("-n", self.netns, "link", "set", self._port(host), "down")
        _ip("-n", host.netns, "link", "set", host.link, "down")

    def heal(self, host: Host) -> None:
        _ip("-n", self.netns, "link", "set", self._port(host), "up")
        _ip("-n", host.netns, "link", "set", host.link, "up")


@contextmanager
def switched_hosts(count: int, subnet: str = "10.231.8") -> Iterator[Switch]:
    """Hosts ``SUBNET.1`` .. ``SUBNET.count`` on one switch, removed afterwards."""
    tag = f"rmq{os.getpid()}"
    switch = f"{tag}-sw"
    hosts = tuple(Host(f"{tag}-h{i}", f"{subnet}.{i + 1}", f"{tag}h{i}") for i in range(count))
    made: list[str] = []
    try:
        _ip("netns", "add", switch)
        made.append(switch)
        _ip("-n", switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", switch, "link", "set", "br0", "up")
        for host in hosts:
            _ip("netns", "add", host.netns)
            made.append(host.netns)
            _ip("-n", host.netns, "link", "set", "lo", "up")
            port = f"{host.link}s"
            _ip("-n", host.netns, "link", "add", host.link, "type", "veth", "peer", "name",
                port, "netns", switch)  # fmt: skip
            _ip("-n", switch, "link", "set", port, "master", "br0")
            _ip("-n", switch, "link", "set", port, "up")
            _ip("-n", host.netns, "addr", "add", f"{host.ip}/24", "dev", host.link)
            _ip("-n", host.netns, "link", "set", host.link, "up")
        yield Switch(switch, hosts)
    finally:
        for name in made:
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
