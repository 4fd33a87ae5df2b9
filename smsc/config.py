"""TOML config -> typed, frozen dataclasses.

Every key the file may hold is a dataclass field; an unknown key, a wrong
type or a bad value is a ``ConfigError`` that names the file, the section and
the key, so an operator fixes it without reading code.
"""
from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

from .operators.spec import DEFAULT_OPERATORS, AnySpec, Rule, parse_operators, parse_rules
from .pdu.constants import CommandStatus
from .router.table import UKRAINE_PREFIXES, RouteTable

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
    #: on a graceful stop, seconds to wait for the commit of what is queued
    #: and then for the deliver_sm_resp of receipts already sent
    drain_timeout: float = 5.0
    #: unsent bytes of a session past which we stop reading from the client
    #: and offering it receipts, until it reads (back-pressure)
    output_pause: int = 65536
    #: unsent bytes of a paused session past which it is dropped
    max_output: int = 1048576
    #: open connections (plain and TLS together), and from one address; 0: no limit
    max_connections: int = 10000
    max_connections_per_address: int = 1000
    #: the listen queue: connections the kernel holds until we accept them
    #: (a reconnect storm; Linux caps it at net.core.somaxconn)
    backlog: int = 4096
    #: every connection starts with a PROXY protocol header (v1 or v2) naming
    #: the client's address: nodes behind HAProxy's send-proxy-v2
    proxy_protocol: bool = False


@dataclass(frozen=True)
class TlsConfig:
    """SMPP over TLS, on ``[smpp] host``; off while ``cert`` is ""."""

    #: TLS listener port (0 picks a free one)
    port: int = 3775
    #: PEM certificate (then any intermediates); "" turns the listener off
    cert: str = ""
    #: PEM private key; "" when it is in the ``cert`` file
    key: str = ""


@dataclass(frozen=True)
class StoreConfig:
    #: the SQLite file, the default store; ignored when ``url`` is set
    path: str = "smsc.db"
    #: ``postgresql://USER[:PASSWORD]@HOST:PORT/DB``: the store is that
    #: PostgreSQL database (several nodes may share it); "" for SQLite
    url: str = ""
    #: SQLite synchronous pragma: NORMAL survives kill -9 of the server (WAL),
    #: FULL also survives power loss, at a cost per commit
    synchronous: str = "NORMAL"


@dataclass(frozen=True)
class HttpConfig:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8080
    #: SHA-256 (hex) of the admin token (``smsc admin token`` makes one);
    #: "" turns the admin routes and the reports page off
    admin_token_sha256: str = ""
    #: dlr_url callbacks of HTTP messages: attempts after the first one
    #: that fails (no 2xx), then given up
    callback_retries: int = 5
    #: seconds before the first retry; doubles on each further one
    callback_backoff: float = 1.0
    #: seconds a callback POST may take (connect and answer)
    callback_timeout: float = 10.0


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
    #: seconds a failed bind counts against its address (and its account)
    bind_failure_window: float = 60.0
    #: failed logins against one account within the window before it is
    #: locked, from every address (0: never)
    max_account_failures: int = 10
    #: seconds such an account stays locked
    account_lockout: float = 300.0


@dataclass(frozen=True)
class MessagesConfig:
    #: the most segments one submit_sm may become (SPEC: 4 = 612 GSM / 268 UCS-2)
    max_segments: int = 4
    #: what data_coding 0 means: GSM 03.38 ("gsm") or Latin-1 ("latin1")
    default_alphabet: str = "gsm"


@dataclass(frozen=True)
class BillingConfig:
    #: command_status of a submit the balance cannot cover. SMPP 3.4 has no
    #: status for it: ESME_RSUBMITFAIL (0x45) by default, or a vendor code
    #: 0x400-0x4FF for clients that tell them apart
    insufficient_funds_status: int = int(CommandStatus.ESME_RSUBMITFAIL)


@dataclass(frozen=True)
class LimitsConfig:
    """Defaults by account mode; an account may override rate and max_binds.
    0 means unlimited."""

    user_rate: float = 0.0
    user_max_binds: int = 0
    #: spam protection for test accounts (SPEC section 1)
    test_rate: float = 1.0
    test_daily_cap: int = 100
    test_max_binds: int = 2


@dataclass(frozen=True)
class RoutingConfig:
    #: operator key for numbers no prefix matches; "" refuses them (ESME_RINVDSTADR)
    default: str = ""
    #: prefix -> operator key, on top of the shipped Ukrainian table
    prefixes: dict = field(default_factory=dict)
    #: ported numbers: E.164 number -> operator key
    ported: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ReceiptsConfig:
    #: FAILED and NOREPORT as the FAQ's own words in stat: (not SMPP 3.4
    #: words; some clients choke on them) instead of UNDELIV / UNKNOWN
    faq_words: bool = False
    #: seconds (simulation time) a receipt waits for a receiver before it is
    #: given up; 72 h, like the longest TTL
    retention: float = 72 * 3600.0


@dataclass(frozen=True)
class MoConfig:
    #: short code / number -> the account that owns it: MO messages to it
    #: (``smsc mo inject``) go to that account's receivers
    numbers: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SimulationConfig:
    #: simulation seconds per real second (3600: a 72 h TTL ends in 72 s)
    time_scale: float = 1.0
    #: seed of the outcome mix; 0 draws a fresh one each start
    seed: int = 0


@dataclass(frozen=True)
class CampaignsConfig:
    #: messages per second a campaign is sent at unless ``--rate`` says otherwise
    #: (the FAQ's service quotes 30-100 SMS/s); the account's own rate still applies
    rate: float = 50.0


@dataclass(frozen=True)
class ClusterConfig:
    #: this node's name, unique among the nodes of one store; "" is
    #: hostname:[smpp] port (``node_name``)
    node: str = ""
    #: seconds: a node whose heartbeat is older is dead (its work taken over)
    lease: float = 10.0


def node_name(cfg: "Config", smpp_port: int) -> str:
    """``[cluster] node``, or hostname:port of the SMPP listener."""
    import socket

    return cfg.cluster.node or f"{socket.gethostname()}:{smpp_port}"


@dataclass(frozen=True)
class Config:
    smpp: SmppConfig = field(default_factory=SmppConfig)
    tls: TlsConfig = field(default_factory=TlsConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    accounts: AccountsConfig = field(default_factory=AccountsConfig)
    messages: MessagesConfig = field(default_factory=MessagesConfig)
    billing: BillingConfig = field(default_factory=BillingConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    receipts: ReceiptsConfig = field(default_factory=ReceiptsConfig)
    simulation: SimulationConfig = field(default_factory=SimulationConfig)
    mo: MoConfig = field(default_factory=MoConfig)
    campaigns: CampaignsConfig = field(default_factory=CampaignsConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    #: [operators.KEY] tables applied to the shipped operators
    #: (simulated, or ``kind = "smpp"`` upstreams)
    operators: Mapping[str, AnySpec] = field(default_factory=lambda: dict(DEFAULT_OPERATORS))
    #: [[rules]]: deterministic outcomes by destination
    rules: tuple[Rule, ...] = ()
    #: the route table built from [routing] and the operators
    routes: RouteTable = field(default_factory=lambda: _routes(RoutingConfig(), DEFAULT_OPERATORS))
    #: the file this came from (a relative store path was made relative to its directory)
    source: str = "<defaults>"


def _routes(routing: RoutingConfig, operators: Mapping[str, AnySpec]) -> RouteTable:
    return RouteTable.build(
        {**UKRAINE_PREFIXES, **routing.prefixes}, routing.ported, routing.default or None,
        operators=set(operators),
    )


_DERIVED = {"operators", "rules", "routes", "source"}
_SECTIONS = {f.name: get_type_hints(Config)[f.name] for f in fields(Config) if f.name not in _DERIVED}
_ALLOWED = {
    "synchronous": {"OFF", "NORMAL", "FULL", "EXTRA"},
    "default_alphabet": {"gsm", "latin1"},
}


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
        if want is dict:
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise ConfigError(f"{where}.{key}: expected a table of strings")
            values[key] = value
            continue
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
    raw = dict(raw)
    try:
        operators = parse_operators(raw.pop("operators", {}), source)
        rules = parse_rules(raw.pop("rules", []), source)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    for name, value in raw.items():
        if name not in _SECTIONS:
            known = ", ".join([*_SECTIONS, "operators", "rules"])
            raise ConfigError(f"{source}: unknown section [{name}] (known: {known})")
        sections[name] = _section(_SECTIONS[name], value, f"{source}: [{name}]")
    routing = sections.get("routing", RoutingConfig())
    try:
        routes = _routes(routing, operators)
    except ValueError as exc:
        raise ConfigError(f"{source}: [routing].{exc}") from None
    cfg = Config(source=source, operators=operators, rules=rules, routes=routes, **sections)
    status = cfg.billing.insufficient_funds_status
    if status not in CommandStatus._value2member_map_ and not 0x400 <= status <= 0x4FF:
        raise ConfigError(
            f"{source}: [billing].insufficient_funds_status: an SMPP status or a vendor code "
            f"0x400-0x4FF, got {status:#x}"
        )
    if cfg.messages.max_segments < 1:
        raise ConfigError(f"{source}: [messages].max_segments: must be at least 1")
    if cfg.simulation.time_scale <= 0:
        raise ConfigError(f"{source}: [simulation].time_scale: must be above 0")
    if cfg.campaigns.rate <= 0:
        raise ConfigError(f"{source}: [campaigns].rate: must be above 0")
    if cfg.smpp.window < 1:
        raise ConfigError(f"{source}: [smpp].window: must be at least 1")
    if cfg.smpp.backlog < 1:
        raise ConfigError(f"{source}: [smpp].backlog: must be at least 1")
    if cfg.smpp.output_pause < 1 or cfg.smpp.max_output < cfg.smpp.output_pause:
        raise ConfigError(f"{source}: [smpp].max_output: must be at least output_pause (and that at least 1), "
                          f"got {cfg.smpp.max_output} and {cfg.smpp.output_pause}")
    if cfg.smpp.max_pdu_length < 16:
        raise ConfigError(f"{source}: [smpp].max_pdu_length: must be at least 16")
    if cfg.cluster.lease <= 0:
        raise ConfigError(f"{source}: [cluster].lease: must be above 0")
    if cfg.store.url and not cfg.store.url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(f"{source}: [store].url: a postgresql://USER[:PASSWORD]@HOST:PORT/DB URL")
    return cfg


def load(path: str | Path | None = None) -> Config:
    """Read ``path`` (the shipped default when None).

    A relative ``[store] path`` in a file given here is relative to that
    file's directory, so a command finds the store wherever it is run from.
    The shipped default (``path`` None) keeps it relative to the working
    directory: ``smsc serve`` in a fresh clone makes ``./smsc.db``, not a
    file inside the installed package.
    """
    cfg = _read(Path(path) if path is not None else DEFAULT_CONFIG)
    store = cfg.store.path
    if path is not None and store != ":memory:" and not Path(store).is_absolute():
        cfg = replace(cfg, store=replace(cfg.store, path=str(Path(path).parent / store)))
    return cfg


def _read(p: Path) -> Config:
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
