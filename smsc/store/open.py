"""Which backend a config names, opened: the one place that decides.

``[store] url`` (``postgresql://USER[:PASSWORD]@HOST:PORT/DB``) selects
PostgreSQL (``smsc.store.postgres``); without it ``[store] path`` is the
SQLite file (``smsc.store.sqlite``), the default. ``--store`` takes either.
The CLI, the server and ``smsc store copy`` open stores only through here,
and print a store only through ``display_target``, which hides a password.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from .port import MessageStore


class StoreConfig(Protocol):
    """What ``[store]`` says (smsc.config.StoreConfig; named here, so the
    store needs nothing of the config module)."""

    @property
    def url(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def synchronous(self) -> str: ...

#: what a PostgreSQL URL starts with (libpq takes both)
URL_SCHEMES = ("postgresql://", "postgres://")


class StoreUnavailable(Exception):
    """The store cannot be opened (PostgreSQL down, wrong password, no such
    database); the message names the store with its password hidden."""


def is_url(target: str) -> bool:
    return target.startswith(URL_SCHEMES)


def target_of(cfg: StoreConfig) -> str:
    """The URL when one is set, else the SQLite path."""
    return cfg.url or cfg.path


def display_target(target: str) -> str:
    """``target`` fit to print or log: a URL's password is replaced by ***."""
    if not is_url(target):
        return target
    parts = urlsplit(target)
    if parts.password is None:
        return target
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def open_target(target: str, synchronous: str = "NORMAL", now: float | None = None) -> MessageStore:
    """The store at ``target``: a PostgreSQL URL or a SQLite path (made if
    missing; its schema created or upgraded either way)."""
    if is_url(target):
        from .postgres import PgStore  # psycopg only for those who use it

        return PgStore(target, now=now)
    from .sqlite import Store

    return Store(target, synchronous)


def open_store(cfg: StoreConfig, now: float | None = None) -> MessageStore:
    """The store the config names (``[store] url``, else ``path``)."""
    return open_target(target_of(cfg), cfg.synchronous, now)
