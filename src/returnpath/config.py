"""One settings object for every part of returnpath; every key documented beside its default.

Settings come from, lowest precedence first: the defaults below, the TOML config file
(`--config FILE`, else `$RETURNPATH_CONFIG`, else `./returnpath.toml` when it exists), the
environment (`RETURNPATH_<KEY>` for top-level keys, e.g. `RETURNPATH_DATABASE_URL`), and
command-line options. An unknown key or a bad value raises ConfigError naming the key.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """Raised when the config file cannot be read, or a key is unknown or has a bad value."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"config: {key}: {problem}" if key else f"config: {problem}")


#: The default database: a SQLite file in the working directory.
DEFAULT_DATABASE_URL = "sqlite:///returnpath.db"


@dataclass(frozen=True)
class MailboxConfig:
    """One return-path mailbox read over IMAP ([[mailbox]] tables in the config file)."""

    name: str  # unique; names the mailbox in the database, logs and commands
    host: str
    username: str
    port: int | None = None  # default: 993 for tls = "implicit", else 143
    tls: str = "implicit"  # "implicit" (IMAPS), "starttls", or "none"
    allow_plaintext: bool = (
        False  # tls = "none" is refused unless the host is loopback or this is true
    )
    ca_file: str | None = None  # extra CA bundle to verify the server certificate
    password_env: str | None = None  # name of the environment variable holding the password
    password_file: str | None = None  # file whose first line is the password
    folder: str = "INBOX"  # where returned mail arrives
    processed_folder: str = "Processed"  # where recorded mail is moved (created when missing)
    unparsed_folder: str = "Unparsed"  # where unrecognised or broken mail is moved
    flags_only: bool = False  # leave mail in place and mark it with `processed_keyword`
    processed_keyword: str = "$ReturnpathDone"
    poll_interval_seconds: int = 60
    batch_size: int = 100  # messages fetched per FETCH
    max_fetch_bytes: int = 10 * 1024 * 1024  # larger messages are fetched in parts, not whole
    idle: bool = True  # use IMAP IDLE when the server offers it
    timeout_seconds: float = 30.0
    # Added for the poller: the keyword marking unparsed mail in flags-only mode.
    unparsed_keyword: str = "$ReturnpathUnparsed"
    # Added for the poller: reconnects after a lost connection, with exponential backoff
    # (delay, 2*delay, 4*delay, ... capped at the max, each with jitter) before a poll gives up.
    reconnect_attempts: int = 6
    reconnect_delay_seconds: float = 1.0
    reconnect_max_delay_seconds: float = 60.0


@dataclass(frozen=True)
class Settings:
    """Every setting of returnpath. Top-level keys of the TOML file map to these fields."""

    # Where verdicts are stored: an SQLAlchemy URL (sqlite:///file.db, postgresql+psycopg://...).
    database_url: str = DEFAULT_DATABASE_URL
    # Keep each returned message's raw bytes (zlib-compressed) so verdicts can be explained
    # and rules re-run later.
    store_raw: bool = True
    # A deferral with no final outcome this many hours after the first one becomes a soft bounce.
    deferral_window_hours: float = 72.0
    # How often the service runs the deferral-expiry job.
    expiry_interval_minutes: float = 15.0
    # Secret that signs VERP tokens (bounces+TOKEN@domain). Prefer verp_secret_env.
    verp_secret: str | None = None
    # Name of an environment variable holding the VERP secret.
    verp_secret_env: str | None = None
    # When true, a bounce without a valid VERP token is recorded untrusted and changes no contact.
    require_signed_verp: bool = False
    # Optional soft-bounce policy (off when 0): this many soft bounces (soft or block) within
    # soft_bounce_window_days unsubscribe the contact with reason `soft_limit`.
    soft_bounce_limit: int = 0
    soft_bounce_window_days: float = 30.0
    # Headers of the returned original copied onto each event (campaign, contact id).
    campaign_header: str = "X-Campaign-ID"
    contact_header: str = "X-Contact-ID"
    # Log format of the service: "keyvalue" or "json".
    log_format: str = "keyvalue"
    mailboxes: tuple[MailboxConfig, ...] = field(default_factory=tuple)

    def verp_key(self) -> bytes | None:
        """The VERP secret as bytes, from verp_secret_env or verp_secret; None when unset."""
        if self.verp_secret_env:
            value = os.environ.get(self.verp_secret_env)
            if not value:
                raise ConfigError(
                    "verp_secret_env", f"environment variable {self.verp_secret_env} is not set"
                )
            return value.encode()
        return self.verp_secret.encode() if self.verp_secret else None

    def mailbox(self, name: str) -> MailboxConfig:
        for mb in self.mailboxes:
            if mb.name == name:
                return mb
        known = ", ".join(m.name for m in self.mailboxes) or "none configured"
        raise ConfigError("mailbox", f"no mailbox named {name!r} (known: {known})")


_ENV_PREFIX = "RETURNPATH_"


def _coerce(key: str, value: Any, default: Any) -> Any:
    """Check a value against the type of its default, converting environment strings."""
    if isinstance(default, bool):
        if isinstance(value, str):
            low = value.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ConfigError(key, f"expected true or false, got {value!r}")
        if not isinstance(value, bool):
            raise ConfigError(key, f"expected true or false, got {value!r}")
        return value
    if isinstance(default, int | float) and not isinstance(default, bool):
        try:
            number = type(default)(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None or number < 0:
            raise ConfigError(key, f"expected a non-negative number, got {value!r}")
        return number
    if default is None or isinstance(default, str):
        if value is not None and not isinstance(value, str):
            raise ConfigError(key, f"expected a string, got {value!r}")
        return value
    return value


def _mailbox_from_table(index: int, table: Any) -> MailboxConfig:
    if not isinstance(table, dict):
        raise ConfigError(f"mailbox[{index}]", "expected a table")
    known = {f.name: f for f in fields(MailboxConfig)}
    for key in table:
        if key not in known:
            raise ConfigError(f"mailbox[{index}].{key}", "unknown key")
    for required in ("name", "host", "username"):
        if not table.get(required):
            raise ConfigError(f"mailbox[{index}].{required}", "missing")
    defaults = MailboxConfig(name="", host="", username="")
    values = {
        k: _coerce(f"mailbox[{index}].{k}", v, getattr(defaults, k))
        for k, v in table.items()
        if k != "port"
    }
    # Added for the poller: `port` defaults to None (993 or 143, by tls) but is a number when set.
    if "port" in table:
        port = table["port"]
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigError(f"mailbox[{index}].port", f"expected a port number, got {port!r}")
        values["port"] = port
    mb = MailboxConfig(**values)
    if mb.tls not in ("implicit", "starttls", "none"):
        raise ConfigError(
            f"mailbox[{index}].tls", f"expected implicit, starttls or none, got {mb.tls!r}"
        )
    if mb.batch_size < 1:
        raise ConfigError(f"mailbox[{index}].batch_size", "must be at least 1")
    # Added for the poller: values the IMAP mailbox cannot work with.
    if mb.max_fetch_bytes < 1024:
        raise ConfigError(f"mailbox[{index}].max_fetch_bytes", "must be at least 1024")
    for key in ("processed_keyword", "unparsed_keyword"):
        word = getattr(mb, key)
        if not word or any(c in word for c in ' (){%*"\\]'):
            raise ConfigError(f"mailbox[{index}].{key}", f"not a valid IMAP keyword: {word!r}")
    if not mb.flags_only and mb.folder in (mb.processed_folder, mb.unparsed_folder):
        raise ConfigError(
            f"mailbox[{index}].processed_folder",
            "processed_folder and unparsed_folder must differ from folder",
        )
    return mb


def load_settings(
    path: str | os.PathLike[str] | None = None,
    *,
    env: dict[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings from defaults, the config file, the environment and `overrides`.

    `overrides` with a value of None are ignored, so command-line options can be passed as-is.
    """
    env = dict(os.environ) if env is None else env
    data: dict[str, Any] = {}
    if path is None:
        path = env.get(_ENV_PREFIX + "CONFIG") or (
            "returnpath.toml" if Path("returnpath.toml").is_file() else None
        )
    if path is not None:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError("", f"cannot read {path}: {exc.strerror or exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("", f"{path} is not valid TOML: {exc}") from exc
    defaults = Settings()
    known = {f.name for f in fields(Settings)} - {"mailboxes"}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "mailbox":
            continue
        if key not in known:
            raise ConfigError(key, "unknown key")
        values[key] = _coerce(key, value, getattr(defaults, key))
    for key in known:
        env_value = env.get(_ENV_PREFIX + key.upper())
        if env_value is not None:
            values[key] = _coerce(_ENV_PREFIX + key.upper(), env_value, getattr(defaults, key))
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in known:
            raise ConfigError(key, "unknown key")
        values[key] = _coerce(key, value, getattr(defaults, key))
    mailboxes_raw = data.get("mailbox", [])
    if not isinstance(mailboxes_raw, list):
        raise ConfigError("mailbox", "expected [[mailbox]] tables")
    mailboxes = tuple(_mailbox_from_table(i, t) for i, t in enumerate(mailboxes_raw))
    names = [m.name for m in mailboxes]
    if len(set(names)) != len(names):
        raise ConfigError("mailbox", "mailbox names must be unique")
    settings = replace(defaults, **values, mailboxes=mailboxes)
    if settings.log_format not in ("keyvalue", "json"):
        raise ConfigError("log_format", f"expected keyvalue or json, got {settings.log_format!r}")
    return settings
