"""The console's settings (the reference console's application.properties, as options)."""

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class ConsoleSettings:
    namesrv_addrs: list[str]
    host: str = "127.0.0.1"
    port: int = 8080
    #: Dashboard history, the NameServer list chosen on the Ops page, the session secret.
    data_dir: Path = field(default_factory=lambda: Path.home() / "rmq-console")
    #: None: required unless the console listens on loopback only.
    login_required: bool | None = None
    users_file: Path | None = None
    #: Seconds between dashboard samples (broker TPS, topic message counts).
    collect_interval: float = 60.0
    #: Days of dashboard history kept on disk.
    history_days: int = 7
    #: Seconds every admin call may take before the page shows an error.
    timeout: float = 5.0
    vip_channel: bool = False

    @property
    def needs_login(self) -> bool:
        if self.login_required is None:
            return not is_loopback(self.host)
        return self.login_required
