"""What a client did wrong, per bind: the conformance report (README
"Conformance report").

One ``Conformance`` per bound session, fed by a few calls from the protocol
shell: ``submit`` per submit_sm (a counter, a dict lookup, a few compares),
``answered`` per submit_sm_resp, and the rest only off the hot path (an
error answer, an idle probe, an unbind, the link going). Each finding keeps
a count, its first and last time and one example PDU (hex; a bind's
password masked), never a log line per PDU. ``Reports`` keeps the live
sessions' reports and writes them to the store when a session ends and
every ``SAVE_EVERY`` seconds (the last ``KEEP`` binds survive a restart).
"""
from __future__ import annotations

import dataclasses
import json
import logging
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from ..pdu.codec import encode
from ..pdu.constants import CommandId, CommandStatus
from ..store.port import ClientReport

log = logging.getLogger(__name__)

#: seconds between writes of the live sessions' reports; binds kept
SAVE_EVERY, KEEP = 10.0, 500
#: the same text to the same number within this many seconds is a resubmit
RESUBMIT_WINDOW = 10.0
#: submits remembered for resubmits (cleared when full: bounded memory)
RESUBMIT_MEMORY = 1024
#: binds of one account within RECONNECT_WINDOW seconds that make a storm
RECONNECTS, RECONNECT_WINDOW = 5, 60.0
#: submits within this many seconds of an ESME_RTHROTTLED count as not backing off
BACKOFF = 1.0

ADVICE = {
    "deliver_sm_unanswered": "Answer every deliver_sm with deliver_sm_resp promptly; unanswered receipts "
                             "are sent again and the link is dropped after the response timeout.",
    "deliver_sm_error": "Answer deliver_sm with ESME_ROK once you have stored it; an error answer makes "
                        "the SMSC hold the receipt and offer it again on the next bind.",
    "window_exceeded": "Keep no more submit_sm outstanding than the window ([smpp] window); wait for "
                       "responses before sending more.",
    "throttling_ignored": "After ESME_RTHROTTLED, slow down (back off for a second or more) instead of "
                          "submitting at the same rate.",
    "enquire_link_unanswered": "Answer the SMSC's enquire_link with enquire_link_resp.",
    "no_enquire_link": "Send enquire_link on an idle link (every 30-60 s) so dead connections are noticed.",
    "wrong_source_ton": "Use TON 5 (alphanumeric) for an alpha sender and TON 1 (international) only for "
                        "a number in international format.",
    "wrong_dest_ton": "With TON 1 the destination is international digits (380...), without '+' or a "
                      "national leading 0.",
    "data_coding_mismatch": "data_coding 0 (GSM 7-bit) carries no bytes above 0x7F; send UCS2 "
                            "(data_coding 8) for other text.",
    "resubmit": "Do not resubmit on a timeout: ask with query_sm, or wait for the submit_sm_resp; "
                "duplicates reach the phone twice and are charged twice.",
    "unbind_outstanding": "Wait for the responses to your outstanding requests (and answer ours) "
                          "before sending unbind.",
    "reconnect_storm": "Reconnect with a growing delay (backoff), not in a tight loop.",
}
_REFUSED_ADVICE = {
    CommandStatus.ESME_RINVEXPIRY: "validity_period must be an SMPP time (16 chars, absolute or relative 'R').",
    CommandStatus.ESME_RINVSCHED: "schedule_delivery_time must be an SMPP time (16 chars, absolute or 'R').",
    CommandStatus.ESME_RINVMSGLEN: "The text is too long or its length does not fit the data_coding.",
    CommandStatus.ESME_RINVESMCLASS: "esm_class / UDH do not agree: set UDHI (0x40) only with a valid UDH.",
    CommandStatus.ESME_RINVSRCADR: "Send from a registered alpha-name or number.",
    CommandStatus.ESME_RINVSRCTON: "The sender's TON does not fit it (TON 5 alpha, TON 1 international).",
    CommandStatus.ESME_RINVDSTADR: "The destination is not a number we route.",
    CommandStatus.ESME_RINVCMDLEN: "command_length must equal the PDU's octets and the mandatory fields "
                                   "must all be there (C-Octet Strings end with a NUL).",
    CommandStatus.ESME_RINVOPTPARSTREAM: "An optional parameter (TLV) runs past the end of the PDU: "
                                         "its length field must count exactly its value's octets.",
    CommandStatus.ESME_RINVPARLEN: "A field or optional parameter is longer (or shorter) than SMPP 3.4 "
                                   "allows for it (the detail names it).",
    CommandStatus.ESME_RINVOPTPARAMVAL: "An optional parameter's value is not one SMPP 3.4 allows for it.",
    CommandStatus.ESME_ROPTPARNOTALLWD: "That optional parameter is not allowed in this PDU.",
    CommandStatus.ESME_RMISSINGOPTPARAM: "A required optional parameter is missing (e.g. the SAR TLVs "
                                         "come as a set of three).",
}


def _hex(pdu: Any) -> str:
    """A PDU as hex, passwords masked (PDUs are frozen dataclasses)."""
    if getattr(pdu, "password", ""):
        pdu = dataclasses.replace(pdu, password="*" * len(pdu.password))
    try:
        return encode(pdu).hex()
    except Exception:  # a PDU we cannot encode back: no example
        return ""


#: a bind's first submits all get the content checks (resubmits, TON/NPI,
#: data_coding); after them one in SAMPLE_MASK + 1 does, so a load test pays
#: ~0.1 µs a message instead of ~1.5 (the window and throttle counts stay exact)
FULL_CHECKS = 1000
SAMPLE_MASK = 15

class Conformance:
    """One bind's findings. ``in_flight``: submits not answered yet."""

    __slots__ = ("id", "system_id", "bind_type", "host", "bound_at", "ended_at", "window", "findings",
                 "submits", "in_flight", "throttled_at", "after_throttle", "recent", "last_pdu")

    def __init__(self, bind_id: int, system_id: str, bind_type: str, host: str, now: float, window: int) -> None:
        self.id = bind_id
        self.system_id = system_id
        self.bind_type = bind_type
        self.host = host
        self.bound_at = now
        self.ended_at: float | None = None
        self.window = window
        #: kind -> [count, first, last, example hex, detail]
        self.findings: dict[str, list[Any]] = {}
        self.submits = 0
        self.in_flight = 0
        self.throttled_at = -1e18
        self.after_throttle = 0
        #: (destination, text) -> when last submitted
        self.recent: dict[tuple[str, bytes], float] = {}
        self.last_pdu: Any = None

    def note(self, kind: str, now: float, pdu: Any = None, detail: str = "", count: int = 1) -> None:
        f = self.findings.get(kind)
        if f is None:
            self.findings[kind] = [count, now, now, _hex(pdu) if pdu is not None else "", detail]
        else:
            f[0] += count
            f[2] = now
            if detail:
                f[4] = detail

    # --- per submit (the hot path) ------------------------------------------------

    def submit(self, pdu: Any, now: float) -> None:
        self.submits += 1
        self.last_pdu = pdu
        self.in_flight += 1
        if self.in_flight > self.window:
            self.note("window_exceeded", now, pdu, f"{self.in_flight} outstanding, window {self.window}")
        if now - self.throttled_at < BACKOFF:
            self.after_throttle += 1
            if self.after_throttle > 2:
                self.note("throttling_ignored", now, pdu)
        if self.submits > FULL_CHECKS and self.submits & SAMPLE_MASK:
            return  # past a bind's first submits, the content checks look at every 16th
        key = (pdu.destination_addr, pdu.short_message)
        recent = self.recent
        then = recent.get(key)
        if then is not None and now - then < RESUBMIT_WINDOW:
            self.note("resubmit", now, pdu, f"same text to {pdu.destination_addr} after {now - then:.1f}s")
        if len(recent) >= RESUBMIT_MEMORY:
            recent.clear()
        recent[key] = now
        source, ton = pdu.source_addr, pdu.source_addr_ton
        if ton == 1 and not source.isdigit():
            self.note("wrong_source_ton", now, pdu, f"{source!r} with TON 1")
        elif ton == 5 and source.isdigit():
            self.note("wrong_source_ton", now, pdu, f"{source!r} (digits) with TON 5")
        dest = pdu.destination_addr
        if pdu.dest_addr_ton == 1 and (dest[:1] in ("0", "+") or not dest.isdigit()):
            self.note("wrong_dest_ton", now, pdu, f"{dest!r} with TON 1")
        if pdu.data_coding == 0 and not pdu.short_message.isascii():
            self.note("data_coding_mismatch", now, pdu, "bytes above 0x7F with data_coding 0")

    def answered(self, status: int, now: float) -> None:
        self.in_flight -= 1
        if status:
            self.refused(status, now)

    def refused(self, status: int, now: float) -> None:
        if status == CommandStatus.ESME_RTHROTTLED:
            if now - self.throttled_at >= BACKOFF:
                self.after_throttle = 0
            self.throttled_at = now
            return
        self.note(_refused_kind(status), now, self.last_pdu)

    # --- off the hot path ------------------------------------------------------------

    def undecodable(self, command_id: int, status: int, frame: bytes, detail: str, now: float) -> None:
        """A request the decoder refused (answered with ``status`` before the
        engine saw it): a refused submit like the engine's refusals, with the
        frame as it came for the example (never a bind: a session is bound)."""
        if command_id == CommandId.SUBMIT_SM:
            self.submits += 1
        kind = _refused_kind(status)
        try:
            name = CommandId(command_id).name.lower()
        except ValueError:
            name = f"0x{command_id:08x}"
        self.note(kind, now, detail=f"{name}: {detail}")
        f = self.findings[kind]
        if not f[3]:
            f[3] = frame.hex()

    def lost(self, outstanding: Iterable[Any], now: float) -> None:
        """The link went with our requests unanswered (``Outstanding`` entries)."""
        for entry in outstanding:
            age = now - entry.sent_at
            if entry.request_id is CommandId.DELIVER_SM:
                self.note("deliver_sm_unanswered", now, detail=f"unanswered for {age:.1f}s")
            elif entry.request_id is CommandId.ENQUIRE_LINK:
                self.note("enquire_link_unanswered", now, detail=f"unanswered for {age:.1f}s")

    def json(self) -> dict[str, Any]:
        return {
            "bind_id": self.id, "system_id": self.system_id, "bind_type": self.bind_type, "host": self.host,
            "bound_at": self.bound_at, "ended_at": self.ended_at, "submits": self.submits,
            "findings": [_finding(kind, f) for kind, f in sorted(self.findings.items())],
        }


def _refused_kind(status: int) -> str:
    try:
        return f"refused_{CommandStatus(status).name}"
    except ValueError:
        return f"refused_0x{status:08x}"


def advice(kind: str) -> str:
    """The sentence on what to change for a finding of ``kind`` ("" for none
    we know; the cabinet's catalogs translate each)."""
    found = ADVICE.get(kind)
    if found is None and kind.startswith("refused_"):
        try:
            found = _REFUSED_ADVICE.get(CommandStatus[kind[8:]])
        except KeyError:
            found = None
        found = found or f"Submits were refused with {kind[8:]}: check the PDU against SMPP 3.4."
    return found or ""


def _finding(kind: str, f: list[Any]) -> dict[str, Any]:
    return {"kind": kind, "count": f[0], "first": f[1], "last": f[2], "example": f[3], "detail": f[4],
            "advice": advice(kind)}


class Reports:
    """The live binds' reports, reconnect storms, and their writes to the store."""

    def __init__(self, now: Callable[[], float], save: Callable[[list[ClientReport], int], Any] | None = None) -> None:
        self._now = now
        self._save = save
        self.live: set[Conformance] = set()
        self._binds: dict[str, deque[float]] = {}
        self._last_id = 0

    def start(self, system_id: str, bind_type: str, host: str, window: int, pdu: Any = None) -> Conformance:
        now = self._now()
        bind_id = max(int(now * 1000), self._last_id + 1)
        self._last_id = bind_id
        c = Conformance(bind_id, system_id, bind_type, host, now, window)
        times = self._binds.setdefault(system_id, deque(maxlen=RECONNECTS))
        times.append(now)
        if len(times) == RECONNECTS and now - times[0] < RECONNECT_WINDOW:
            c.note("reconnect_storm", now, pdu, f"{RECONNECTS} binds in {now - times[0]:.1f}s")
        self.live.add(c)
        return c

    def end(self, c: Conformance) -> None:
        c.ended_at = self._now()
        self.live.discard(c)
        if self._save is not None:
            try:
                self._save([_stored(c)], KEEP)
            except Exception:  # the store is already closed (stopping): the last periodic write stands
                log.debug("report of bind %d not written", c.id)

    def save(self) -> Any:
        """Every SAVE_EVERY seconds: the live binds' reports so far."""
        if self._save is not None and self.live:
            return self._save([_stored(c) for c in self.live], KEEP)
        return None


def _stored(c: Conformance) -> ClientReport:
    return ClientReport(c.id, c.system_id, c.bound_at, c.ended_at, json.dumps(c.json()))


def summary(system_id: str, binds: list[dict[str, Any]]) -> dict[str, Any]:
    """Per bind, and the findings over all of them (the window asked for)."""
    totals: dict[str, dict[str, Any]] = {}
    for b in binds:
        for f in b["findings"]:
            t = totals.get(f["kind"])
            if t is None:
                totals[f["kind"]] = dict(f)
            else:
                t["count"] += f["count"]
                t["first"] = min(t["first"], f["first"])
                t["last"] = max(t["last"], f["last"])
    return {"system_id": system_id, "binds": binds, "findings": sorted(totals.values(), key=lambda f: f["kind"])}


def render(report: dict[str, Any]) -> str:
    """The report as text (``smsc report client``)."""
    lines = [f"client {report['system_id']}: {len(report['binds'])} binds"]
    if not report["findings"]:
        lines.append("  no findings: the client behaved")
    for f in report["findings"]:
        lines.append(f"  {f['kind']}: {f['count']}x, first {f['first']:.0f}, last {f['last']:.0f}"
                     + (f" ({f['detail']})" if f["detail"] else ""))
        lines.append(f"    {f['advice']}")
        if f["example"]:
            lines.append(f"    example: {f['example']}")
    return "\n".join(lines)
