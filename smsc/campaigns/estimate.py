"""What a campaign would cost, before anything is sent (SPEC 3, 4).

Pure: no I/O, no Twisted. Segments are counted by :mod:`smsc.pdu.text`, the
same rules the engine bills a submit by, on each recipient's rendered text.

Decisions:

* Every recipient falls in exactly one bucket, checked in this order:
  ``blacklisted`` (nothing sent, nothing charged: SPEC 4), ``unroutable``
  (``price_of`` gave None), ``too_long`` (the rendered text needs more than
  ``max_segments``: the engine would refuse it with ESME_RINVMSGLEN), or
  sendable. ``recipients`` counts them all; ``segments``, ``kopecks`` and
  ``by_segments`` only the sendable ones.
* A blacklisted or unroutable recipient's text is not rendered, so a
  missing value there does not stop the estimate; for the others
  :meth:`Template.render` raises ``TemplateError``. Run
  :meth:`Template.check` first to refuse a campaign with all its problems.
* The text goes as GSM 7-bit when :func:`smsc.pdu.text.encode` takes it as
  data_coding 0, else UCS-2 (data_coding 8), exactly as a submit of either
  would be measured: one Cyrillic letter makes the whole text UCS-2.
* ``blacklist`` holds normalised numbers (E.164 digits, as
  ``normalise_loose`` returns and ``Recipient.msisdn`` is).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from smsc.accounts.money import format_uah
from smsc.pdu.text import TOO_LONG_STATUS, TextError, analyse, text_coding
from smsc.router.numbers import RoutingError

from .group import Group, Recipient
from .template import Template

__all__ = ["Estimate", "Shortfall", "estimate", "segments_of", "shortfall", "text_coding", "priced_by"]

#: SPEC 3: at most 4 segments per message
MAX_SEGMENTS = 4


@dataclass(frozen=True, slots=True)
class Estimate:
    """Counts of recipients by outcome, and what the sendable ones cost."""

    #: all recipients considered
    recipients: int
    blacklisted: int
    unroutable: int
    #: segments of all sendable texts
    segments: int
    #: their price: segments x each number's price per segment
    kopecks: int
    #: segments per text -> how many sendable recipients get a text that long
    by_segments: Mapping[int, int]
    #: rendered text longer than max_segments
    too_long: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_segments", MappingProxyType(dict(sorted(self.by_segments.items()))))

    @property
    def sendable(self) -> int:
        return self.recipients - self.blacklisted - self.unroutable - self.too_long

    def summary(self) -> str:
        """E.g. ``956 recipients: 950 to send (1900 segments, 798.00 UAH), 6 blacklisted``.

        Zero counts of blacklisted, unroutable and too long are left out.
        """
        out = (
            f"{self.recipients} recipients: {self.sendable} to send "
            f"({self.segments} segments, {format_uah(self.kopecks)} UAH)"
        )
        for n, what in (
            (self.blacklisted, "blacklisted"),
            (self.unroutable, "without a route"),
            (self.too_long, "too long"),
        ):
            if n:
                out += f", {n} {what}"
        return out


def segments_of(text: str, max_segments: int = MAX_SEGMENTS) -> int:
    """Segments ``text`` is billed as; ``TextError`` (ESME_RINVMSGLEN) past ``max_segments``."""
    body, data_coding = text_coding(text)
    return analyse(body, data_coding, max_segments=max_segments).segments


def estimate(
    recipients: Group | Iterable[Recipient],
    template: Template | str,
    price_of: Callable[[str], int | None],
    blacklist: Collection[str] = frozenset(),
    *,
    max_segments: int = MAX_SEGMENTS,
) -> Estimate:
    """Cost of sending ``template`` to each recipient; see the module's decisions.

    ``price_of(msisdn)`` is kopecks per segment, or None for no route. A plain
    str is taken as a text without placeholders (``Template.parse(text)``).
    """
    rows = recipients.rows if isinstance(recipients, Group) else recipients
    if isinstance(template, str):
        template = Template.parse(template)
    fixed = None if template.personalised else template.render(Recipient("", {}))
    cache: dict[str, int | None] = {}  # text -> segments (None: too long)
    total = blacklisted = unroutable = too_long = segments = kopecks = 0
    by_segments: Counter[int] = Counter()
    for r in rows:
        total += 1
        if r.msisdn in blacklist:
            blacklisted += 1
            continue
        price = price_of(r.msisdn)
        if price is None:
            unroutable += 1
            continue
        text = fixed if fixed is not None else template.render(r)
        if text in cache:
            n = cache[text]
        else:
            try:
                n = segments_of(text, max_segments)
            except TextError as exc:
                if exc.status != TOO_LONG_STATUS:
                    raise
                n = None
            cache[text] = n
        if n is None:
            too_long += 1
            continue
        segments += n
        kopecks += n * price
        by_segments[n] += 1
    return Estimate(total, blacklisted, unroutable, segments, kopecks, by_segments, too_long)


def priced_by(
    lookup: Callable[[str], str], prices: Mapping[str, int]
) -> Callable[[str], int | None]:
    """A ``price_of`` from a route lookup (``RouteTable.lookup``) and prices per operator.

    No route (``RoutingError``) gives None. An operator missing from
    ``prices`` is a configuration bug and raises ``KeyError``.
    """

    def price_of(msisdn: str) -> int | None:
        try:
            operator = lookup(msisdn)
        except RoutingError:
            return None
        return prices[operator]

    return price_of


@dataclass(frozen=True, slots=True)
class Shortfall:
    """The balance does not cover what a campaign still needs (kopecks)."""

    needed: int
    available: int

    @property
    def short(self) -> int:
        return self.needed - self.available

    def describe(self, campaign_id: int, system_id: str) -> str:
        """``campaign 3 needs 371.00 UAH, account shop has 5.00 UAH: 366.00 UAH short``."""
        return (f"campaign {campaign_id} needs {format_uah(self.needed)} UAH, account {system_id} "
                f"has {format_uah(self.available)} UAH: {format_uah(self.short)} UAH short")


def shortfall(estimate_kopecks: int, balance_kopecks: int, charged_kopecks: int = 0) -> Shortfall | None:
    """What the balance lacks for the rest of a campaign, or None when it covers it.

    The one rule behind ``campaign create``'s warning and ``campaign start``'s
    refusal. What is still needed is the estimate less what the campaign was
    charged so far (a paused campaign resumes with the rest), never below 0.
    Other campaigns of the account are not counted against the balance.
    """
    needed = max(estimate_kopecks - charged_kopecks, 0)
    if needed <= balance_kopecks:
        return None
    return Shortfall(needed, balance_kopecks)
