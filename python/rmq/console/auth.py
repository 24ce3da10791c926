"""Optional login (the reference console's ``loginRequired`` with its users file): users
with PBKDF2-hashed passwords and a role, a signed session cookie, and a per-browser token
that every change must echo (cross-site requests cannot read it).

Users file, one per line: ``name=pbkdf2_sha256$ITERATIONS$SALT_HEX$HASH_HEX[,admin]``;
without ``,admin`` the user may only look. ``rmq-console --hash-password`` prints a hash."""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ITERATIONS: Final = 200_000
SESSION_SECONDS: Final = 12 * 3600
SESSION_COOKIE: Final = "rmq_session"
CSRF_COOKIE: Final = "rmq_csrf"


class UsersFileError(ValueError):
    """A users file that cannot be read; the message names the line."""


@dataclass(frozen=True, slots=True)
class User:
    name: str
    admin: bool


def hash_password(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def _verify(password: str, stored: str) -> bool:
    try:
        scheme, iterations, salt, digest = stored.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        again = hashlib.pbkdf2_hmac(
            "sha256", password.encode(), bytes.fromhex(salt), int(iterations)
        )
    except ValueError:
        return False
    return hmac.compare_digest(again.hex(), digest)


class Users:
    def __init__(self, entries: dict[str, tuple[str, bool]]) -> None:
        self._entries = entries

    @classmethod
    def load(cls, path: Path) -> "Users":
        entries: dict[str, tuple[str, bool]] = {}
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise UsersFileError(f"cannot read users file {path}: {exc.strerror}") from None
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, rest = line.partition("=")
            stored, _, role = rest.partition(",")
            if not sep or not name.strip() or not stored.startswith("pbkdf2_sha256$"):
                raise UsersFileError(f"{path}:{number}: expected name=pbkdf2_sha256$...[,admin]")
            entries[name.strip()] = (stored.strip(), role.strip().lower() == "admin")
        return cls(entries)

    def check(self, name: str, password: str) -> User | None:
        entry = self._entries.get(name)
        if entry is None or not _verify(password, entry[0]):
            return None
        return User(name, entry[1])


class Sessions:
    """HMAC-signed ``name|admin|expiry`` cookies; the secret lives in the data dir so a
    restart keeps people logged in."""

    def __init__(self, secret_file: Path) -> None:
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        if not secret_file.exists():
            secret_file.write_bytes(secrets.token_bytes(32))
            secret_file.chmod(0o600)
        self._key = secret_file.read_bytes()

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def issue(self, user: User) -> str:
        text = f"{user.name}|{int(user.admin)}|{int(time.time()) + SESSION_SECONDS}"
        return f"{text}|{self._sign(text)}"

    def read(self, cookie: str | None) -> User | None:
        if not cookie:
            return None
        text, _, signature = cookie.rpartition("|")
        if not hmac.compare_digest(self._sign(text), signature):
            return None
        try:
            name, admin, expiry = text.split("|")
            if int(expiry) < time.time():
                return None
        except ValueError:
            return None
        return User(name, admin == "1")


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)
