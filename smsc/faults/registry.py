"""The active faults of a running server, and the hooks that apply them.

The faults live in the store (``smsc fault add`` writes them from another
process; the admin API through the store port); the server reads the
active ones once a second (``poll``, as it reads MO) and ``sync`` starts
the new ones and ends the ones gone. A fault with an ``ends_at`` ends by
itself at that time (a timer, not the next poll). Each start and end is
logged; ``gauge`` feeds ``smsc_faults_active{kind}``.

What each kind touches, and what it costs when no fault is on:

- throttle: ``Submitter.submit`` reads ``faults.throttle`` (an empty tuple
  when none is on) once per submit;
- outage: ``SimOperator.submit`` reads its ``gate`` (None when none is
  on). A held message sits in its operator's held set, as one behind the
  throughput does: cancel_sm and replace_sm reach it, its validity ends it
  on time (EXPIRED), a restart resumes it (it is stored unfinished). When
  the outage ends it goes on to the network;
- receipts: ``Lifecycle.on_final`` reads ``faults.receipts`` once per
  final state. A delayed receipt's message is stored final only when the
  delay ends (a restart resumes it: never lost);
- slow, link: the SMPP session registers here when bound (``bound`` /
  ``gone``, per bind, not per message); the session reads its own
  ``slow`` per submit_sm_resp and ``nack_left`` per request.

Faults never reach beyond their scope: every check matches the message's
account, operator or number, and link faults only sessions of their
account.
"""
from __future__ import annotations

import logging
import random
import re
from collections.abc import Mapping, Callable, Iterable
from typing import Any, Protocol

from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall

from ..operators.clock import SimClock
from ..operators.port import Operator
from ..operators.sim import Outcome, SimOperator
from ..records import Message
from ..status import NOREPORT
from ..fault_model import THROTTLE_STATUS, Fault

log = logging.getLogger(__name__)

#: generic_nack's status for a link fault's "nack" (unless ``status`` says)
NACK_STATUS = 0x08  # ESME_RSYSERR


class LinkSession(Protocol):
    """What link and slow faults need of an SMPP session (smsc.server.protocol)."""

    #: seconds each submit_sm_resp waits (slow faults); 0.0: none
    slow: float

    def fault_system_id(self) -> str: ...
    def fault_flags(self, mute_enquire: bool, nack: int, nack_status: int) -> None: ...
    def unbind(self) -> Any: ...
    def drop(self) -> None: ...


class Active:
    """A fault being applied: the record, its compiled scope, its timers
    and (outage) the messages it holds."""

    __slots__ = ("fault", "kind", "params", "_scope", "_target", "_pattern", "ratio", "held", "timer", "loop")

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.kind = fault.kind
        self.params = fault.params
        self._scope = fault.scope
        self._target = fault.target
        self._pattern = re.compile(fault.target) if fault.scope == "destination" else None
        self.ratio = float(fault.params.get("ratio", 1.0))
        #: outage "hold": (operator, message, expires_at, not_before), in order
        self.held: list[tuple[SimOperator, Message, float, float | None]] = []
        self.timer: Any = None
        self.loop: LoopingCall | None = None

    def matches(self, system_id: str, operator: str, msisdn: str) -> bool:
        scope = self._scope
        if scope == "account":
            return system_id == self._target
        if scope == "operator":
            return operator == self._target
        return self._pattern.search(msisdn) is not None  # type: ignore[union-attr]

    def matches_message(self, m: Message) -> bool:
        return self.matches(m.system_id, m.operator, m.msisdn or m.destination_addr)


class Faults:
    def __init__(
        self, clock: IReactorTime, sim: SimClock, operators: Mapping[str, Operator], seed: int | None = None,
    ) -> None:
        self._clock = clock
        self._sim = sim
        #: an outage acts on the simulated operators (an upstream's own outage is real)
        self._operators = {k: op for k, op in operators.items() if isinstance(op, SimOperator)}
        self._random = random.Random(seed).random
        self._active: dict[int, Active] = {}
        #: the hot path's views: empty when no fault of the kind is on
        self.throttle: tuple[Active, ...] = ()
        self.receipts: tuple[Active, ...] = ()
        self._outages: tuple[Active, ...] = ()
        self._links: tuple[Active, ...] = ()
        #: account -> its bound sessions (only while a slow or link fault
        #: could reach them; kept always, per bind, so a fault finds them)
        self._sessions: dict[str, set[LinkSession]] = {}
        #: who finishes a message (Lifecycle.on_final's body): receipts faults
        self._final: Callable[[Outcome, bool], None] = lambda outcome, receipt: None
        #: the next poll's read of the store (smsc.app wires it)
        self.read: Callable[[float], Any] | None = None

    def connect(self, final: Callable[[Outcome, bool], None]) -> None:
        self._final = final

    # --- what is on -------------------------------------------------------------

    def active(self) -> list[Fault]:
        return [a.fault for a in self._active.values()]

    def gauge(self) -> Iterable[tuple[tuple[str], int]]:
        counts: dict[str, int] = {}
        for a in self._active.values():
            counts[a.kind] = counts.get(a.kind, 0) + 1
        return (((kind,), n) for kind, n in sorted(counts.items()))

    def poll(self) -> Any:
        """Read the active faults from the store and apply them (every second)."""
        if self.read is None:
            return None
        d = self.read(self._clock.seconds())
        d.addCallback(self.sync)
        d.addErrback(lambda f: log.error("reading faults failed: %s", f.getErrorMessage()))
        return d

    def sync(self, faults: Iterable[Fault]) -> None:
        """Make the active set ``faults``: start the new, end the gone."""
        now = self._clock.seconds()
        wanted = {f.id: f for f in faults if f.ends_at is None or f.ends_at > now}
        for fault_id in [i for i in self._active if i not in wanted]:
            self.end(fault_id, "removed")
        for fault_id, fault in wanted.items():
            if fault_id not in self._active:
                self.start(fault)

    def start(self, fault: Fault) -> None:
        if fault.id in self._active:
            return
        a = Active(fault)
        self._active[fault.id] = a
        if fault.ends_at is not None:
            a.timer = self._clock.callLater(max(0.0, fault.ends_at - self._clock.seconds()), self.end, fault.id)
        log.info("fault started: %s", fault.describe())
        self._reindex()
        if a.kind in ("link", "slow"):
            self._start_link(a)

    def end(self, fault_id: int, why: str = "ended") -> None:
        a = self._active.pop(fault_id, None)
        if a is None:
            return
        if a.timer is not None and a.timer.active():
            a.timer.cancel()
        if a.loop is not None and a.loop.running:
            a.loop.stop()
        log.info("fault %s: %s", why, a.fault.describe())
        self._reindex()
        if a.kind in ("link", "slow"):
            for session in self._sessions.get(a.fault.target, ()):
                self._flags(session)
        for operator, message, expires_at, not_before in a.held:
            operator.release(message, expires_at, not_before)
        a.held.clear()

    def _reindex(self) -> None:
        by_kind: dict[str, list[Active]] = {}
        for a in self._active.values():
            by_kind.setdefault(a.kind, []).append(a)
        self.throttle = tuple(by_kind.get("throttle", ()))
        self.receipts = tuple(by_kind.get("receipts", ()))
        self._outages = tuple(by_kind.get("outage", ()))
        self._links = tuple(by_kind.get("link", []) + by_kind.get("slow", []))
        gate = self._gate if self._outages else None
        for operator in self._operators.values():
            operator.gate = gate

    # --- throttle (Submitter.submit, only while one is on) --------------------------

    def throttled(self, system_id: str, operator: str, msisdn: str) -> int:
        """The status a submit in a throttle fault's scope gets, or 0."""
        for a in self.throttle:
            if a.matches(system_id, operator, msisdn) and (a.ratio >= 1.0 or self._random() < a.ratio):
                return THROTTLE_STATUS[a.params["status"]]
        return 0

    # --- outage (SimOperator.submit, only while one is on) --------------------------

    def _gate(self, operator: SimOperator, message: Message, expires_at: float, not_before: float | None) -> bool:
        for a in self._outages:
            if a.matches_message(message):
                if a.params["mode"] == "fail":
                    operator.fail(message, a.params["stat"], int(a.params["error"]))
                else:
                    operator.hold(message, expires_at)
                    a.held.append((operator, message, expires_at, not_before))
                return True
        return False

    # --- receipts (Lifecycle.on_final, only while one is on) --------------------------

    def receipt(self, outcome: Outcome) -> bool:
        """Take ``outcome`` when a receipts fault holds or loses its
        receipt (it is finished later through ``connect``'s callable)."""
        m = outcome.message
        for a in self.receipts:
            if not a.matches_message(m):
                continue
            delay = a.params.get("delay")
            if delay is not None:
                self._clock.callLater(float(delay), self._final, outcome, True)
                return True
            if a.ratio < 1.0 and self._random() >= a.ratio:
                return False
            if a.params.get("lost") == "nothing":
                self._final(outcome, False)
                return True
            # NOREPORT once the validity ends (now if it already has)
            ends = m.expires_at or outcome.done_time
            lost = Outcome(m, NOREPORT, 0, max(float(int(ends)), outcome.done_time))
            wait = max(0.0, self._sim.to_real(lost.done_time) - self._clock.seconds())
            self._clock.callLater(wait, self._final, lost, True)
            return True
        return False

    # --- slow and link: the account's sessions ------------------------------------

    def bound(self, session: LinkSession) -> None:
        """A session of an account is bound (per bind)."""
        self._sessions.setdefault(session.fault_system_id(), set()).add(session)
        if self._links:
            self._flags(session)

    def gone(self, session: LinkSession) -> None:
        sessions = self._sessions.get(session.fault_system_id())
        if sessions is not None:
            sessions.discard(session)
            if not sessions:
                del self._sessions[session.fault_system_id()]

    def _flags(self, session: LinkSession) -> None:
        """Set a session's slow delay and link flags from what is on."""
        sid = session.fault_system_id()
        slow, mute, nack, nack_status = 0.0, False, 0, NACK_STATUS
        for a in self._links:
            if a.fault.target != sid:
                continue
            if a.kind == "slow":
                slow = max(slow, float(a.params["delay_ms"]) / 1000.0)
            elif a.params["action"] == "no_enquire":
                mute = True
            elif a.params["action"] == "nack":
                nack = max(nack, int(a.params["count"]))
                nack_status = int(a.params.get("status", NACK_STATUS))
        session.slow = slow
        session.fault_flags(mute, nack, nack_status)

    def _start_link(self, a: Active) -> None:
        sessions = list(self._sessions.get(a.fault.target, ()))
        for session in sessions:
            self._flags(session)
        action = a.params.get("action")
        if action not in ("unbind", "drop"):
            return
        every = a.params.get("every")
        if every:
            a.loop = LoopingCall(self._act, a)
            a.loop.clock = self._clock
            a.loop.start(float(every), now=True)
        else:
            self._act(a)

    def _act(self, a: Active) -> None:
        for session in list(self._sessions.get(a.fault.target, ())):
            log.info("fault %d: %s a session of %s", a.fault.id, a.params["action"], a.fault.target)
            if a.params["action"] == "unbind":
                session.unbind()
            else:
                session.drop()
