"""The engine: the business rules behind both front doors (SMPP, later HTTP).

Sessions call ``authenticate`` and ``submit``; the engine checks the text,
the sender, the route, the limits and the balance, gives the message its id,
persists it with its charge (group commit), answers only once both are
committed, hands it to its operator and, when the operator reports a final
state, persists that and queues the receipt the client asked for. Nothing
here knows about sockets or PDU bytes.

Submit refusals, in the order they are checked (each names its reason in
the status; nothing is charged and no row is left behind):

================================  ==========================================
text cannot be decoded / too long  pdu.text statuses (ESME_RSUBMITFAIL,
                                   ESME_RINVMSGLEN, ESME_RINVESMCLASS, ...)
sender not allowed                 ESME_RINVSRCADR / ESME_RINVSRCTON
destination not a number, no route ESME_RINVDSTADR (TON/NPI: RINVDSTTON/NPI)
bad validity / schedule time       ESME_RINVEXPIRY / ESME_RINVSCHED
registered_delivery 3 (reserved)   ESME_RINVREGDLVFLG
over the rate or the daily cap     ESME_RTHROTTLED
balance short                      [billing] insufficient_funds_status
================================  ==========================================

A blacklisted destination (``smsc account blacklist``) is accepted, never
handed to an operator, not charged, and ends UNDELIV with err 001.

registered_delivery (SMPP 3.4 5.2.17): bits 0-1 ask for the final receipt
(0 none, 1 always, 2 only when not DELIVRD); bit 4 (0x10) for an ENROUTE
intermediate notification (deliver_sm esm_class 0x20, message_state 1)
when the operator hands the message to the network. Notifications are
best-effort: offered only when a receiver of the account is bound at that
moment, never persisted (a restart loses those not yet acknowledged), and
dropped when the client refuses one.

data_sm (``submission_of_data_sm``) is a submit_sm in another envelope: its
fields become a SubmitSm (body in message_payload, no short_message; the
qos_time_to_live TLV as a relative validity_period) that goes through
``submit`` like any other, so the rules live in one place. Its receipts are
deliver_sm receipts, as for submit_sm.

submit_multi (``submit_multi``): each destination is its own message,
submitted through ``submit`` with every rule (sender, route, blacklist,
limits, balance) applied per destination, in the order given; each has its
own message_id, receipt and query_sm/cancel_sm. The response (sent once
every accepted destination is committed) carries one message_id, the first
accepted destination's; the others are in their receipts' ``id:`` and
receipted_message_id. Refused destinations go into unsuccess_sme with their
status (a distribution list name: ESME_RINVDLNAME, we have none); if all
are refused the command_status is the first refusal's.

query_sm and cancel_sm (``query``, ``cancel``) read the message from the
store after every write queued before them is committed, so they see what
the client has been told; a message whose final receipt is still waiting
for the client's deliver_sm_resp has its final state written with that
acknowledgement, and reads as not final (ENROUTE) until then. Either
answers the same failure for an unknown id and another account's id.
cancel_sm withdraws a message its operator still holds (scheduled, or
queued behind the link's throughput): final state DELETED, its charge given
back; once handed to the network it can't be (ESME_RCANCELFAIL). Without a
message_id it withdraws every such message of the account to the
destination_addr (from the source_addr, when given), as SMPP 3.4 4.9 says;
it fails when none is held. The
DELETED receipt follows the same rule as any final state: sent for
registered_delivery 1, and for 2 too since DELETED is not DELIVRD.

submit_sm with replace_if_present_flag 1 (SMPP 3.4 5.2.18) is accepted as
a new message with its own id, and withdraws, as cancel_sm by destination
would, the account's messages from the same source_addr to the same
destination that are still held (scheduled, or queued for the link):
they end DELETED and are refunded. Messages already in the network stay.
service_type is not compared (it is not stored).
"""
from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any, NamedTuple

from twisted.internet.defer import Deferred, fail, gatherResults
from twisted.internet.interfaces import IReactorTime
from twisted.internet.threads import deferToThread

from .accounts.ids import DEFAULT_ID_FORMAT
from .accounts.live import LiveAccount
from .accounts.passwords import verify_password
from .accounts.senders import check_sender
from .accounts.throttle import BindThrottle
from .config import Config
from .metrics import Metrics
from .dlr.hub import ReceiptHub, ReceiptSink
from .dlr.mo import MoPart, mo_parts
from .operators.clock import SimClock
from .operators.scheduler import Scheduler, bucket_seconds
from .operators.sim import Outcome, SimOperator
from .pdu.constants import CommandStatus, MessageState, Tag
from .pdu.errors import SmppError
from .pdu.pdus import DEST_FLAG_SME, DataSm, ReplaceSm, SubmitMulti, SubmitSm, UnsuccessSme, tlv_value
from .pdu.receipt import STAT_STATE
from .pdu.smpp_time import format_smpp_time, parse_smpp_time
from .pdu.text import analyse, split
from .records import Account, BindInfo, Message, Receipt
from .router.numbers import normalise
from .store.sqlite import RECEIPT_DONE, RECEIPT_NONE, RECEIPT_OWED, Store
from .store.worker import StoreWorker

log = logging.getLogger(__name__)

#: network data_coding -> the encoding label of the segments metric
_ENCODING = {0: "gsm7", 8: "ucs2"}

#: registered_delivery bits 0-1 (SMPP 3.4 5.2.17): which final receipts
RD_NONE, RD_FINAL, RD_FAILURE, RD_RESERVED = 0, 1, 2, 3
#: registered_delivery bit 4: intermediate (ENROUTE) notifications
RD_INTERMEDIATE = 0x10
#: the err: code of a receipt for a blacklisted destination
ERR_BLACKLISTED = 1

#: (the submit_sm, command_status, message_id or "")
SubmitReply = Callable[[SubmitSm, int, str], None]
#: (the submit_multi, command_status, message_id or "", unsuccess_sme)
MultiReply = Callable[[SubmitMulti, int, str, "tuple[UnsuccessSme, ...]"], None]

_QOS_TIME_TO_LIVE = int(Tag.QOS_TIME_TO_LIVE)
#: the longest relative validity_period writes: 99 days (the operators'
#: TTLs are far shorter, so a longer qos_time_to_live changes nothing)
_MAX_RELATIVE = 99 * 86400 + 23 * 3600 + 59 * 60 + 59


def relative_validity(seconds: int) -> str:
    """A relative SMPP time (``0000DDhhmmss000R``) of ``seconds``, "" for 0."""
    if seconds <= 0:
        return ""
    seconds = min(seconds, _MAX_RELATIVE)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"0000{days:02d}{hours:02d}{minutes:02d}{secs:02d}000R"


def submission_of_data_sm(pdu: DataSm) -> SubmitSm:
    """The submit_sm a data_sm (SMPP 3.4 4.7.1) amounts to, for ``submit``:
    the same addresses, esm_class, registered_delivery and data_coding; the
    body stays in its message_payload TLV; qos_time_to_live (seconds)
    becomes a relative validity_period. The sequence_number is kept, so the
    reply can answer the data_sm."""
    ttl = tlv_value(pdu.tlvs, _QOS_TIME_TO_LIVE) if pdu.tlvs else None
    return SubmitSm(
        sequence_number=pdu.sequence_number, service_type=pdu.service_type,
        source_addr_ton=pdu.source_addr_ton, source_addr_npi=pdu.source_addr_npi,
        source_addr=pdu.source_addr, dest_addr_ton=pdu.dest_addr_ton,
        dest_addr_npi=pdu.dest_addr_npi, destination_addr=pdu.destination_addr,
        esm_class=pdu.esm_class, registered_delivery=pdu.registered_delivery,
        data_coding=pdu.data_coding, tlvs=pdu.tlvs,
        validity_period=relative_validity(int.from_bytes(ttl, "big")) if ttl else "",
    )


class _MultiSubmit:
    """Collects the per-destination answers of one submit_multi and replies
    once all are in (refusals come at once, acceptances after their commit)."""

    __slots__ = ("pdu", "reply", "ids", "failed", "left")

    def __init__(self, pdu: SubmitMulti, reply: MultiReply) -> None:
        self.pdu = pdu
        self.reply = reply
        #: message id of each accepted destination, by destination index
        self.ids: dict[int, str] = {}
        self.failed: list[tuple[int, UnsuccessSme]] = []
        self.left = len(pdu.dest_addresses)

    def answered(self, index: int, status: int, message_id: str) -> None:
        if status == CommandStatus.ESME_ROK:
            self.ids[index] = message_id
        else:
            _, ton, npi, address = self.pdu.dest_addresses[index]
            self.failed.append((index, UnsuccessSme(ton, npi, address, status)))
        self.left -= 1
        if self.left == 0:
            failed = tuple(entry for _, entry in sorted(self.failed))
            if self.ids:
                self.reply(self.pdu, CommandStatus.ESME_ROK, self.ids[min(self.ids)], failed)
            else:
                self.reply(self.pdu, failed[0].error_status_code, "", failed)


def format_message_id(n: int) -> str:
    """Message ids are a counter that only grows, by default in lower-case
    hex; an account may ask for another format (``LiveAccount.format_id``,
    accounts/ids.py)."""
    return format(n, "x")


def parse_message_id(s: str) -> int | None:
    """The counter behind a default (hex) message id, or None when ``s`` is
    not one of ours (upper-case hex is taken: some clients normalise ids).
    An account's own ids: ``live.id_format.parse``."""
    return DEFAULT_ID_FORMAT.parse(s)


class QueryAnswer(NamedTuple):
    """What query_sm_resp says about a message."""

    #: message_state: ENROUTE (1) while not final
    message_state: int
    #: SMPP absolute time of the final state, "" while not final
    final_date: str
    #: the network error code's low octet (query_sm_resp has one)
    error_code: int


def receipt_owed(registered_delivery: int, stat: str) -> bool:
    wanted = registered_delivery & 0x03
    return wanted == RD_FINAL or (wanted == RD_FAILURE and stat != "DELIVRD")


def delivery_terms(pdu: Any, now: float) -> tuple[float | None | str, float | None | str]:
    """validity_period and schedule_delivery_time as simulation times ("" or
    None when unset), checking registered_delivery too: what submit_sm and
    replace_sm share. Raises the SmppError naming the bad field."""
    validity = pdu.validity_period and parse_smpp_time(
        pdu.validity_period, now, CommandStatus.ESME_RINVEXPIRY)
    not_before = pdu.schedule_delivery_time and parse_smpp_time(
        pdu.schedule_delivery_time, now, CommandStatus.ESME_RINVSCHED)
    if pdu.registered_delivery & 0x03 == RD_RESERVED:
        raise SmppError(CommandStatus.ESME_RINVREGDLVFLG, "registered_delivery 3 is reserved")
    return validity, not_before


def _nothing(store: Store) -> None:
    return None


def utc_day(ts: float) -> int:
    return int(ts // 86400)


class SegmentRefs:
    """The 8-bit concatenation reference, counted per destination, so two
    long messages to one phone never share a reference. Bounded: past
    ``limit`` destinations it starts over (a reference only has to differ
    from the last few to the same phone)."""

    def __init__(self, limit: int = 100_000) -> None:
        self._next: dict[str, int] = {}
        self._limit = limit

    def take(self, msisdn: str) -> int:
        ref = self._next.get(msisdn, 0)
        if len(self._next) >= self._limit:
            self._next.clear()
        self._next[msisdn] = (ref + 1) & 0xFF
        return ref


class Engine:
    def __init__(
        self,
        *,
        config: Config,
        store: StoreWorker,
        clock: IReactorTime,
        throttle: BindThrottle,
        first_id: int,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics or Metrics()
        self._config = config
        self._store = store
        self._clock = clock
        #: failed logins per address: SMPP binds and HTTP Basic share it
        self.throttle = throttle
        self._next_id = first_id
        self._universal = config.accounts.universal_alpha
        self._max_segments = config.messages.max_segments
        self._alphabet = config.messages.default_alphabet
        self._short_funds = config.billing.insufficient_funds_status
        #: receipts say FAILED / NOREPORT rather than UNDELIV / UNKNOWN
        self.faq_words = config.receipts.faq_words
        self._routes = config.routes
        self._refs = SegmentRefs()
        self.sim = SimClock(clock, config.simulation.time_scale)
        self.scheduler = Scheduler(clock, bucket_seconds(config.simulation.time_scale))
        seed = config.simulation.seed or None
        rng = rng or random.Random(seed)
        self.operators: dict[str, SimOperator] = {
            key: SimOperator(
                key, spec, self.sim, self.scheduler, rng, config.rules, self.on_final, self._enroute
            )
            for key, spec in config.operators.items()
        }
        self._prices = {key: spec.price for key, spec in config.operators.items()}
        self.accounts: dict[str, LiveAccount] = {}
        #: accounts used without a bind (``account``): always refreshed
        self._keep_tracked: set[str] = set()
        #: message id -> the transceiver session it came on (see ReceiptHub)
        self._origin: dict[int, ReceiptSink] = {}
        self.receipts = ReceiptHub(
            on_acked=self._receipt_acked, call_soon=lambda fn: clock.callLater(0, fn),
            make_durable=self._make_durable,
        )
        store.on_commit.append(self._committed)
        #: MO deliveries: a second hub of MoPart records (see smsc.dlr.mo)
        self.mo = ReceiptHub(
            on_acked=self._mo_acked, call_soon=lambda fn: clock.callLater(0, fn),
        )
        #: the highest mo_queue id taken into the hub; parts acknowledged per MO
        self._mo_seen = 0
        self._mo_acks: dict[int, int] = {}
        self._mo_polling = False
        #: message id -> called with the id once it is final (dlr_url
        #: callbacks of HTTP messages, smsc.dlr.callbacks); empty unless
        #: the HTTP API has some waiting, so SMPP traffic pays one check
        self.final_watchers: dict[int, Callable[[int], None]] = {}

    # --- binds ----------------------------------------------------------------

    def authenticate(self, bind: BindInfo) -> "Deferred[LiveAccount]":
        """The live account, or a failure carrying the SmppError to answer
        with. A success holds a bind slot: give it back with ``release``."""
        host = bind.peer_host
        if self.throttle.blocked(host):
            return fail(SmppError(CommandStatus.ESME_RBINDFAIL, "too many failed binds"))
        day = utc_day(self._clock.seconds())

        def read(store: Store) -> tuple[Account | None, int]:
            account = store.get_account(bind.system_id, blacklist=True)
            return account, (store.usage_today(bind.system_id, day) if account else 0)

        def check(found: tuple[Account | None, int]) -> Any:
            account, used = found
            if account is None:
                self.throttle.failed(host)
                raise SmppError(CommandStatus.ESME_RINVSYSID, f"no account {bind.system_id!r}")
            verified = deferToThread(verify_password, bind.password, account.password_hash)
            return verified.addCallback(decide, account, used)

        def decide(ok: bool, account: Account, used: int) -> LiveAccount:
            if not ok:
                self.throttle.failed(host)
                raise SmppError(CommandStatus.ESME_RINVPASWD, "wrong password")
            self.throttle.succeeded(host)
            live = self._live(account, used, day)
            if live.max_binds and live.binds >= live.max_binds:
                raise SmppError(CommandStatus.ESME_RBINDFAIL, f"at most {live.max_binds} binds")
            live.binds += 1
            self._store.tracked.add(account.system_id)
            return live

        return self._store.run(read).addCallback(check)

    def _live(self, account: Account, used: int, day: int) -> LiveAccount:
        """The one LiveAccount of ``account`` (read from the store just now,
        with ``used`` messages on ``day``), made on first use."""
        now = self._clock.seconds()
        live = self.accounts.get(account.system_id)
        if live is None:
            # no charge of this account was ever made in this process
            live = LiveAccount(account, self._config.limits, used, day, now)
            self.accounts[account.system_id] = live
        else:
            # The balance read above may predate charges still being
            # committed; only a read taken right after a commit may
            # reset it, so ask for one.
            live.update(account, now)
            self._store.refresh_soon()
        return live

    def account(self, system_id: str, fresh: bool = False) -> "Deferred[LiveAccount | None]":
        """The live account ``system_id`` for the front doors that check
        credentials themselves (HTTP API keys, campaigns), or None when there
        is no such account. Holds no bind slot; the account stays tracked
        (refreshed after commits) for the rest of the run.

        ``fresh``: fire only once a commit has read the account back, so
        its balance includes a top-up made just before (a campaign resumed
        after one must not pause again on the old balance)."""
        day = utc_day(self._clock.seconds())

        def read(store: Store) -> tuple[Account | None, int]:
            account = store.get_account(system_id, blacklist=True)
            return account, (store.usage_today(system_id, day) if account else 0)

        def made(found: tuple[Account | None, int]) -> Any:
            account, used = found
            if account is None:
                return None
            known = system_id in self.accounts
            self._keep_tracked.add(system_id)
            self._store.tracked.add(system_id)
            live = self._live(account, used, day)
            if fresh and known:
                # _live asked for a read-back with the next commit (its
                # observers run before this waiter)
                return self._store.read_committed(_nothing).addCallback(lambda _: live)
            return live

        return self._store.run(read).addCallback(made)

    def release(self, live: LiveAccount) -> None:
        """A bound session of ``live`` is gone."""
        live.binds -= 1
        if live.binds <= 0 and live.system_id not in self._keep_tracked:
            self._store.tracked.discard(live.system_id)

    def attach_receiver(self, live: LiveAccount, sink: ReceiptSink) -> None:
        self.receipts.attach(live.system_id, sink)
        self.mo.attach(live.system_id, sink)

    def detach_receiver(self, live: LiveAccount, sink: ReceiptSink, unanswered: list[Receipt]) -> None:
        """``unanswered``: the session's receipts and MO parts in flight."""
        mo = [r for r in unanswered if type(r) is MoPart]
        receipts = [r for r in unanswered if type(r) is not MoPart] if mo else unanswered
        self.receipts.detach(live.system_id, sink, receipts)
        self.mo.detach(live.system_id, sink, mo)

    def _committed(self, writes: int, seconds: float, accounts: dict[str, Account]) -> None:
        """After a commit: the store's balances, names and limits as they
        now stand (CLI changes included) replace the live ones."""
        now = self._clock.seconds()
        for system_id, record in accounts.items():
            live = self.accounts.get(system_id)
            if live is not None:
                live.refresh(record, self._store.pending_charge(system_id), now)

    # --- submit ---------------------------------------------------------------

    def submit(
        self, live: LiveAccount, pdu: SubmitSm, reply: SubmitReply, origin: ReceiptSink | None = None
    ) -> None:
        """Accept a message; ``reply(pdu, status, message_id)`` once it and
        its charge are durable, or at once with the refusal's status.
        ``origin``: the transceiver session it came on, which gets its
        receipt if still bound.

        A callback, not a Deferred: this runs for every message, and a
        Deferred with its callback chain costs ~3 µs more each time (7% of
        the server's CPU at 10k msg/s). The HTTP front door wraps it.
        """
        try:
            text = analyse(
                pdu.short_message, pdu.data_coding, pdu.esm_class, pdu.tlvs,
                max_segments=self._max_segments, default_alphabet=self._alphabet,
            )
            check_sender(live.record, self._universal, pdu.source_addr, pdu.source_addr_ton)
            msisdn = normalise(pdu.destination_addr, pdu.dest_addr_ton, pdu.dest_addr_npi)
            key = self._routes.lookup(msisdn)
            now = self.sim.now()
            validity, not_before = delivery_terms(pdu, now)
        except SmppError as exc:
            reply(pdu, exc.status, "")
            return

        real_now = self._clock.seconds()
        bucket, daily = live.bucket, live.daily
        if bucket is not None and not bucket.take(real_now):
            reply(pdu, CommandStatus.ESME_RTHROTTLED, "")
            return
        if daily is not None and not daily.take(real_now):
            if bucket is not None:
                bucket.give_back()
            reply(pdu, CommandStatus.ESME_RTHROTTLED, "")
            return
        blacklisted = msisdn in live.blacklist
        segments = text.segments
        cost = 0 if blacklisted else segments * self._prices[key]
        if cost > live.available:
            if bucket is not None:
                bucket.give_back()
            if daily is not None:
                daily.give_back()
            self.metrics.balance_refusals += 1
            reply(pdu, self._short_funds, "")
            return
        live.available -= cost
        operator = self.operators[key]
        expires_at = operator.expires_at(now, validity or None)
        n = self._next_id
        self._next_id = n + 1
        message = Message(
            n, live.system_id, pdu.source_addr_ton, pdu.source_addr_npi, pdu.source_addr,
            pdu.dest_addr_ton, pdu.dest_addr_npi, pdu.destination_addr, pdu.esm_class,
            text.data_coding, pdu.registered_delivery, text.payload, now, msisdn, key,
            segments, cost, expires_at, not_before or None,
        )
        if segments > 1:
            # The operator leg gets concatenated segments; ours are simulated,
            # so what travels on is the count (checked against the split).
            parts = split(text, self._refs.take(msisdn))
            assert len(parts) == segments, (len(parts), segments)

        self._store.charge(live.system_id, cost, utc_day(real_now), segments)
        self._store.insert(message, self._stored, (
            message, live, pdu, reply, origin, None if blacklisted else operator, daily,
        ))

    def submit_multi(
        self, live: LiveAccount, pdu: SubmitMulti, reply: MultiReply, origin: ReceiptSink | None = None
    ) -> None:
        """Accept each destination of a submit_multi as its own message (see
        the module doc); ``reply(pdu, status, message_id, unsuccess_sme)``
        once every destination is answered and the accepted ones committed."""
        collect = _MultiSubmit(pdu, reply)
        for index, (flag, ton, npi, address) in enumerate(pdu.dest_addresses):
            if flag != DEST_FLAG_SME:
                collect.answered(index, CommandStatus.ESME_RINVDLNAME, "")
                continue
            one = SubmitSm(
                sequence_number=index, service_type=pdu.service_type,
                source_addr_ton=pdu.source_addr_ton, source_addr_npi=pdu.source_addr_npi,
                source_addr=pdu.source_addr, dest_addr_ton=ton, dest_addr_npi=npi,
                destination_addr=address, esm_class=pdu.esm_class, protocol_id=pdu.protocol_id,
                priority_flag=pdu.priority_flag, schedule_delivery_time=pdu.schedule_delivery_time,
                validity_period=pdu.validity_period, registered_delivery=pdu.registered_delivery,
                replace_if_present_flag=pdu.replace_if_present_flag, data_coding=pdu.data_coding,
                sm_default_msg_id=pdu.sm_default_msg_id, short_message=pdu.short_message,
                tlvs=pdu.tlvs,
            )
            # the per-destination SubmitSm's sequence_number is its index
            self.submit(live, one, lambda sm, status, mid: collect.answered(
                sm.sequence_number, status, mid), origin)

    def _stored(self, job: tuple, failure: Any) -> None:
        """The message and its charge are committed (or not): answer, then
        hand it to its operator."""
        message, live, pdu, reply, origin, operator, daily = job
        if failure is not None:
            live.available += message.cost
            if daily is not None:
                daily.give_back()
            reply(pdu, CommandStatus.ESME_RSYSERR, "")
            return
        n = message.id
        reply(pdu, CommandStatus.ESME_ROK, live.format_id(n))
        metrics = self.metrics
        metrics.segment(message.operator, _ENCODING.get(message.data_coding, "binary"), message.segments)
        metrics.submit_latency.observe((self.sim.now() - message.submit_time) / self.sim.scale)
        if origin is not None and message.registered_delivery:
            self._origin[n] = origin
        if pdu.replace_if_present_flag:
            # SMPP 3.4 5.2.18: this one replaces the account's messages from
            # the same source to the same destination still pending here
            self._withdraw_held(live, message.msisdn, message.source_addr, keep=n)
        if operator is None:  # blacklisted
            self.scheduler.call_at(self._clock.seconds(), self._blacklisted, message)
        else:
            operator.submit(message, message.expires_at, message.not_before)

    def _blacklisted(self, message: Message, real_now: float) -> None:
        self.on_final(Outcome(message, "UNDELIV", ERR_BLACKLISTED, self.sim.to_sim(real_now)))

    # --- outcomes and receipts ------------------------------------------------

    def on_final(self, outcome: Outcome) -> None:
        """The operator decided a message's fate: persist it, then receipt it."""
        m = outcome.message
        self.metrics.final(m.operator, outcome.stat)
        if self.final_watchers:
            self._watched(m.id)
        origin = self._origin.pop(m.id, None)
        owed = receipt_owed(m.registered_delivery, outcome.stat)
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
        if self.receipts.has_sink(m.system_id):
            # A receiver is bound: send now, write the final state with the
            # acknowledgement. A kill -9 before that write leaves the message
            # unfinished, so a restart resumes it: a receipt is never lost.
            self.receipts.enqueue(Receipt(m, outcome.stat, state, outcome.error, done_time, False), origin)
            return
        receipt = Receipt(m, outcome.stat, state, outcome.error, done_time)
        self._store.finish(values, m.id, self._final_stored, (receipt, origin))

    def _watched(self, message_id: int) -> None:
        """Tell a final-state watcher; it reads the row with read_committed,
        so it sees the final state queued right after this call."""
        watcher = self.final_watchers.pop(message_id, None)
        if watcher is not None:
            watcher(message_id)

    def _enroute(self, m: Message, now: float) -> None:
        """The operator handed ``m`` to the network (``now``: simulation
        time): an ENROUTE notification if asked for and a receiver of the
        account is bound (best-effort, see the module doc)."""
        if m.registered_delivery & RD_INTERMEDIATE and self.receipts.has_sink(m.system_id):
            self.receipts.enqueue(
                Receipt(m, "ENROUTE", MessageState.ENROUTE, 0, float(int(now)), True, True),
                self._origin.get(m.id),
            )

    def _final_stored(self, job: tuple, failure: Any) -> None:
        # Even if the commit failed the client is owed this receipt; the
        # worst case is a duplicate after a restart, never a loss.
        self.receipts.enqueue(*job)

    def _make_durable(self, r: Receipt) -> Receipt:
        if r.durable:
            return r
        self._store.finish((r.state, r.stat, r.error, r.done_time, RECEIPT_OWED), r.message.id)
        return r._replace(durable=True)

    def _receipt_acked(self, r: Receipt) -> None:
        if r.durable:
            if not r.intermediate:  # a notification has nothing stored
                self._store.ack(r.message.id)
        else:
            self._store.finish((r.state, r.stat, r.error, r.done_time, RECEIPT_DONE), r.message.id)

    # --- query_sm and cancel_sm -----------------------------------------------

    def _find(
        self, live: LiveAccount, message_id: str, source_addr: str, status: CommandStatus
    ) -> "Deferred[tuple]":
        """The stored message ``message_id`` of ``live``'s account with its
        (state, stat, error, done_time), read once every write queued so far
        is committed; a failure with ``status`` when there is none (another
        account's id is none) or ``source_addr`` is given and differs."""
        n = live.id_format.parse(message_id)
        if n is None:
            return fail(SmppError(status, f"no message {message_id!r}"))

        def check(found: tuple | None) -> tuple:
            if found is None or found[0].system_id != live.system_id:
                raise SmppError(status, f"no message {message_id!r}")
            if source_addr and source_addr != found[0].source_addr:
                raise SmppError(status, f"message {message_id} was not sent from {source_addr!r}")
            return found

        return self._store.read_committed(Store.get_message, n).addCallback(check)

    def query(self, live: LiveAccount, message_id: str, source_addr: str = "") -> "Deferred[QueryAnswer]":
        """query_sm: the message's committed state, or a failure carrying
        SmppError(ESME_RQUERYFAIL)."""

        def answer(found: tuple) -> QueryAnswer:
            _, state, _, error, done_time = found
            if done_time is None:
                return QueryAnswer(MessageState.ENROUTE, "", 0)
            return QueryAnswer(state, format_smpp_time(done_time), (error or 0) & 0xFF)

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

        def withdraw(found: tuple) -> Deferred:
            m, _, stat, _, done_time = found
            if destination_addr and destination_addr not in (m.destination_addr, "+" + m.msisdn, m.msisdn):
                raise SmppError(status, f"message {message_id} was not sent to {destination_addr!r}")
            if done_time is not None:
                raise SmppError(status, f"message {message_id} is final ({stat})")
            operator = self.operators.get(m.operator)
            # True only while the operator holds it: it has no outcome yet
            # and will report none
            if operator is None or not operator.cancel(m.id):
                raise SmppError(status, f"message {message_id} is already in the network")
            return self._delete(live, m)

        return self._find(live, message_id, source_addr, status).addCallback(withdraw)

    def _cancel_to(self, live: LiveAccount, source_addr: str, destination_addr: str) -> "Deferred[None]":
        """cancel_sm with no message_id (SMPP 3.4 4.9): every message of the
        account to ``destination_addr`` (and from ``source_addr`` when given)
        that its operator still holds. Messages already in the network are
        past cancelling and stay as they are; none held fails the cancel."""
        status = CommandStatus.ESME_RCANCELFAIL
        if not destination_addr:
            return fail(SmppError(status, "cancel without message_id needs destination_addr"))
        try:
            msisdn = normalise(destination_addr)
        except SmppError as exc:
            return fail(SmppError(status, exc.detail))
        deletions = self._withdraw_held(live, msisdn, source_addr)
        if not deletions:
            return fail(SmppError(status, f"no message to {destination_addr!r} is still held"))
        return gatherResults(deletions, consumeErrors=True).addCallbacks(
            lambda _: None, lambda f: f.value.subFailure)

    def _withdraw_held(
        self, live: LiveAccount, msisdn: str, source_addr: str, keep: int | None = None
    ) -> "list[Deferred[None]]":
        """Withdraw (DELETED, refunded: ``_delete``) every message of
        ``live``'s account to ``msisdn``, from ``source_addr`` when given,
        that its operator still holds, but message ``keep``. What cancel_sm
        by destination and submit_sm's replace_if_present_flag share."""
        system_id = live.system_id
        found = [
            (operator, m) for operator in self.operators.values() for m in operator.held()
            if m.system_id == system_id and m.msisdn == msisdn and m.id != keep
            and (not source_addr or m.source_addr == source_addr)
        ]
        return [self._delete(live, m) for operator, m in found if operator.cancel(m.id)]

    def _delete(self, live: LiveAccount, m: Message) -> "Deferred[None]":
        """A withdrawn message: refund it and write its DELETED state (and
        the receipt owed, as for any final state) in one commit; fires then."""
        self._refund(live, m)
        owed = receipt_owed(m.registered_delivery, "DELETED")
        origin = self._origin.pop(m.id, None)
        done_time = float(int(self.sim.now()))
        state = MessageState.DELETED
        d: Deferred = Deferred()

        def committed(_: None, failure: Any) -> None:
            if owed:
                self.receipts.enqueue(Receipt(m, "DELETED", state, 0, done_time), origin)
            if failure is None:
                d.callback(None)
            else:
                d.errback(SmppError(CommandStatus.ESME_RSYSERR, "store commit failed"))

        self._store.finish(
            (state, "DELETED", 0, done_time, RECEIPT_OWED if owed else RECEIPT_NONE), m.id, committed, None
        )
        if self.final_watchers:
            self._watched(m.id)
        return d

    def _refund(self, live: LiveAccount, m: Message) -> None:
        """Give a cancelled message's charge back: the balance, and the usage
        of the day it was charged on (the day of its submit; a test account's
        daily cap gets the message back if that is today)."""
        today = utc_day(self._clock.seconds())
        day = min(utc_day(self.sim.to_real(m.submit_time)), today)
        self._store.refund(m, day)
        live.available += m.cost
        if day == today and live.daily is not None:
            live.daily.give_back()

    # --- replace_sm ---------------------------------------------------------

    def replace(self, live: LiveAccount, pdu: ReplaceSm) -> "Deferred[None]":
        """replace_sm (SMPP 3.4 4.10): new text, times and registered_delivery
        for a message of ``live``'s account its operator still holds
        (scheduled, or queued behind the link's throughput), as cancel_sm
        finds it. The text is read in the message's data_coding (a replace
        keeps it: 0 GSM/default alphabet, 8 UCS-2) and re-analysed with the
        submit rules; the price difference is charged or given back. The
        row, the charge and the usage are one commit; fires None after it.
        Failures carry SmppError: ESME_RREPLACEFAIL (unknown, another
        account's, final or in the network), the text / time / flag
        statuses of submit_sm, or the balance status."""
        status = CommandStatus.ESME_RREPLACEFAIL

        def swap(found: tuple) -> Deferred:
            m, _, stat, _, done_time = found
            if done_time is not None:
                raise SmppError(status, f"message {pdu.message_id} is final ({stat})")
            operator = self.operators.get(m.operator)
            if operator is None or not operator.holds(m.id):
                raise SmppError(status, f"message {pdu.message_id} is already in the network")
            text = analyse(
                pdu.short_message, m.data_coding,
                max_segments=self._max_segments, default_alphabet=self._alphabet,
            )
            now = self.sim.now()
            validity, not_before = delivery_terms(pdu, now)
            cost = text.segments * self._prices[m.operator]
            delta = cost - m.cost
            if delta > live.available:
                raise SmppError(self._short_funds, f"balance short by {delta - live.available}")
            # held until now; from here on its operator no longer has it
            if not operator.cancel(m.id):
                raise SmppError(status, f"message {pdu.message_id} is already in the network")
            new = m._replace(
                short_message=text.payload, data_coding=text.data_coding, segments=text.segments,
                cost=cost, registered_delivery=pdu.registered_delivery,
                expires_at=operator.expires_at(now, validity) if validity else m.expires_at,
                not_before=not_before or m.not_before,
            )
            live.available -= delta
            d: Deferred = Deferred()

            def committed(_: None, failure: Any) -> None:
                if failure is None:
                    self._resubmit(operator, new)
                    d.callback(None)
                else:
                    live.available += delta
                    self._resubmit(operator, m)
                    d.errback(SmppError(CommandStatus.ESME_RSYSERR, "store commit failed"))

            day = min(utc_day(self.sim.to_real(m.submit_time)), utc_day(self._clock.seconds()))
            self._store.replace(m, new, day, committed, None)
            return d

        return self._find(live, pdu.message_id, pdu.source_addr, status).addCallback(swap)

    def _resubmit(self, operator: SimOperator, m: Message) -> None:
        expires_at = m.expires_at or operator.expires_at(m.submit_time)
        operator.submit(m, expires_at, m.not_before)

    # --- MO -------------------------------------------------------------------

    def poll_mo(self) -> None:
        """Take new mo_queue rows (``smsc mo inject``) into the MO hub; every
        second, and once at start for those a restart left undelivered."""
        if self._mo_polling:
            return
        self._mo_polling = True

        def got(rows: list[tuple]) -> None:
            for mo_id, system_id, source, destination, text in rows:
                self._mo_seen = max(self._mo_seen, mo_id)
                try:
                    parts = mo_parts(mo_id, system_id, source, destination, text)
                except SmppError as exc:
                    log.error("MO %d cannot be sent: %s", mo_id, exc)
                    continue
                for part in parts:
                    self.mo.enqueue(part)

        def done(result: Any) -> None:
            self._mo_polling = False
            if result is not None:
                log.error("reading the MO queue failed: %s", result)

        self._store.run(Store.pending_mo, self._mo_seen).addCallback(got).addBoth(done)

    def _mo_acked(self, part: MoPart) -> None:
        acked = self._mo_acks.get(part.id, 0) + 1
        if acked < part.total:
            self._mo_acks[part.id] = acked
            return
        self._mo_acks.pop(part.id, None)
        self._store.run(Store.mo_delivered, part.id)

    # --- recovery -------------------------------------------------------------

    def recover(self, store: Store) -> tuple[int, int]:
        """After a restart: resume unfinished messages and queue owed receipts.

        Runs before the listeners open. Returns (resumed, receipts)."""
        unfinished = store.unfinished_messages()
        for m in unfinished:
            operator = self.operators.get(m.operator)
            if operator is None:  # its operator left the config: it ends here
                self.on_final(Outcome(m, "UNDELIV", 0, self.sim.now()))
                continue
            expires_at = m.expires_at or operator.expires_at(m.submit_time)
            operator.submit(m, expires_at, m.not_before)
        owed = store.owed_receipts()
        for m, stat, state, error, done_time in owed:
            self.receipts.enqueue(Receipt(m, stat, state, error, done_time))
        return len(unfinished), len(owed)
