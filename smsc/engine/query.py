"""query_sm, cancel_sm, replace_sm, and the HTTP API's message lookup.

Each reads the message from the store after every write queued before it
is committed, so it sees what the client has been told; a message whose
final receipt is still waiting for the client's deliver_sm_resp has its
final state written with that acknowledgement, and reads as not final
(ENROUTE) until then. An unknown id and another account's id get the same
failure.

cancel_sm withdraws a message its operator still holds (scheduled, or
queued behind the link's throughput): final state DELETED, its charge given
back; once handed to the network it can't be (ESME_RCANCELFAIL). Without a
message_id it withdraws every such message of the account to the
destination_addr (from the source_addr, when given), as SMPP 3.4 4.9 says;
it fails when none is held. The DELETED receipt follows the same rule as
any final state: sent for registered_delivery 1, and for 2 too since
DELETED is not DELIVRD.

replace_sm (SMPP 3.4 4.10): new text, times and registered_delivery for a
held message; the text is read in the message's data_coding and analysed
with the submit rules; the price difference is charged or given back, in
one commit with the row.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from twisted.internet.defer import Deferred, fail, gatherResults
from twisted.internet.interfaces import IReactorTime

from ..accounts.live import LiveAccount
from ..config import Config
from ..operators.clock import SimClock
from ..operators.port import Operator
from ..pdu.constants import CommandStatus
from ..pdu.errors import SmppError
from ..pdu.smpp_time import format_smpp_time
from ..pdu.text import analyse
from ..records import Message, Replacement
from ..router.numbers import normalise
from ..status import STAT_STATE, message_status
from ..store.port import StoredMessage, StorePort
from .lifecycle import Lifecycle
from .rules import QueryAnswer, delivery_terms, utc_day


class MessageInfo(NamedTuple):
    """A message as its account may see it: the stored row and whether its
    operator still holds it (scheduled or queued, not yet in the network)."""

    stored: StoredMessage
    public_id: str
    held: bool


class Queries:
    def __init__(
        self,
        *,
        config: Config,
        store: StorePort,
        clock: IReactorTime,
        sim: SimClock,
        operators: dict[str, Operator],
        lifecycle: Lifecycle,
    ) -> None:
        self._store = store
        self._clock = clock
        self._sim = sim
        self._operators = operators
        self._lifecycle = lifecycle
        self._max_segments = config.messages.max_segments
        self._alphabet = config.messages.default_alphabet
        self._short_funds = config.billing.insufficient_funds_status
        self._prices = {key: spec.price for key, spec in config.operators.items()}

    def _find(
        self, live: LiveAccount, message_id: str, source_addr: str, status: CommandStatus
    ) -> "Deferred[StoredMessage]":
        """The stored message ``message_id`` of ``live``'s account, read once
        every write queued so far is committed; a failure with ``status``
        when there is none (another account's id is none) or ``source_addr``
        is given and differs."""
        n = live.id_format.parse(message_id)
        if n is None:
            return fail(SmppError(status, f"no message {message_id!r}"))

        def check(found: StoredMessage | None) -> StoredMessage:
            if found is None or found.message.system_id != live.system_id:
                raise SmppError(status, f"no message {message_id!r}")
            if source_addr and source_addr != found.message.source_addr:
                raise SmppError(status, f"message {message_id} was not sent from {source_addr!r}")
            return found

        return self._store.committed_message(n).addCallback(check)

    def held(self, m: Message) -> bool:
        operator = self._operators.get(m.operator)
        return operator is not None and operator.holds(m.id)

    def message(self, live: LiveAccount, message_id: str) -> "Deferred[MessageInfo]":
        """The HTTP API's GET of one message: the committed row and whether
        it is still held, or SmppError(ESME_RQUERYFAIL) as query_sm has it."""

        def info(found: StoredMessage) -> MessageInfo:
            held = found.done_time is None and self.held(found.message)
            return MessageInfo(found, message_id, held)

        return self._find(live, message_id, "", CommandStatus.ESME_RQUERYFAIL).addCallback(info)

    def query(self, live: LiveAccount, message_id: str, source_addr: str = "") -> "Deferred[QueryAnswer]":
        """query_sm: the message's committed state, or a failure carrying
        SmppError(ESME_RQUERYFAIL)."""

        def answer(found: StoredMessage) -> QueryAnswer:
            status = message_status(found.stat, found.done_time)
            if found.done_time is None:  # ENROUTE: not final
                return QueryAnswer(STAT_STATE[status], "", 0)
            return QueryAnswer(found.state, format_smpp_time(found.done_time), (found.error or 0) & 0xFF)

        return self._find(live, message_id, source_addr, CommandStatus.ESME_RQUERYFAIL).addCallback(answer)

    def cancel(
        self, live: LiveAccount, message_id: str, source_addr: str = "", destination_addr: str = ""
    ) -> "Deferred[None]":
        """cancel_sm of one message (by id): fires None once its DELETED
        state and refund are committed (a restart can't resume it after the
        client heard it was cancelled), or fails with
        SmppError(ESME_RCANCELFAIL)."""
        status = CommandStatus.ESME_RCANCELFAIL
        if not message_id:
            return self._cancel_to(live, source_addr, destination_addr)

        def withdraw(found: StoredMessage) -> Deferred[None]:
            m = found.message
            if destination_addr and destination_addr not in (m.destination_addr, "+" + m.msisdn, m.msisdn):
                raise SmppError(status, f"message {message_id} was not sent to {destination_addr!r}")
            if found.done_time is not None:
                raise SmppError(status, f"message {message_id} is final ({found.stat})")
            operator = self._operators.get(m.operator)
            # True only while the operator holds it: it has no outcome yet
            # and will report none
            if operator is None or not operator.cancel(m.id):
                raise SmppError(status, f"message {message_id} is already in the network")
            return self._lifecycle.delete(live, m)

        return self._find(live, message_id, source_addr, status).addCallback(withdraw)

    def _cancel_to(self, live: LiveAccount, source_addr: str, destination_addr: str) -> "Deferred[None]":
        """cancel_sm with no message_id (SMPP 3.4 4.9)."""
        status = CommandStatus.ESME_RCANCELFAIL
        if not destination_addr:
            return fail(SmppError(status, "cancel without message_id needs destination_addr"))
        try:
            msisdn = normalise(destination_addr)
        except SmppError as exc:
            return fail(SmppError(status, exc.detail))
        deletions = self.withdraw_held(live, msisdn, source_addr)
        if not deletions:
            return fail(SmppError(status, f"no message to {destination_addr!r} is still held"))
        return gatherResults(deletions, consumeErrors=True).addCallbacks(
            lambda _: None, lambda f: f.value.subFailure)

    def withdraw_held(
        self, live: LiveAccount, msisdn: str, source_addr: str, keep: int | None = None
    ) -> "list[Deferred[None]]":
        """Withdraw (DELETED, refunded) every message of ``live``'s account
        to ``msisdn``, from ``source_addr`` when given, that its operator
        still holds, but message ``keep``: what cancel_sm by destination and
        submit_sm's replace_if_present_flag share."""
        system_id = live.system_id
        found = [
            (operator, m) for operator in self._operators.values() for m in operator.held()
            if m.system_id == system_id and m.msisdn == msisdn and m.id != keep
            and (not source_addr or m.source_addr == source_addr)
        ]
        return [self._lifecycle.delete(live, m) for operator, m in found if operator.cancel(m.id)]

    def replace(self, live: LiveAccount, new: Replacement) -> "Deferred[None]":
        """replace_sm: fires None after the commit; failures carry SmppError:
        ESME_RREPLACEFAIL (unknown, another account's, final or in the
        network), the text / time / flag statuses of submit_sm, or the
        balance status."""
        status = CommandStatus.ESME_RREPLACEFAIL

        def swap(found: StoredMessage) -> Deferred[None]:
            m = found.message
            if found.done_time is not None:
                raise SmppError(status, f"message {new.message_id} is final ({found.stat})")
            operator = self._operators.get(m.operator)
            if operator is None or not operator.holds(m.id):
                raise SmppError(status, f"message {new.message_id} is already in the network")
            text = analyse(
                new.body, m.data_coding, max_segments=self._max_segments, default_alphabet=self._alphabet,
            )
            now = self._sim.now()
            validity, not_before = delivery_terms(new, now)
            cost = text.segments * self._prices[m.operator]
            delta = cost - m.cost
            if delta > live.available:
                raise SmppError(self._short_funds, f"balance short by {delta - live.available}")
            # held until now; from here on its operator no longer has it
            if not operator.cancel(m.id):
                raise SmppError(status, f"message {new.message_id} is already in the network")
            replaced = m._replace(
                short_message=text.payload, data_coding=text.data_coding, segments=text.segments,
                cost=cost, registered_delivery=new.registered_delivery,
                expires_at=operator.expires_at(now, validity) if validity else m.expires_at,
                not_before=not_before or m.not_before,
            )
            live.available -= delta
            d: Deferred[None] = Deferred()

            def committed(_: None, failure: Any) -> None:
                if failure is None:
                    self._resubmit(operator, replaced)
                    d.callback(None)
                else:
                    live.available += delta
                    self._resubmit(operator, m)
                    d.errback(SmppError(CommandStatus.ESME_RSYSERR, "store commit failed"))

            day = min(utc_day(self._sim.to_real(m.submit_time)), utc_day(self._clock.seconds()))
            self._store.replace(m, replaced, day, committed, None)
            return d

        return self._find(live, new.message_id, new.source_addr, status).addCallback(swap)

    def _resubmit(self, operator: Operator, m: Message) -> None:
        operator.submit(m, m.expires_at or operator.expires_at(m.submit_time), m.not_before)
