r"""Operator connectors and deterministic rules, as config describes them.

``[operators.KEY]`` tables become ``OperatorSpec`` and the ``[[rules]]``
array becomes ``Rule`` values: frozen, checked when built. The KEYs are the
ones the router maps prefixes to (``smsc.router.table``): ``kyivstar``,
``vodafone``, ``lifecell``, ``intertelecom``, ``peoplenet``, ``3mob``.

```toml
[operators.kyivstar]          # every key is optional for a shipped operator
name = "Kyivstar"             # display name (reports, metrics)
price = 42                    # kopecks per segment
ttl = 259_200                 # seconds (72 h): the validity when the client sets none shorter
delay_min = 0.5               # seconds from hand-off to the final state, uniform
delay_max = 3.0
outcomes = { DELIVRD = 94, UNDELIV = 3, EXPIRED = 2, REJECTD = 1 }   # weights
errors = { UNDELIV = 1 }      # err: per stat (3 digits), over the defaults
throughput = 100              # messages/s to the network, 0 = unlimited

[[rules]]                     # first match wins, whatever the operator
suffix = "0001"               # destination (E.164 digits) ends with ...
outcome = "REJECTD"
delay = 1.0                   # optional: seconds instead of the drawn delay
error = 13                    # optional: err: instead of the operator's

[[rules]]
regex = '38067555\d{4}'       # ... or a full match on the E.164 digits ('...': no escapes)
phone_off = true              # unreachable: EXPIRED at the end of validity,
phone_on_after = 600          # unless the phone is back this many s after hand-off
```

A table with ``kind = "smpp"`` is an upstream SMSC instead (router mode,
``upstream.UpstreamOperator``), an ``UpstreamSpec``; ``kind = "sim"`` (the
default) is the simulated operator above. Routing does not care which:

```toml
[operators.kyivstar]
kind = "smpp"
name = "Kyivstar (upstream)"
host = "127.0.0.1"            # required, with port, system_id and password
port = 2776
system_id = "down"
password = "downpw"           # never logged, never in a repr
price = 42                    # kopecks per segment our client pays (a shipped key's by default)
ttl = 259_200                 # as for a simulated operator
bind = "trx"                  # or "tx+rx": a transmitter and a receiver per session
binds = 1                     # sessions (of each kind, for tx+rx)
window = 10                   # submit_sm outstanding per session
throughput = 0                # submit_sm per second over all sessions (real time), 0 = unlimited
reconnect = 5.0               # seconds before the first reconnect; doubles while it fails, up to 60
enquire_link = 30.0           # seconds of silence before we probe
response_timeout = 30.0       # seconds for any response; a submit_sm not answered is sent again
queue_limit = 100_000         # messages waiting for the link; past it clients get ESME_RMSGQFUL
tls = false                   # TLS to the upstream; ca = "file.pem" trusts that CA (else the system's)
destination_ton = 1           # overrides: source_ton, source_npi, destination_ton, destination_npi
```

The parsers raise ``ValueError`` whose message names the file and the key
path (``smsc.toml: [operators.kyivstar].price: expected int, got str '40'``),
so ``smsc.config`` only wraps it. Durations are seconds of *simulation*
time (see ``clock.SimClock``); so is ``throughput``.

Default error codes are GSM MAP error values, since receipts carry them in
network_error_code with network type 3 = GSM: 1 unknown subscriber
(UNDELIV), 13 call barred (REJECTD), 27 absent subscriber (EXPIRED), 34
system failure (FAILED).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from pathlib import Path
from typing import Any, ClassVar, Final

from ..status import DELIVRD, EXPIRED, FAILED, NOREPORT, OPERATOR_STATS, REJECTD, UNDELIV

#: final states an operator may report (smsc.status: the words, and their
#: severity WORST_FIRST)
STATS: Final = OPERATOR_STATS

#: err: per stat when an operator sets none (GSM MAP error codes)
DEFAULT_ERRORS: Final[Mapping[str, int]] = MappingProxyType({
    DELIVRD: 0, UNDELIV: 1, REJECTD: 13, EXPIRED: 27, FAILED: 34, NOREPORT: 0,
})
#: the largest err: value (the receipt's field is exactly three digits)
MAX_ERROR: Final = 999

HOUR: Final = 3600.0


def _frozen_map(m: Mapping[str, Any]) -> Mapping[str, Any]:
    return m if isinstance(m, MappingProxyType) else MappingProxyType(dict(m))


def _check_stat(where: str, stat: object) -> None:
    if stat not in STATS:
        raise ValueError(f"{where}: unknown stat {stat!r} (known: {', '.join(STATS)})")


def _check_error(where: str, code: object) -> None:
    if not isinstance(code, int) or isinstance(code, bool) or not 0 <= code <= MAX_ERROR:
        raise ValueError(f"{where}: an error code is an int from 0 to {MAX_ERROR}, got {code!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorSpec:
    """One simulated operator connector. Times are simulation seconds.

    Built objects are valid: ``__post_init__`` raises ``ValueError`` naming
    the field (``price: ...``), which the parser prefixes with file and table.
    """

    #: display name, e.g. "Kyivstar"
    name: str
    #: kopecks per segment
    price: int
    #: default validity: a client validity_period is honoured only when shorter
    ttl: float = 72 * HOUR
    #: seconds from hand-off to the network until the final state, drawn
    #: uniformly: bounded, so a client test can wait a known time
    delay_min: float = 0.5
    delay_max: float = 3.0
    #: stat -> weight; the mix of final states for messages no rule matches
    outcomes: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({DELIVRD: 1.0}))
    #: stat -> err: code; stats not named take DEFAULT_ERRORS
    errors: Mapping[str, int] = field(default_factory=lambda: DEFAULT_ERRORS)
    #: messages per second to the network; more wait in a FIFO. 0 = unlimited
    throughput: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name: must be a non-empty string, got {self.name!r}")
        if not isinstance(self.price, int) or isinstance(self.price, bool) or self.price < 0:
            raise ValueError(f"price: kopecks, an int not below 0, got {self.price!r}")
        if not self.ttl > 0:
            raise ValueError(f"ttl: must be above 0 seconds, got {self.ttl!r}")
        if not 0 <= self.delay_min <= self.delay_max:
            raise ValueError(
                f"delay_min: must be between 0 and delay_max ({self.delay_max!r}), got {self.delay_min!r}"
            )
        if not self.throughput >= 0:
            raise ValueError(f"throughput: must not be negative, got {self.throughput!r}")
        for stat, weight in self.outcomes.items():
            _check_stat("outcomes", stat)
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
                raise ValueError(f"outcomes.{stat}: a weight is a number not below 0, got {weight!r}")
        if not sum(self.outcomes.values()) > 0:
            raise ValueError("outcomes: at least one weight must be above 0")
        errors = dict(DEFAULT_ERRORS)
        for stat, code in self.errors.items():
            _check_stat("errors", stat)
            _check_error(f"errors.{stat}", code)
            errors[stat] = code
        set_ = object.__setattr__
        set_(self, "outcomes", _frozen_map(self.outcomes))
        set_(self, "errors", MappingProxyType(errors))


#: bind types of an upstream's sessions: transceivers, or transmitter + receiver pairs
UPSTREAM_BINDS: Final = ("trx", "tx+rx")


def _c_octets(value: object, most: int) -> bool:
    return isinstance(value, str) and value.isascii() and len(value) <= most and "\0" not in value


@dataclass(frozen=True, slots=True, kw_only=True)
class UpstreamSpec:
    """An upstream SMSC reached over SMPP (``kind = "smpp"``; router mode).

    ``ttl`` is simulation seconds, as for a simulated operator; the link's
    timers and ``throughput`` are real time. TON/NPI overrides None: the
    source as the client sent it, the destination as E.164 digits with TON
    1 (international), NPI 1 (E.164).
    """

    kind: ClassVar[str] = "smpp"

    name: str
    price: int
    ttl: float = 72 * HOUR
    host: str
    port: int
    system_id: str
    password: str = field(repr=False)
    bind: str = "trx"
    binds: int = 1
    window: int = 10
    throughput: float = 0.0
    system_type: str = ""
    reconnect: float = 5.0
    enquire_link: float = 30.0
    response_timeout: float = 30.0
    queue_limit: int = 100_000
    tls: bool = False
    ca: str = ""
    source_ton: int | None = None
    source_npi: int | None = None
    destination_ton: int | None = None
    destination_npi: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name: must be a non-empty string, got {self.name!r}")
        if not isinstance(self.price, int) or isinstance(self.price, bool) or self.price < 0:
            raise ValueError(f"price: kopecks, an int not below 0, got {self.price!r}")
        if not self.ttl > 0:
            raise ValueError(f"ttl: must be above 0 seconds, got {self.ttl!r}")
        if not isinstance(self.host, str) or not self.host:
            raise ValueError(f"host: must be a non-empty string, got {self.host!r}")
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port: must be 1 to 65535, got {self.port!r}")
        if not _c_octets(self.system_id, 15) or not self.system_id:
            raise ValueError(f"system_id: 1 to 15 ASCII characters, got {self.system_id!r}")
        if not _c_octets(self.password, 8):
            raise ValueError("password: at most 8 ASCII characters (SMPP 3.4)")
        if not _c_octets(self.system_type, 12):
            raise ValueError(f"system_type: at most 12 ASCII characters, got {self.system_type!r}")
        if self.bind not in UPSTREAM_BINDS:
            raise ValueError(f"bind: one of {', '.join(UPSTREAM_BINDS)}, got {self.bind!r}")
        for name in ("binds", "window", "queue_limit"):
            if not getattr(self, name) >= 1:
                raise ValueError(f"{name}: must be at least 1, got {getattr(self, name)!r}")
        if not self.throughput >= 0:
            raise ValueError(f"throughput: must not be negative, got {self.throughput!r}")
        for name in ("reconnect", "enquire_link", "response_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be above 0 seconds, got {getattr(self, name)!r}")
        if self.ca and not self.tls:
            raise ValueError("ca: only with tls = true")
        if self.ca and not Path(self.ca).is_file():
            raise ValueError(f"ca: no such file {self.ca!r}")
        for name in ("source_ton", "source_npi", "destination_ton", "destination_npi"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 255:
                raise ValueError(f"{name}: must be 0 to 255, got {value!r}")


#: what an ``[operators.KEY]`` table becomes, by its ``kind``
AnySpec = OperatorSpec | UpstreamSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """A deterministic outcome for destinations matching ``suffix`` or ``regex``.

    Exactly one of ``suffix`` (the E.164 digits end with it) and ``regex``
    (a full match on the E.164 digits) is set. ``delay`` None: the
    operator's drawn delay. With ``phone_off`` the handset is unreachable:
    the message ends EXPIRED at the end of its validity, or, when
    ``phone_on_after`` is set and the phone is back before then,
    ``outcome`` (default DELIVRD) that many seconds after hand-off (plus
    ``delay``). ``error`` None: the operator's code for the stat.
    """

    suffix: str | None = None
    regex: str | None = None
    outcome: str | None = None
    delay: float | None = None
    phone_off: bool = False
    phone_on_after: float | None = None
    error: int | None = None
    _pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.suffix is None) == (self.regex is None):
            raise ValueError("set exactly one of suffix and regex")
        if self.suffix is not None and not (
            isinstance(self.suffix, str) and self.suffix.isascii() and self.suffix.isdigit()
        ):
            raise ValueError(f"suffix: digits only (E.164, no '+'), got {self.suffix!r}")
        if self.regex is not None:
            try:
                object.__setattr__(self, "_pattern", re.compile(self.regex))
            except (re.error, TypeError) as exc:
                raise ValueError(f"regex: does not compile: {exc}") from None
        outcome = self.outcome
        if outcome is None:
            if not self.phone_off:
                raise ValueError("outcome: required (unless phone_off = true)")
            outcome = DELIVRD if self.phone_on_after is not None else EXPIRED
            object.__setattr__(self, "outcome", outcome)
        _check_stat("outcome", outcome)
        if self.phone_off and self.phone_on_after is None and outcome != EXPIRED:
            raise ValueError(
                f"outcome: a phone that stays off ends EXPIRED, not {outcome}; "
                "set phone_on_after for the outcome once it is back on"
            )
        if self.phone_on_after is not None:
            if not self.phone_off:
                raise ValueError("phone_on_after: only with phone_off = true")
            if not self.phone_on_after >= 0:
                raise ValueError(f"phone_on_after: must not be negative, got {self.phone_on_after!r}")
        if self.delay is not None and not self.delay >= 0:
            raise ValueError(f"delay: must not be negative, got {self.delay!r}")
        if self.error is not None:
            _check_error("error", self.error)

    def matches(self, number: str) -> bool:
        """Does this rule apply to ``number`` (E.164 digits)?"""
        if self._pattern is not None:
            return self._pattern.fullmatch(number) is not None
        return number.endswith(self.suffix)  # type: ignore[arg-type]


#: the shipped connectors, keyed as the router names them; TTLs as SPEC.md 5
DEFAULT_OPERATORS: Final[Mapping[str, OperatorSpec]] = MappingProxyType({
    "kyivstar": OperatorSpec(name="Kyivstar", price=42, ttl=72 * HOUR),
    "vodafone": OperatorSpec(name="Vodafone", price=40, ttl=72 * HOUR),
    "lifecell": OperatorSpec(name="lifecell", price=36, ttl=24 * HOUR),
    "intertelecom": OperatorSpec(name="Intertelecom", price=30, ttl=24 * HOUR),
    "peoplenet": OperatorSpec(name="PEOPLEnet", price=31, ttl=72 * HOUR),
    "3mob": OperatorSpec(name="3Mob", price=33, ttl=72 * HOUR),
})


# --- parsing ------------------------------------------------------------------

def _type_name(value: object) -> str:
    return f"{type(value).__name__} {value!r}"


def _number(path: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{path}: expected a number, got {_type_name(value)}")
    return float(value)


def _int(path: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{path}: expected int, got {_type_name(value)}")
    return value


def _str(path: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{path}: expected a string, got {_type_name(value)}")
    return value


def _bool(path: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{path}: expected true or false, got {_type_name(value)}")
    return value


def _table(path: str, value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{path}: expected a table, got {_type_name(value)}")
    return value


def _stat_table(path: str, value: object, convert: Any) -> dict[str, Any]:
    out = {}
    for stat, v in _table(path, value).items():
        _check_stat(path, stat)
        out[stat] = convert(f"{path}.{stat}", v)
    return out


_OPERATOR_KEYS: Final = {
    "name": _str,
    "price": _int,
    "ttl": _number,
    "delay_min": _number,
    "delay_max": _number,
    "outcomes": lambda p, v: _stat_table(p, v, _number),
    "errors": lambda p, v: _stat_table(p, v, _int),
    "throughput": _number,
}

_UPSTREAM_KEYS: Final = {
    "name": _str,
    "price": _int,
    "ttl": _number,
    "host": _str,
    "port": _int,
    "system_id": _str,
    "password": _str,
    "bind": _str,
    "binds": _int,
    "window": _int,
    "throughput": _number,
    "system_type": _str,
    "reconnect": _number,
    "enquire_link": _number,
    "response_timeout": _number,
    "queue_limit": _int,
    "tls": _bool,
    "ca": _str,
    "source_ton": _int,
    "source_npi": _int,
    "destination_ton": _int,
    "destination_npi": _int,
}
_UPSTREAM_REQUIRED: Final = ("host", "port", "system_id", "password")
#: ``kind`` values of an ``[operators.KEY]`` table
KINDS: Final = ("sim", "smpp")

_RULE_KEYS: Final = {
    "suffix": _str,
    "regex": _str,
    "outcome": _str,
    "delay": _number,
    "phone_off": _bool,
    "phone_on_after": _number,
    "error": _int,
}


def _fields(raw: dict[str, Any], known: dict[str, Any], path: str) -> dict[str, Any]:
    values = {}
    for key, value in raw.items():
        convert = known.get(key)
        if convert is None:
            raise ValueError(f"{path}: unknown key {key!r} (known: {', '.join(sorted(known))})")
        values[key] = convert(f"{path}.{key}", value)
    return values


def parse_operators(
    raw: Mapping[str, Any],
    where: str,
    base: Mapping[str, OperatorSpec] = DEFAULT_OPERATORS,
) -> dict[str, AnySpec]:
    """``base`` with the ``[operators.KEY]`` tables of ``raw`` applied.

    A table for a key of ``base`` changes only the keys it sets; a new key
    is a new operator and must set ``price`` (its name defaults to the key).
    A ``kind = "smpp"`` table is an upstream (``UpstreamSpec``): it must
    set host, port, system_id and password, and takes a shipped key's name,
    price and TTL unless it sets them. ``where`` names the file in errors.
    """
    result: dict[str, AnySpec] = dict(base)
    for key, table in _table(f"{where}: [operators]", raw).items():
        path = f"{where}: [operators.{key}]"
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", key):
            raise ValueError(f"{path}: an operator key is lower-case letters, digits, '_' or '-'")
        table = dict(_table(path, table))
        kind = _str(f"{path}.kind", table.pop("kind", "sim"))
        if kind not in KINDS:
            raise ValueError(f"{path}.kind: one of {', '.join(KINDS)}, got {kind!r}")
        if kind == "smpp":
            result[key] = _upstream(key, table, base.get(key), path)
            continue
        values = _fields(table, _OPERATOR_KEYS, path)
        old = base.get(key)
        if old is None:
            if "price" not in values:
                raise ValueError(f"{path}.price: required for an operator that is not shipped")
            values.setdefault("name", key)
        else:
            values = {f: getattr(old, f) for f in _OPERATOR_KEYS} | values
        try:
            result[key] = OperatorSpec(**values)
        except ValueError as exc:
            raise ValueError(f"{path}.{exc}") from None
    return result


def _upstream(key: str, table: dict[str, Any], old: OperatorSpec | None, path: str) -> UpstreamSpec:
    values = _fields(table, _UPSTREAM_KEYS, path)
    for name in _UPSTREAM_REQUIRED:
        if name not in values:
            raise ValueError(f"{path}.{name}: required for kind = \"smpp\"")
    if old is None:
        if "price" not in values:
            raise ValueError(f"{path}.price: required for an operator that is not shipped")
        values.setdefault("name", key)
    else:
        values = {"name": old.name, "price": old.price, "ttl": old.ttl} | values
    try:
        return UpstreamSpec(**values)
    except ValueError as exc:
        raise ValueError(f"{path}.{exc}") from None


def parse_rules(raw: list[Any], where: str) -> tuple[Rule, ...]:
    """The ``[[rules]]`` array, in order; errors say ``[[rules]] #N`` (from 1)."""
    if not isinstance(raw, list):
        raise ValueError(f"{where}: rules: expected an array of tables ([[rules]]), got {_type_name(raw)}")
    rules = []
    for i, table in enumerate(raw, 1):
        path = f"{where}: [[rules]] #{i}"
        values = _fields(_table(path, table), _RULE_KEYS, path)
        try:
            rules.append(Rule(**values))
        except ValueError as exc:
            msg = str(exc)
            raise ValueError(f"{path}.{msg}" if msg.split(":")[0] in _RULE_KEYS else f"{path}: {msg}") from None
    return tuple(rules)
