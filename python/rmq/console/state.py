"""What one running console holds: its admin client, the NameServer list chosen on the Ops
page (kept in the data dir), the dashboard sampler, users and sessions."""

import json
import logging
from pathlib import Path

from rmq.admin.admin_client import AdminClient
from rmq.console.auth import Sessions, Users
from rmq.console.dashboard import Dashboard
from rmq.console.settings import ConsoleSettings
from rmq.console.topic_data import BadInput

log = logging.getLogger(__name__)


def _valid_addr(addr: str) -> str:
    host, sep, port = addr.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadInput(f"a NameServer address is host:port, got {addr!r}")
    return addr.strip()


class ConsoleState:
    def __init__(self, settings: ConsoleSettings) -> None:
        self.settings = settings
        self.admin = AdminClient(list(settings.namesrv_addrs), settings.timeout)
        self.known_namesrv: list[str] = list(settings.namesrv_addrs)
        self.vip_channel = settings.vip_channel
        self._ops_file = settings.data_dir / "ops.json"
        self._load_ops()
        self.dashboard = Dashboard(
            self.admin, settings.data_dir, settings.collect_interval, settings.history_days
        )
        self.users = Users.load(settings.users_file) if settings.users_file else Users({})
        self.sessions = Sessions(settings.data_dir / "session.key")

    def _load_ops(self) -> None:
        try:
            saved = json.loads(self._ops_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        known = [a for a in saved.get("known", []) if isinstance(a, str)]
        for addr in known:
            if addr not in self.known_namesrv:
                self.known_namesrv.append(addr)
        current = saved.get("current")
        if (
            isinstance(current, str)
            and current in self.known_namesrv
            and not self.settings.namesrv_addrs
        ):
            self.admin.namesrv = [current]
        self.vip_channel = bool(saved.get("vipChannel", self.vip_channel))

    def _save_ops(self) -> None:
        self._ops_file.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "known": self.known_namesrv,
            "current": ";".join(self.admin.namesrv),
            "vipChannel": self.vip_channel,
        }
        tmp = self._ops_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(self._ops_file)

    def add_namesrv(self, addr: str) -> None:
        addr = _valid_addr(addr)
        if addr not in self.known_namesrv:
            self.known_namesrv.append(addr)
        self._save_ops()

    def use_namesrv(self, addr: str) -> None:
        addr = _valid_addr(addr)
        if addr not in self.known_namesrv:
            raise BadInput(f"{addr} is not in the NameServer list; add it first")
        self.admin.namesrv = [a for a in addr.split(";") if a]
        self._save_ops()

    def set_vip_channel(self, enabled: bool) -> None:
        self.vip_channel = enabled
        self._save_ops()

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    async def start(self) -> None:
        self.dashboard.start()

    async def stop(self) -> None:
        await self.dashboard.stop()
        await self.admin.close()
