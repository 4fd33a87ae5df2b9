"""The real engine on a task.Clock, over a temporary SQLite store through
the store port (inline: no thread), with a receiver that records what it is
offered. The graph is the server's own (``smsc.app.build_engine``)."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

from smsc import config as config_mod
from smsc.accounts.live import LiveAccount
from smsc.app import build_engine
from smsc.engine import Engine
from smsc.metrics import Metrics
from smsc.pdu.constants import CommandStatus as S
from smsc.records import Account, BindInfo, Receipt, Submission
from smsc.store.id_blocks import MessageIds
from smsc.store.sqlite import Store
from smsc.store.worker import StoreWorker
from smsc.submission import of_text

#: a Monday noon UTC, so "today" is one UTC day all test long
START = 1_764_590_400.0
#: a Kyivstar number (380 67 ...) and its price per segment (kopecks)
KYIVSTAR, KYIVSTAR_PRICE = "380671234567", 42

PASSWORDS = {"hash-of-pw": "pw", "hash-of-other": "other"}


def verify(password: str, password_hash: str) -> "Deferred[bool]":
    """A password check without scrypt (the engine's own verify is a thread)."""
    return succeed(PASSWORDS.get(password_hash) == password)


def sms(to: str = KYIVSTAR, text: str = "hello", sender: str = "Shop", **kw: Any) -> Submission:
    return of_text(sender, to, text)._replace(**kw)


@dataclass(eq=False)
class Receiver:
    """A DeliverySink that records and (unless told not to) acknowledges."""

    rig: "Rig"
    ack: bool = True
    got: list[Receipt] = field(default_factory=list)
    unanswered: list[Receipt] = field(default_factory=list)

    def take(self, queue: deque[Receipt]) -> None:
        while queue:
            r = queue.popleft()
            self.got.append(r)
            if self.ack:
                self.rig.clock.callLater(0, self.rig.engine.receipts.answered, r, True)
            else:
                self.unanswered.append(r)


class Rig:
    def __init__(self, path: Path, **sections: Any) -> None:
        raw: dict[str, Any] = {"simulation": {"seed": 7}}
        for name, keys in sections.items():
            raw.setdefault(name, {}).update(keys) if isinstance(keys, dict) else raw.__setitem__(name, keys)
        self.config = config_mod.parse(raw, "<engine test>")
        self.path = path
        self.clock = Clock()
        self.clock.advance(START)
        self.store = Store(str(path), "NORMAL")
        self.worker = StoreWorker(self.store, self.clock, threaded=False)
        self.metrics = Metrics()
        self.engine: Engine = build_engine(
            self.config, self.worker, self.clock,
            MessageIds(self.store.message_ids(START), self.worker, self.clock.seconds), self.metrics, verify
        )
        self.worker.start()

    def add(self, system_id: str = "shop", *, mode: str = "user", balance: int = 10_000,
            alpha: tuple[str, ...] = ("Shop",), **kw: Any) -> None:
        self.store.add_account(Account(system_id, "hash-of-pw", mode, balance, alpha, **kw))

    def run(self, seconds: float = 0.0, step: float = 0.005) -> None:
        """Let the clock run: commits, operator delays, receipt pumps."""
        end = self.clock.seconds() + seconds
        while True:
            self.clock.advance(0)
            if self.clock.seconds() >= end:
                break
            self.clock.advance(min(max(step, seconds / 100), end - self.clock.seconds()))
        self.clock.advance(0)

    def result(self, d: Deferred) -> Any:
        """The Deferred's result once the clock has run a little; raises its failure."""
        out: list[Any] = []
        d.addBoth(out.append)
        self.run(0.05)
        assert out, "the Deferred never fired"
        if hasattr(out[0], "raiseException"):
            out[0].raiseException()
        return out[0]

    def bind(self, system_id: str = "shop", password: str = "pw", kind: str = "transceiver",
             host: str = "127.0.0.1") -> LiveAccount:
        return self.result(self.engine.authenticate(BindInfo(system_id, password, kind, host)))

    def receiver(self, live: LiveAccount, ack: bool = True) -> Receiver:
        r = Receiver(self, ack)
        self.engine.receipts.attach(live.system_id, r)
        return r

    def submit(self, live: LiveAccount, sub: Submission) -> tuple[int, str]:
        """(status, message_id) once the submit is answered."""
        answers: list[tuple[int, str]] = []
        self.engine.submit(live, sub, lambda _, status, mid: answers.append((status, mid)), None)
        self.run(0.01)
        assert len(answers) == 1, answers
        return answers[0]

    def accept(self, live: LiveAccount, sub: Submission) -> str:
        status, mid = self.submit(live, sub)
        assert status == S.ESME_ROK, S(status).name
        return mid

    def balance(self, system_id: str = "shop") -> int:
        account = self.store.get_account(system_id)
        assert account is not None
        return account.balance_kopecks

    def close(self) -> None:
        self.run(0.01)
        self.store.close()
