"""State shared by every session of one load run.

The message budget, the counters, the receipt ledger and the signals the
driver waits on. No sockets here: sessions (client.py) report to it, the
driver (runner.py) reads it, so it is tested with plain calls.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime

from smsc.pdu.constants import CommandStatus, Tag
from smsc.pdu.pdus import DeliverSm, tlv_value
from smsc.pdu.receipt import parse_receipt_text as parse_canonical_receipt
from smsc.status import STAT_STATE

from .messages import FrameTemplate
from .stats import ReceiptLedger, parse_receipt_text

if TYPE_CHECKING:
    from .client import EsmeSession

_ERROR_SAMPLES = 10
_SAMPLES_PER_KIND = 2

#: message_state TLV -> the Appendix B ``stat:`` word, for receipts without one
STAT_OF_STATE: dict[int, str] = {int(v): k for k, v in STAT_STATE.items()}


def status_name(status: int) -> str:
    """ESME_* name of a command_status, hex for values outside the spec."""
    try:
        return CommandStatus(status).name
    except ValueError:
        return f"0x{status:08x}"


class Signal:
    """A one-shot event a coroutine can wait for with a timeout.

    Twisted has no asyncio.Event; this is the least needed for "wait until
    done or N seconds pass" without a timer per message.
    """

    def __init__(self) -> None:
        self.is_set = False
        self._waiters: list[defer.Deferred[bool]] = []

    def set(self) -> None:
        if self.is_set:
            return
        self.is_set = True
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            if not d.called:
                d.callback(True)

    def wait(self, clock: IReactorTime, timeout: float | None = None) -> defer.Deferred[bool]:
        """Fires True when set, False when ``timeout`` seconds pass first."""
        if self.is_set:
            return defer.succeed(True)
        d: defer.Deferred[bool] = defer.Deferred()
        self._waiters.append(d)
        if timeout is not None:
            def expire() -> None:
                if not d.called:
                    d.callback(False)

            call = clock.callLater(max(0.0, timeout), expire)

            def cancel_timer(result: bool) -> bool:
                if call.active():
                    call.cancel()
                return result

            d.addBoth(cancel_timer)
        return d


@dataclass(frozen=True, slots=True)
class RunSettings:
    """What the sessions need to know of the command line."""

    system_id: str
    password: str
    window: int
    registered_delivery: bool
    enquire_link_s: float
    resp_timeout_s: float


class LoadRun:
    """State shared by every session of one run: the message budget, counters,
    the receipt ledger and the signals the driver waits on."""

    def __init__(
        self,
        settings: RunSettings,
        templates: list[FrameTemplate],
        total: int,
        now: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.settings = settings
        self.templates = templates
        self.now = now
        self.remaining = total          # messages not yet handed to a session
        self.next_template = 0
        self.sessions: list[EsmeSession] = []
        self.submitting = False
        self.stopping = False
        self.submit_done = Signal()
        self.receipts_done = Signal()
        # submit phase
        self.submitted = 0
        self.responses = 0
        self.accepted = 0
        self.no_response = 0
        self.refused: Counter[str] = Counter()
        self.resp_latencies: list[float] = []
        self.t_first_submit: float | None = None
        self.t_last_resp: float | None = None
        self.t_progress = now()
        # receipts
        self.ledger = ReceiptLedger()
        self.t_first_receipt: float | None = None
        self.t_last_receipt: float | None = None
        self.mo_messages = 0
        # health
        self.errors: Counter[str] = Counter()
        self.error_samples: list[str] = []
        self.enquire_links_sent = 0
        self.enquire_links_answered = 0

    # -- bookkeeping -------------------------------------------------------

    def error(self, kind: str, detail: str = "") -> None:
        """A protocol-level fault: counted, a few samples kept, never per-PDU logs."""
        self.errors[kind] += 1
        if self.errors[kind] <= _SAMPLES_PER_KIND and len(self.error_samples) < _ERROR_SAMPLES:
            self.error_samples.append(f"{kind}: {detail}" if detail else kind)

    @property
    def outstanding(self) -> int:
        return sum(len(s.inflight) for s in self.sessions)

    def check_submit_done(self) -> None:
        """Submit phase ends when every message went out and got its answer,
        or when no session is left that could send the rest."""
        if not self.submitting or self.submit_done.is_set:
            return
        live = any(s.bound and s.can_submit for s in self.sessions)
        if (self.remaining <= 0 or not live) and self.outstanding == 0:
            self.submit_done.set()
            self.check_receipts_done()

    def check_receipts_done(self) -> None:
        if (self.settings.registered_delivery and self.submit_done.is_set
                and self.ledger.awaiting == 0):
            self.receipts_done.set()

    def on_receipt(self, pdu: DeliverSm, now: float) -> None:
        """Match one delivery receipt: id from the receipted_message_id TLV,
        else from the text's ``id:``; stat from the text, else message_state.

        The text is read with the project's strict Appendix B parser
        (smsc.pdu.receipt) so a receipt our server formats wrongly is
        reported; the lenient parser then still recovers id and stat, so one
        format slip is not also counted as a lost receipt.
        """
        if self.t_first_receipt is None:
            self.t_first_receipt = now
        self.t_last_receipt = now
        raw = pdu.short_message or tlv_value(pdu.tlvs, Tag.MESSAGE_PAYLOAD) or b""
        if pdu.data_coding == 0x08:
            text = raw.decode("utf-16-be", "replace")
        else:
            text = raw.decode("latin-1")
        canonical = parse_canonical_receipt(text)
        if canonical is not None:
            text_id: str | None = canonical["id"]
            stat: str | None = canonical["stat"]
        else:
            self.error("receipt_text_not_canonical", repr(text[:100]))
            loose = parse_receipt_text(text)
            text_id, stat = (loose.id, loose.stat) if loose else (None, None)
        tlv_id = tlv_value(pdu.tlvs, Tag.RECEIPTED_MESSAGE_ID)
        message_id = tlv_id.rstrip(b"\0").decode("latin-1") if tlv_id else text_id
        if tlv_id and text_id is not None and text_id != message_id:
            self.error("receipt_id_mismatch", f"TLV {message_id!r} text {text_id!r}")
        if stat is None:
            state = tlv_value(pdu.tlvs, Tag.MESSAGE_STATE)
            stat = STAT_OF_STATE.get(state[0], f"STATE_{state[0]}") if state else "NONE"
        if not message_id:
            self.error("receipt_without_id", repr(raw[:80]))
            message_id = ""
        self.ledger.receipt(message_id, stat, now)
        if self.ledger.awaiting == 0:
            self.check_receipts_done()

    def take(self, want: int) -> list[FrameTemplate]:
        """Hand out up to ``want`` of the remaining messages, cycling destinations."""
        n = min(want, self.remaining)
        if n <= 0:
            return []
        self.remaining -= n
        templates = self.templates
        i = self.next_template
        k = len(templates)
        out = []
        for _ in range(n):
            out.append(templates[i])
            i += 1
            if i == k:
                i = 0
        self.next_template = i
        return out

    def tick(self) -> None:
        """Once a second: enquire_link on idle sessions, and give up a submit
        phase that made no progress for ``resp_timeout_s``."""
        now = self.now()
        for s in self.sessions:
            if s.bound and now - s.last_io >= self.settings.enquire_link_s:
                s.send_enquire_link()
        if (self.submitting and not self.submit_done.is_set
                and now - self.t_progress > self.settings.resp_timeout_s):
            self.error("resp_timeout", f"{self.outstanding} submit_sm without resp "
                                       f"after {self.settings.resp_timeout_s:.0f} s")
            for s in self.sessions:
                self.no_response += len(s.inflight)
                s.inflight.clear()
            self.remaining = 0
            self.submit_done.set()
