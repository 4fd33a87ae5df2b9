"""The submit rules: what a Submission must pass to be accepted, and its charge.

Refusals, in the order they are checked (each names its reason in the
status; nothing is charged and no row is left behind):

================================  ==========================================
text cannot be decoded / too long  pdu.text statuses (ESME_RSUBMITFAIL,
                                   ESME_RINVMSGLEN, ESME_RINVESMCLASS, ...)
sender not allowed                 ESME_RINVSRCADR / ESME_RINVSRCTON
destination not a number, no route ESME_RINVDSTADR (TON/NPI: RINVDSTTON/NPI)
bad validity / schedule time       ESME_RINVEXPIRY / ESME_RINVSCHED
registered_delivery 3 (reserved)   ESME_RINVREGDLVFLG
a throttle fault (smsc.faults)      its status (ESME_RTHROTTLED / RMSGQFUL)
the operator's queue is full       ESME_RMSGQFUL (router mode: an upstream's
                                   ``queue_limit`` messages wait already)
over the rate or the daily cap     ESME_RTHROTTLED
balance short                      [billing] insufficient_funds_status
================================  ==========================================

A blacklisted destination (``smsc account blacklist``) is accepted, never
handed to an operator, not charged, and ends UNDELIV with err 001.

An accepted message gets its id, is persisted with its charge (group
commit) and answered only once both are committed; then ``Lifecycle``
takes it. The answer is a callback, not a Deferred, on the SMPP path: this
runs for every message, and a Deferred with its callback chain costs ~3 µs
more each time (7% of the server's CPU at 10k msg/s). ``send`` wraps it in
a Deferred for the doors that are not the hot path (HTTP, campaigns).

submit_multi: each destination is its own message, with every rule
applied per destination, in the order given; each has its own message_id,
receipt and query_sm/cancel_sm. The answer (once every accepted
destination is committed) carries the first accepted destination's id and
the refused ones' (index, status); all refused: the first refusal's
status. A distribution list name (we have none) is ESME_RINVDLNAME.

replace_if_present (SMPP 3.4 5.2.18): the new message is accepted with its
own id and withdraws, as cancel_sm by destination would, the account's
messages from the same source to the same destination still held.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime

from ..accounts.live import LiveAccount
from ..accounts.senders import check_sender, sender_ton
from ..config import Config
from ..dlr.hub import DeliverySink
from ..faults.registry import Faults
from ..metrics import Metrics
from ..operators.clock import SimClock
from ..operators.port import Operator
from ..pdu.constants import CommandStatus
from ..pdu.errors import SmppError
from ..pdu.text import analyse_body, split
from ..records import Message, Receipt, Submission
from ..router.numbers import normalise
from ..store.id_blocks import IdsExhausted, MessageIds
from ..store.port import InsufficientFunds, StorePort
from .lifecycle import Lifecycle
from .rules import SegmentRefs, delivery_terms, utc_day

#: network data_coding -> the encoding label of the segments metric
_ENCODING = {0: "gsm7", 8: "ucs2"}

#: (the caller's token, command_status, message_id or "")
SubmitReply = Callable[[Any, int, str], None]
#: (token, command_status, message_id or "", refused destinations as (index, status))
MultiReply = Callable[[Any, int, str, "tuple[tuple[int, int], ...]"], None]
#: withdraws the held messages a replace_if_present submit replaces
Withdraw = Callable[[LiveAccount, str, str, int], object]


class _MultiSubmit:
    """Collects the per-destination answers of one submit_multi and replies
    once all are in (refusals come at once, acceptances after their commit)."""

    __slots__ = ("token", "reply", "ids", "failed", "left")

    def __init__(self, token: Any, count: int, reply: MultiReply) -> None:
        self.token = token
        self.reply = reply
        #: message id of each accepted destination, by destination index
        self.ids: dict[int, str] = {}
        self.failed: list[tuple[int, int]] = []
        self.left = count

    def answered(self, index: int, status: int, message_id: str) -> None:
        if status == CommandStatus.ESME_ROK:
            self.ids[index] = message_id
        else:
            self.failed.append((index, status))
        self.left -= 1
        if self.left == 0:
            failed = tuple(sorted(self.failed))
            if self.ids:
                self.reply(self.token, CommandStatus.ESME_ROK, self.ids[min(self.ids)], failed)
            else:
                self.reply(self.token, failed[0][1], "", failed)


class _Refusal:
    """The token :meth:`Submitter.send` passes: a rule that refuses the
    message leaves its SmppError here, so the refusal's detail is the
    rule's own sentence ("sender MyShop is not registered for this
    account"), not just its status. SMPP passes sequence numbers and is
    answered by status alone: it pays one type check, on refusals only."""

    __slots__ = ("error",)

    def __init__(self) -> None:
        self.error: SmppError | None = None


class Submitter:
    def __init__(
        self,
        *,
        config: Config,
        store: StorePort,
        clock: IReactorTime,
        sim: SimClock,
        operators: dict[str, Operator],
        lifecycle: Lifecycle,
        metrics: Metrics,
        ids: MessageIds,
        withdraw: Withdraw,
        faults: Faults | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._sim = sim
        self._operators = operators
        self._lifecycle = lifecycle
        self._metrics = metrics
        self._withdraw = withdraw
        self._take_id = ids.take
        self._universal = config.accounts.universal_alpha
        self._max_segments = config.messages.max_segments
        self._alphabet = config.messages.default_alphabet
        self._short_funds = config.billing.insufficient_funds_status
        self._routes = config.routes
        self._prices = {key: spec.price for key, spec in config.operators.items()}
        self._refs = SegmentRefs()
        #: throttle faults (smsc.faults): ``throttle`` is empty unless one is on
        self._faults = faults if faults is not None else Faults(clock, sim, operators)

    def submit(
        self, live: LiveAccount, sub: Submission, reply: SubmitReply, token: Any,
        origin: DeliverySink[Receipt] | None = None,
    ) -> None:
        """Accept a message; ``reply(token, status, message_id)`` once it and
        its charge are durable, or at once with the refusal's status.
        ``origin``: the transceiver session it came on, which gets its
        receipt if still bound."""
        ton = sub.source_addr_ton
        if ton is None:
            ton = sender_ton(sub.source_addr)
        try:
            text = analyse_body(
                sub.body, sub.data_coding, sub.esm_class, sub.sar,
                max_segments=self._max_segments, default_alphabet=self._alphabet,
            )
            check_sender(live.record, self._universal, sub.source_addr, ton)
            msisdn = normalise(sub.destination_addr, sub.dest_addr_ton, sub.dest_addr_npi)
            key = self._routes.lookup(msisdn)
            now = self._sim.now()
            validity, not_before = delivery_terms(sub, now)
        except SmppError as exc:
            if type(token) is _Refusal:  # send's caller (HTTP, campaigns) wants the rule's sentence
                token.error = exc
            reply(token, exc.status, "")
            return
        if self._faults.throttle:
            status = self._faults.throttled(live.system_id, key, msisdn)
            if status:
                reply(token, status, "")
                return

        operator = self._operators[key]
        if operator.full:  # an upstream's queue at its bound (router mode)
            reply(token, CommandStatus.ESME_RMSGQFUL, "")
            return
        real_now = self._clock.seconds()
        bucket, daily = live.bucket, live.daily
        if bucket is not None and not bucket.take(real_now):
            reply(token, CommandStatus.ESME_RTHROTTLED, "")
            return
        if daily is not None and not daily.take(real_now):
            if bucket is not None:
                bucket.give_back()
            reply(token, CommandStatus.ESME_RTHROTTLED, "")
            return
        blacklisted = msisdn in live.blacklist
        segments = text.segments
        cost = 0 if blacklisted else segments * self._prices[key]
        if cost > live.available:
            if bucket is not None:
                bucket.give_back()
            if daily is not None:
                daily.give_back()
            self._metrics.balance_refusals += 1
            reply(token, self._short_funds, "")
            return
        try:
            n = self._take_id()
        except IdsExhausted:  # the store has not handed out the next block yet
            if bucket is not None:
                bucket.give_back()
            if daily is not None:
                daily.give_back()
            reply(token, CommandStatus.ESME_RTHROTTLED, "")
            return
        live.available -= cost
        expires_at = self._operators[key].expires_at(now, validity)
        message = Message(
            n, live.system_id, ton, sub.source_addr_npi, sub.source_addr,
            sub.dest_addr_ton, sub.dest_addr_npi, sub.destination_addr, sub.esm_class,
            text.data_coding, sub.registered_delivery, text.payload, now, msisdn, key,
            segments, cost, expires_at, not_before,
        )
        if segments > 1:
            # The operator leg gets concatenated segments; ours are simulated,
            # so what travels on is the count (checked against the split).
            parts = split(text, self._refs.take(msisdn))
            assert len(parts) == segments, (len(parts), segments)
        elif text.udh and not blacklisted:
            # a client's own segment: the stored body has no UDH, the leg needs it
            operator.client_udh(n, text.udh)

        self._store.charge(live.system_id, cost, utc_day(real_now), segments)
        self._store.insert(message, self._stored, (
            message, live, sub.replace_if_present, token, reply, origin, blacklisted, daily,
        ))

    def submit_multi(
        self, live: LiveAccount, destinations: Sequence[Submission | None], reply: MultiReply,
        token: Any, origin: DeliverySink[Receipt] | None = None,
    ) -> None:
        """Each destination as its own message (module doc);
        ``reply(token, status, message_id, refused)`` once every destination
        is answered and the accepted ones committed."""
        collect = _MultiSubmit(token, len(destinations), reply)
        for index, sub in enumerate(destinations):
            if sub is None:
                collect.answered(index, CommandStatus.ESME_RINVDLNAME, "")
            else:
                # the per-destination token is its index
                self.submit(live, sub, collect.answered, index, origin)

    def send(self, live: LiveAccount, sub: Submission, door: str = "http") -> "Deferred[str]":
        """``submit`` as a Deferred: fires with the message id once the
        message and its charge are committed, or fails with the SmppError
        of the rule that refused it (its status and its sentence; a limit or
        the balance: the status alone). Counted in ``smsc_submits`` under
        ``door`` (``http``, ``campaign``)."""
        d: Deferred[str] = Deferred()
        count = self._metrics.door_submit

        def reply(token: _Refusal, status: int, message_id: str) -> None:
            count(door, status)
            if status == CommandStatus.ESME_ROK:
                d.callback(message_id)
            else:
                error = token.error
                d.errback(error if error is not None and error.status == status else SmppError(status))

        self.submit(live, sub, reply, _Refusal())
        return d

    def _stored(self, job: tuple[Any, ...], failure: Any) -> None:
        """The message and its charge are committed (or not): answer, then
        hand it on."""
        message, live, replaces, token, reply, origin, blacklisted, daily = job
        if failure is not None:
            if daily is not None:
                daily.give_back()
            if failure.check(InsufficientFunds):
                # the store's balance could not cover it (another node spent
                # it first); the commit's read-back already set
                # live.available from the stored balance
                self._metrics.balance_refusals += 1
                reply(token, self._short_funds, "")
            else:
                live.available += message.cost
                reply(token, CommandStatus.ESME_RSYSERR, "")
            return
        n = message.id
        reply(token, CommandStatus.ESME_ROK, live.format_id(n))
        metrics = self._metrics
        metrics.segment(message.operator, _ENCODING.get(message.data_coding, "binary"), message.segments)
        metrics.submit_latency.observe((self._sim.now() - message.submit_time) / self._sim.scale)
        if replaces:
            # SMPP 3.4 5.2.18: this one replaces the account's messages from
            # the same source to the same destination still pending here
            self._withdraw(live, message.msisdn, message.source_addr, n)
        self._lifecycle.accepted(message, origin, blacklisted)

