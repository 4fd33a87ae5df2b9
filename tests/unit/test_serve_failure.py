"""A start that fails after the server is built (a listener cannot be
adopted) raises and leaves no thread behind: before, the store's threads
kept the process alive after the traceback, so `smsc serve` hung instead
of exiting."""
from __future__ import annotations

import io
import threading

import pytest
from twisted.internet.task import Clock

from smsc import config as config_mod
from smsc.app import serve


class FailingReactor(Clock):
    """A Clock that cannot adopt a listening socket."""

    def __init__(self) -> None:
        super().__init__()
        self.triggers: list[tuple] = []

    def addSystemEventTrigger(self, *args: object) -> None:  # noqa: N802 (Twisted's name)
        self.triggers.append(args)

    def adoptStreamPort(self, fd: int, family: object, factory: object) -> object:  # noqa: N802
        raise OSError("adopting the listener failed")

    def callFromThread(self, f, *args, **kwargs):  # noqa: N802
        return f(*args, **kwargs)


def store_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if "smsc-" in t.name]  # PoolThread-smsc-store-1


def test_a_failed_start_after_the_build_stops_the_store_threads(tmp_path):
    before = store_threads()
    cfg = config_mod.parse({"smpp": {"host": "127.0.0.1", "port": 0}, "store": {"path": str(tmp_path / "s.db")}},
                           "test")
    with pytest.raises(OSError, match="adopting the listener failed"):
        serve(cfg, FailingReactor(), out=io.StringIO())
    assert store_threads() == before
    # and the store is free again for the next start (its lock released)
    with pytest.raises(OSError, match="adopting the listener failed"):
        serve(cfg, FailingReactor(), out=io.StringIO())
