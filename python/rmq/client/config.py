"""Client settings (Java: ``ClientConfig``), the seed's client configuration table in
snake_case. Times are milliseconds, as in Java, so values carry over from Java code."""

import os
import socket
import time
from dataclasses import dataclass, field
from typing import Final

from rmq.common.codes import LanguageCode

NAMESRV_ADDR_ENV: Final = "NAMESRV_ADDR"
#: Java's system properties rocketmq.namesrv.domain and rocketmq.namesrv.domain.subgroup.
NAMESRV_DOMAIN_ENV: Final = "ROCKETMQ_NAMESRV_DOMAIN"
NAMESRV_DOMAIN_SUBGROUP_ENV: Final = "ROCKETMQ_NAMESRV_DOMAIN_SUBGROUP"
DEFAULT_INSTANCE: Final = "DEFAULT"


def local_address() -> str:
    """A non-loopback IPv4 address of this host if it has one (Java: RemotingUtil
    .getLocalAddress), else 127.0.0.1."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            # No packet is sent: connecting a UDP socket only picks the outgoing interface.
            probe.connect(("10.255.255.255", 1))
            address: str = probe.getsockname()[0]
            return address
    except OSError:
        return "127.0.0.1"


@dataclass(slots=True)
class ClientConfig:
    namesrv_addr: str | None = field(default_factory=lambda: os.environ.get(NAMESRV_ADDR_ENV))
    client_ip: str = field(default_factory=local_address)
    instance_name: str = field(
        default_factory=lambda: os.environ.get("ROCKETMQ_CLIENT_NAME", DEFAULT_INSTANCE)
    )
    poll_name_server_interval: int = 30_000
    heartbeat_broker_interval: int = 30_000
    persist_consumer_offset_interval: int = 5_000
    pull_time_delay_millis_when_exception: int = 1_000
    unit_mode: bool = False
    unit_name: str | None = None
    vip_channel_enabled: bool = False
    mq_client_api_timeout: int = 3_000
    language: int = LanguageCode.PYTHON
    #: With no namesrv_addr, where to look the addresses up over HTTP (Java's
    #: ``MixAll.getWSAddr``): ``http://DOMAIN:8080/rocketmq/SUBGROUP`` answers ``a:9876;b:9876``.
    namesrv_domain: str | None = field(default_factory=lambda: os.environ.get(NAMESRV_DOMAIN_ENV))
    namesrv_domain_subgroup: str = field(
        default_factory=lambda: os.environ.get(NAMESRV_DOMAIN_SUBGROUP_ENV, "nsaddr")
    )

    def namesrv_list(self) -> list[str]:
        text = self.namesrv_addr or ""
        return [a.strip() for a in text.split(";") if a.strip()]

    def namesrv_lookup_url(self) -> str | None:
        domain = self.namesrv_domain
        if not domain:
            return None
        host = domain if ":" in domain else f"{domain}:8080"
        return f"http://{host}/rocketmq/{self.namesrv_domain_subgroup}"

    def change_instance_name_to_pid(self) -> None:
        """Java does this for every producer and consumer left on the default name, so two
        clients in one process share an instance and two processes never do."""
        if self.instance_name == DEFAULT_INSTANCE:
            self.instance_name = f"{os.getpid()}#{time.monotonic_ns()}"

    def build_client_id(self) -> str:
        client_id = f"{self.client_ip}@{self.instance_name}"
        if self.unit_name:
            client_id += f"@{self.unit_name}"
        return client_id
