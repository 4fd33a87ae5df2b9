"""Account operations of the operators: one implementation for the CLI
(``smsc account ...``, ``smsc mo inject``) and the HTTP admin routes.

Plain functions on a ``MessageStore``, which the CLI opens itself (WAL lets
it write while the server runs). The HTTP admin routes take the same
checks (``new_account``, ``check_topup``, ``alpha_name``,
``normalise_numbers``, ``mo_route``, ``store_error``) and make the same
store calls through the server's store port. A refusal is an
``AdminError`` whose ``code`` says what kind it is (``invalid``,
``not_found``, ``conflict``) and whose ``field`` names the input at fault,
so the CLI prints one line and the HTTP API answers the matching status
with the field named.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..config import AccountsConfig, MoConfig
from ..pdu.errors import SmppError
from ..pdu.receipt import date_formatter
from ..records import Account
from ..router.numbers import RoutingError, normalise_loose
from ..store.port import AccountExists, MessageStore, NoSuchAccount, NotAllowlisted, NotBlacklisted
from . import allowlist as allowlists, ids, validation
from .money import format_uah, parse_uah
from .passwords import generate_password, hash_password
from .senders import senders_of


class AdminError(Exception):
    """An operation refused; ``code``: invalid | not_found | conflict."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field


def _invalid(field: str, message: str) -> AdminError:
    return AdminError("invalid", message, field)


def no_account(system_id: str) -> AdminError:
    return AdminError("not_found", f"no account {system_id}", "system_id")


def no_alpha(system_id: str, name: str) -> AdminError:
    return AdminError("not_found", f"{system_id} has no alpha-name {name}", "name")


def store_error(exc: BaseException, system_id: str) -> AdminError | None:
    """The AdminError a store refusal (NoSuchAccount, AccountExists,
    NotBlacklisted, NotAllowlisted) about ``system_id`` means; None for
    anything else."""
    if isinstance(exc, NoSuchAccount):
        return no_account(system_id)
    if isinstance(exc, AccountExists):
        return AdminError("conflict", f"account {system_id} already exists", "system_id")
    if isinstance(exc, NotBlacklisted):
        return AdminError(
            "not_found", f"{system_id} has not blacklisted {', '.join(exc.numbers)}; nothing removed", "numbers"
        )
    if isinstance(exc, NotAllowlisted):
        return AdminError(
            "not_found", f"{system_id}'s allowlist has no {', '.join(exc.networks)}; nothing removed", "networks"
        )
    return None


def _checked(check: Any, value: Any, field: str) -> Any:
    """``check(value)`` with its ValueError as an AdminError naming ``field``."""
    try:
        return check(value)
    except ValueError as exc:
        raise _invalid(field, str(exc)) from None


def kopecks_of(amount: str | int | Decimal, field: str) -> int:
    """A UAH amount (text, or an exact JSON number) in kopecks."""
    return _checked(lambda a: parse_uah(str(a)), amount, field)


def account_json(a: Account, universal_alpha: str | None = None) -> dict[str, Any]:
    """An account as ``account show --json`` and the admin API show it.

    With ``universal_alpha`` (``[accounts] universal_alpha``) it also has
    ``senders``: the names it may send from now (``alpha_names`` are the
    registered ones, which a test account uses only after ``promote``).
    """
    shown = {
        "system_id": a.system_id,
        "mode": a.mode,
        "balance_kopecks": a.balance_kopecks,
        "balance_uah": format_uah(a.balance_kopecks),
        "alpha_names": list(a.alpha_names),
        "rate": a.rate,
        "max_binds": a.max_binds,
        "id_format": a.id_format or "hex",
        "id_width": a.id_width or 0,
        "receipt_seconds": bool(a.receipt_seconds),
        "receipt_tz": a.receipt_tz or "UTC",
        "allowlist": list(a.allowlist),
    }
    if universal_alpha is not None:
        shown["senders"] = list(senders_of(a, universal_alpha))
    return shown


def get_account(store: MessageStore, system_id: str) -> Account:
    a = store.get_account(system_id)
    if a is None:
        raise no_account(system_id)
    return a


def _existing(store: MessageStore, system_id: str, fn: Any, *args: Any) -> Any:
    """``fn(*args)``, a store write, its refusal as an AdminError."""
    try:
        return fn(*args)
    except (NoSuchAccount, AccountExists, NotBlacklisted, NotAllowlisted) as exc:
        error = store_error(exc, system_id)
        assert error is not None
        raise error from None


@dataclass(frozen=True)
class NewPassword:
    password: str
    #: made here (print it once) rather than chosen by the operator
    generated: bool


def _password(password: str | None) -> NewPassword:
    if password is None:
        return NewPassword(generate_password(), True)
    return NewPassword(_checked(validation.check_password, password, "password"), False)


def check_limits(rate: float | None, max_binds: int | None) -> None:
    if rate is not None and rate < 0:
        raise _invalid("rate", "rate must not be negative")
    if max_binds is not None and max_binds < 0:
        raise _invalid("max_binds", "max_binds must not be negative")


def create_account(
    store: MessageStore, cfg: AccountsConfig, system_id: str, *, password: str | None = None,
    mode: str = "test", balance_kopecks: int | None = None, alpha: tuple[str, ...] = (),
    rate: float | None = None, max_binds: int | None = None,
) -> tuple[Account, NewPassword]:
    """A new account (``new_account``), stored. Returns it as stored and
    its password (generated when none is given: show it once, it is stored
    only hashed)."""
    account, pw = new_account(
        cfg, system_id, password=password, mode=mode, balance_kopecks=balance_kopecks, alpha=alpha,
        rate=rate, max_binds=max_binds,
    )
    _existing(store, system_id, store.add_account, account)
    return get_account(store, system_id), pw


def new_account(
    cfg: AccountsConfig, system_id: str, *, password: str | None = None,
    mode: str = "test", balance_kopecks: int | None = None, alpha: tuple[str, ...] = (),
    rate: float | None = None, max_binds: int | None = None,
) -> tuple[Account, NewPassword]:
    """A new account's record, checked, with its password hashed (slow on
    purpose: off the reactor thread); a test account gets ``[accounts]
    test_balance_kopecks`` unless a balance is given."""
    _checked(validation.check_system_id, system_id, "system_id")
    _checked(validation.check_mode, mode, "mode")
    pw = _password(password)
    if balance_kopecks is None:
        balance_kopecks = cfg.test_balance_kopecks if mode == "test" else 0
    if balance_kopecks < 0:
        raise _invalid("balance", "balance must not be negative")
    names = tuple(_checked(validation.check_alpha, n, "alpha") for n in alpha)
    check_limits(rate, max_binds)
    return Account(system_id, hash_password(pw.password), mode, balance_kopecks, names, rate, max_binds), pw


def check_topup(kopecks: int) -> None:
    if kopecks <= 0:
        raise _invalid("amount", "top-up amount must be positive")


def topup(store: MessageStore, system_id: str, kopecks: int) -> Account:
    check_topup(kopecks)
    _existing(store, system_id, store.add_balance, system_id, kopecks)
    return get_account(store, system_id)


def set_password(store: MessageStore, system_id: str, password: str | None = None) -> NewPassword:
    pw = _password(password)
    _existing(store, system_id, store.set_password_hash, system_id, hash_password(pw.password))
    return pw


def promote(store: MessageStore, system_id: str) -> Account:
    """test -> user (a user account stays one)."""
    _existing(store, system_id, store.set_mode, system_id, "user")
    return get_account(store, system_id)


def set_limits(
    store: MessageStore, system_id: str, rate: float | None, max_binds: int | None, default: bool = False
) -> tuple[float | None, int | None]:
    """Set the given limits (None: keep), or with ``default`` go back to the
    mode's defaults. Returns the limits now set (None: the default)."""
    if default:
        rate, max_binds = None, None
    else:
        a = get_account(store, system_id)
        rate = a.rate if rate is None else rate
        max_binds = a.max_binds if max_binds is None else max_binds
        check_limits(rate, max_binds)
    _existing(store, system_id, store.set_limits, system_id, rate, max_binds)
    return rate, max_binds


def set_receipt_options(
    store: MessageStore, system_id: str, id_format: str | None, id_width: int | None,
    seconds: bool | None, tz: str | None, default: bool = False,
) -> tuple[str | None, int | None, bool | None, str | None]:
    """Per-account receipt options (README "Receipts"); None keeps one.
    Returns (id_format, width, seconds, tz) as set; defaults are stored as NULL."""
    a = get_account(store, system_id)
    if default:
        fmt, width, secs, zone = None, None, None, None
    else:
        fmt = a.id_format if id_format is None else id_format
        width = a.id_width if id_width is None else id_width
        if id_format == "uuid" and id_width is None:
            width = None  # a padding width doesn't apply to uuids
        secs = a.receipt_seconds if seconds is None else seconds
        zone = a.receipt_tz if tz is None else tz
    _checked(lambda f: ids.MessageIdFormat.of(f, width), fmt, "id_format")
    if zone is not None:
        try:
            date_formatter(False, zone)
        except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
            raise _invalid("tz", f"--tz {zone}: no such time zone (IANA names, e.g. Europe/Kyiv)") from None
        if zone == "UTC":
            zone = None
    store.set_receipt_options(system_id, None if fmt == "hex" else fmt, width or None, secs or None, zone)
    return fmt, width, secs, zone


def alpha_name(name: str) -> str:
    """An alpha-name to add or remove, checked."""
    return _checked(validation.check_alpha, name, "name")


def add_alpha(store: MessageStore, system_id: str, name: str) -> str:
    name = alpha_name(name)
    _existing(store, system_id, store.add_alpha, system_id, name)
    return name


def remove_alpha(store: MessageStore, system_id: str, name: str) -> str:
    name = alpha_name(name)
    if not _existing(store, system_id, store.remove_alpha, system_id, name):
        raise no_alpha(system_id, name)
    return name


def normalise_numbers(numbers: list[str]) -> list[str]:
    """Numbers as people write them -> E.164 digits, in order, each once."""
    if not numbers:
        raise _invalid("numbers", "at least one number is needed")
    out = []
    for text in numbers:
        try:
            out.append(normalise_loose(text))
        except RoutingError as exc:
            raise _invalid("numbers", f"not a phone number: {exc.detail}") from None
    return list(dict.fromkeys(out))


def blacklist(store: MessageStore, system_id: str) -> list[str]:
    get_account(store, system_id)
    return store.blacklist(system_id)


def blacklist_add(store: MessageStore, system_id: str, numbers: list[str]) -> tuple[list[str], int]:
    """Blacklist ``numbers``; (the normalised numbers, how many were new).
    A running server picks the change up within a second."""
    wanted = normalise_numbers(numbers)
    return wanted, _existing(store, system_id, store.add_blacklist, system_id, wanted)


def blacklist_remove(store: MessageStore, system_id: str, numbers: list[str]) -> list[str]:
    """All or nothing: a number not on the list removes none."""
    wanted = normalise_numbers(numbers)
    _existing(store, system_id, store.remove_blacklist, system_id, wanted)
    return wanted


def normalise_networks(networks: list[str]) -> list[str]:
    """IPv4/IPv6 addresses and CIDR networks -> their normal form, in
    order, each once (``smsc.accounts.allowlist``)."""
    if not networks:
        raise _invalid("networks", "at least one address or CIDR network is needed")
    out = [_checked(allowlists.normalise, n, "networks") for n in networks]
    return list(dict.fromkeys(out))


def allowlist(store: MessageStore, system_id: str) -> list[str]:
    get_account(store, system_id)
    return store.allowlist(system_id)


def allowlist_add(store: MessageStore, system_id: str, networks: list[str]) -> tuple[list[str], int]:
    """Allow binds and HTTP logins from ``networks``; (the normalised
    networks, how many were new). The next bind sees it."""
    wanted = normalise_networks(networks)
    return wanted, _existing(store, system_id, store.add_allowlist, system_id, wanted)


def allowlist_remove(store: MessageStore, system_id: str, networks: list[str]) -> list[str]:
    """All or nothing: a network not on the list removes none. An emptied
    list lets every address in again."""
    wanted = normalise_networks(networks)
    _existing(store, system_id, store.remove_allowlist, system_id, wanted)
    return wanted


def api_key_sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh HTTP API key (256 random bits) and its SHA-256, the only
    part stored: show the key once."""
    key = secrets.token_urlsafe(32)
    return key, api_key_sha256(key)


def new_api_key(store: MessageStore, system_id: str) -> str:
    """A fresh HTTP API key for the account, replacing its old one."""
    key, sha = new_key()
    _existing(store, system_id, store.set_api_key, system_id, sha)
    return key


@dataclass(frozen=True)
class QueuedMo:
    id: int
    system_id: str
    source: str
    to: str


def inject_mo(store: MessageStore, cfg: MoConfig, to: str, source: str, text: str) -> QueuedMo:
    """Queue an MO message from handset ``source`` to our number ``to``
    (``[mo] numbers``); a running server delivers it within a second."""
    system_id, digits = mo_route(cfg, to, source, text)
    return QueuedMo(store.add_mo(system_id, digits, to, text), system_id, digits, to)


def mo_route(cfg: MoConfig, to: str, source: str, text: str) -> tuple[str, str]:
    """An MO message to inject, checked: (the account ``to`` belongs to,
    ``source`` as E.164 digits)."""
    from ..dlr.mo import mo_parts

    system_id = cfg.numbers.get(to)
    if system_id is None:
        raise _invalid("to", f"--to {to}: not one of the [mo] numbers ({', '.join(cfg.numbers) or 'none'})")
    digits = source.lstrip("+")
    if not (len(digits) == 12 and digits.startswith("380") and digits.isdigit()):
        raise _invalid("from", f"--from {source}: expected a Ukrainian number 380XXXXXXXXX")
    if not text:
        raise _invalid("text", "--text is empty")
    try:
        mo_parts(0, system_id, digits, to, text)
    except (SmppError, ValueError) as exc:
        raise _invalid("text", f"--text: {getattr(exc, 'detail', exc)}") from None
    return system_id, digits
