"""A message's life after its commit, and the durability of its receipt.

An accepted message goes to its operator (or, blacklisted, straight to an
UNDELIV end); the operator reports its fate here (``on_final``), which
persists it and queues the receipt the client asked for. The rule that
keeps a receipt from being lost or repeated lives here only:

- no receiver bound: the final state and "receipt owed" are committed
  first, then the receipt is queued (a restart finds it owed);
- a receiver bound: the receipt goes out at once and the final state is
  written together with its acknowledgement (one write, not two). A kill -9
  before that write leaves the message unfinished, so a restart resumes it:
  never lost. Should it have to wait after all (the receiver left), the
  hub asks ``make_durable`` first.

ENROUTE notifications (registered_delivery 0x10) are best-effort: offered
only while a receiver is bound, never persisted.

A node of a cluster (``cluster`` True: several nodes on one PostgreSQL)
keeps in memory only receipts it can deliver: with no receiver bound here
the owed receipt is committed for whichever node holds one to claim
(``smsc.engine.cluster``), and a receipt made durable while it stays in
memory is marked this node's (``StorePort.hold``).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime

from ..accounts.live import LiveAccount
from ..dlr.hub import DeliveryHub, DeliverySink
from ..faults.registry import Faults
from ..metrics import Metrics
from ..operators.clock import SimClock
from ..operators.scheduler import Scheduler
from ..operators.port import Operator, Outcome
from ..pdu.constants import CommandStatus, MessageState
from ..pdu.errors import SmppError
from ..records import Message, Receipt
from ..status import DELETED, ENROUTE, STAT_STATE, UNDELIV
from ..store.port import RECEIPT_DONE, RECEIPT_NONE, RECEIPT_OWED, StorePort
from .rules import ERR_BLACKLISTED, RD_INTERMEDIATE, receipt_owed, utc_day


class Lifecycle:
    def __init__(
        self,
        *,
        store: StorePort,
        clock: IReactorTime,
        sim: SimClock,
        scheduler: Scheduler,
        operators: dict[str, Operator],
        receipts: DeliveryHub[Receipt],
        metrics: Metrics,
        faults: Faults | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._sim = sim
        self._scheduler = scheduler
        self._operators = operators
        self._receipts = receipts
        self._metrics = metrics
        #: a node of a cluster (module doc): set by ``smsc.engine.cluster``
        self.cluster = False
        #: message id -> the transceiver session it came on (see DeliveryHub)
        self.origin: dict[int, DeliverySink[Receipt]] = {}
        #: message id -> called with the id once it is final (dlr_url
        #: callbacks of HTTP messages, smsc.dlr.callbacks); empty unless
        #: the HTTP API has some waiting, so SMPP traffic pays one check
        self.final_watchers: dict[int, Callable[[int], None]] = {}
        for operator in operators.values():
            operator.connect(self.on_final, self._enroute)
        receipts.connect(self._receipt_acked, self._make_durable)
        #: receipts faults (smsc.faults): ``receipts`` is empty unless one is on
        self._faults = faults if faults is not None else Faults(clock, sim, operators)
        self._faults.connect(self._final)

    # --- after the commit -------------------------------------------------------

    def accepted(self, message: Message, origin: DeliverySink[Receipt] | None, blacklisted: bool) -> None:
        """``message`` and its charge are committed: hand it on."""
        if origin is not None and message.registered_delivery:
            self.origin[message.id] = origin
        if blacklisted:
            self._scheduler.call_at(self._clock.seconds(), self._blacklisted, message)
        else:
            operator = self._operators[message.operator]
            operator.submit(message, message.expires_at or operator.expires_at(message.submit_time),
                            message.not_before)

    def resume(self, message: Message) -> None:
        """An unfinished message found at start: back to its operator, or
        UNDELIV when its operator left the config."""
        operator = self._operators.get(message.operator)
        if operator is None:
            self.on_final(Outcome(message, UNDELIV, 0, self._sim.now()))
            return
        operator.submit(message, message.expires_at or operator.expires_at(message.submit_time), message.not_before)

    def _blacklisted(self, message: Message, real_now: float) -> None:
        self.on_final(Outcome(message, UNDELIV, ERR_BLACKLISTED, self._sim.to_sim(real_now)))

    # --- outcomes and receipts ----------------------------------------------------

    def on_final(self, outcome: Outcome) -> None:
        """The operator decided a message's fate: persist it, then receipt it
        (unless a receipts fault holds or loses the receipt)."""
        if self._faults.receipts and self._faults.receipt(outcome):
            return
        self._final(outcome, True)

    def _final(self, outcome: Outcome, wanted: bool) -> None:
        """``on_final``'s work; ``receipt`` False: a receipts fault lost it
        (the message ends as decided, with no receipt owed)."""
        m = outcome.message
        self._metrics.final(m.operator, outcome.stat)
        if self.final_watchers:
            self._watched(m.id)
        origin = self.origin.pop(m.id, None)
        owed = wanted and receipt_owed(m.registered_delivery, outcome.stat)
        # Whole seconds: receipts show at most seconds, and the store writes
        # the messages that share (state, error, done_time) in one UPDATE.
        done_time = float(int(outcome.done_time))
        values = (
            STAT_STATE[outcome.stat], outcome.stat, outcome.error, done_time,
            RECEIPT_OWED if owed else RECEIPT_NONE,
        )
        if not owed:
            self._store.finish(values, m.id)
            return
        state = values[0]
        if self._receipts.has_sink(m.system_id):
            self._receipts.enqueue(Receipt(m, outcome.stat, state, outcome.error, done_time, False), origin)
            return
        if self.cluster:  # owed in the store: a node with a receiver claims it
            self._store.finish(values, m.id)
            return
        receipt = Receipt(m, outcome.stat, state, outcome.error, done_time)
        self._store.finish(values, m.id, self._final_stored, (receipt, origin))

    def _watched(self, message_id: int) -> None:
        """Tell a final-state watcher; it reads the row with a committed
        read, so it sees the final state queued right after this call."""
        watcher = self.final_watchers.pop(message_id, None)
        if watcher is not None:
            watcher(message_id)

    def _enroute(self, m: Message, now: float) -> None:
        """The operator handed ``m`` to the network (``now``: simulation
        time): an ENROUTE notification if asked for and a receiver of the
        account is bound."""
        if m.registered_delivery & RD_INTERMEDIATE and self._receipts.has_sink(m.system_id):
            self._receipts.enqueue(
                Receipt(m, ENROUTE, MessageState.ENROUTE, 0, float(int(now)), True, True),
                self.origin.get(m.id),
            )

    def _final_stored(self, job: tuple[Receipt, DeliverySink[Receipt] | None], failure: Any) -> None:
        # Even if the commit failed the client is owed this receipt; the
        # worst case is a duplicate after a restart, never a loss.
        self._receipts.enqueue(*job)

    def _make_durable(self, r: Receipt) -> Receipt:
        if r.durable:
            return r
        self._store.finish((r.state, r.stat, r.error, r.done_time, RECEIPT_OWED), r.message.id)
        if self.cluster:  # it stays in this node's memory: no other node claims it
            self._store.hold(r.message.id)
        return r._replace(durable=True)

    def _receipt_acked(self, r: Receipt) -> None:
        if r.durable:
            if not r.intermediate:  # a notification has nothing stored
                self._store.ack(r.message.id)
        else:
            self._store.finish((r.state, r.stat, r.error, r.done_time, RECEIPT_DONE), r.message.id)

    # --- withdrawn messages -----------------------------------------------------------

    def delete(self, live: LiveAccount, m: Message) -> "Deferred[None]":
        """A withdrawn message (cancel_sm, replace_if_present): refund it and
        write its DELETED state (and the receipt owed, as for any final
        state) in one commit; fires then."""
        self._refund(live, m)
        owed = receipt_owed(m.registered_delivery, DELETED)
        origin = self.origin.pop(m.id, None)
        done_time = float(int(self._sim.now()))
        state = MessageState.DELETED
        d: Deferred[None] = Deferred()

        def committed(_: None, failure: Any) -> None:
            if owed and not self.cluster:  # a cluster node claims it like any owed receipt
                self._receipts.enqueue(Receipt(m, DELETED, state, 0, done_time), origin)
            if failure is None:
                d.callback(None)
            else:
                d.errback(SmppError(CommandStatus.ESME_RSYSERR, "store commit failed"))

        self._store.finish(
            (state, DELETED, 0, done_time, RECEIPT_OWED if owed else RECEIPT_NONE), m.id, committed, None
        )
        if self.final_watchers:
            self._watched(m.id)
        return d

    def _refund(self, live: LiveAccount, m: Message) -> None:
        """Give a cancelled message's charge back: the balance, and the usage
        of the day it was charged on (the day of its submit; a test account's
        daily cap gets the message back if that is today)."""
        today = utc_day(self._clock.seconds())
        day = min(utc_day(self._sim.to_real(m.submit_time)), today)
        self._store.refund(m, day)
        live.available += m.cost
        if day == today and live.daily is not None:
            live.daily.give_back()
