"""TOML config -> typed, frozen dataclasses.

Every key the file may hold is a dataclass field; an unknown key, a wrong
type or a bad value is a ``ConfigError`` that names the file, the section and
the key, so an operator fixes it without reading code.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "smsc.toml"


class ConfigError(Exception):
    """A config file is wrong; the message names the file and the key."""


@dataclass(frozen=True)
class SmppConfig:
    host: str = "127.0.0.1"
    port: int = 2775
    #: system_id we answer in bind_*_resp
    system_id: str = "smsc"
    #: most deliver_sm outstanding (sent, unanswered) per session
    window: int = 100
    #: largest command_length accepted; above it the link is closed
    max_pdu_length: int = 65536
    #: seconds a connection may stay unbound
    session_init_timeout: float = 30.0
    #: seconds of silence before we send enquire_link
    enquire_link_interval: float = 30.0
    #: seconds we wait for any response before dropping the session
    response_timeout: float = 30.0


@dataclass(frozen=True)
class StoreConfig:
    path: str = "smsc.db"
    #: SQLite synchronous pragma: NORMAL survives kill -9 of the server (WAL),
    #: FULL also survives power loss, at a cost per commit
    synchronous: str = "NORMAL"


@dataclass(frozen=True)
class HttpConfig:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8080


@dataclass(frozen=True)
class AccountsConfig:
    #: the universal alpha-name test accounts send from
    universal_alpha: str = "SMSClub"
    #: balance of a new test account, kopecks (2.00 UAH)
    test_balance_kopecks: int = 200
    #: system_id of the account created on a first start with an empty store
    first_account: str = "test"
    #: failed binds from one address before further binds are refused
    max_bind_failures: int = 5
    #: seconds a failed bind counts against its address
    bind_failure_window: float = 60.0


@dataclass(frozen=True)
class OperatorConfig:
    """The built-in operator: delivers every message after ``delay`` seconds."""

    name: str = "sim"
    delay: float = 0.0


@dataclass(frozen=True)
class Config:
    smpp: SmppConfig = field(default_factory=SmppConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    accounts: AccountsConfig = field(default_factory=AccountsConfig)
    operator: OperatorConfig = field(default_factory=OperatorConfig)
    #: the file this came from (store paths are relative to the working dir)
    source: str = "<defaults>"


_SECTIONS = {f.name: get_type_hints(Config)[f.name] for f in fields(Config) if f.name != "source"}
_ALLOWED = {"synchronous": {"OFF", "NORMAL", "FULL", "EXTRA"}}


def _section(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a table")
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in hints:
            known = ", ".join(sorted(hints))
            raise ConfigError(f"{where}: unknown key {key!r} (known: {known})")
        want = hints[key]
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise ConfigError(
                f"{where}.{key}: expected {want.__name__}, got {type(value).__name__} {value!r}"
            )
        if want in (int, float) and value < 0:
            raise ConfigError(f"{where}.{key}: must not be negative, got {value!r}")
        if key in _ALLOWED and value not in _ALLOWED[key]:
            raise ConfigError(f"{where}.{key}: must be one of {sorted(_ALLOWED[key])}, got {value!r}")
        values[key] = value
    return cls(**values)


def parse(raw: dict[str, Any], source: str) -> Config:
    """Build a Config from parsed TOML; ``source`` names the file in errors."""
    sections: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in _SECTIONS:
            raise ConfigError(f"{source}: unknown section [{name}] (known: {', '.join(_SECTIONS)})")
        sections[name] = _section(_SECTIONS[name], value, f"{source}: [{name}]")
    cfg = Config(source=source, **sections)
    if cfg.smpp.window < 1:
        raise ConfigError(f"{source}: [smpp].window: must be at least 1")
    if cfg.smpp.max_pdu_length < 16:
        raise ConfigError(f"{source}: [smpp].max_pdu_length: must be at least 16")
    return cfg


def load(path: str | Path | None = None) -> Config:
    """Read ``path`` (the shipped default when None)."""
    p = Path(path) if path is not None else DEFAULT_CONFIG
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config: {exc.strerror}") from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    return parse(raw, str(p))


def with_overrides(cfg: Config, **sections: dict[str, Any]) -> Config:
    """A copy with some keys replaced, e.g. ``smpp={"port": 0}`` from the CLI."""
    changes = {
        name: replace(getattr(cfg, name), **{k: v for k, v in keys.items() if v is not None})
        for name, keys in sections.items()
    }
    return replace(cfg, **changes)
