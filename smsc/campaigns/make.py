"""A campaign from a group, a text and a sender: checked, personalised and
costed, ready to store (``NewCampaign``). One function behind every door that
makes campaigns: ``smsc campaign create``, the HTTP API and the cabinet.

Pure but for the config it reads: no store, no I/O; the caller reads the
account and its blacklist and stores the result.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..records import Account
from ..store.port import BaseNumber, NewBase, NewCampaign, NewRecipient, NumberBase
from .estimate import Estimate, estimate, priced_by
from .group import Group, Recipient
from .template import Template, TemplateError

if TYPE_CHECKING:
    from ..config import Config

__all__ = ["CampaignError", "base_group", "counts_line", "make_campaign", "new_base"]

#: missing values shown in the error before "and N more"
_SHOWN_PROBLEMS = 5


class CampaignError(ValueError):
    """A campaign (or base) that can't be made; ``str()`` says why, in one line."""


def counts_line(group: Group) -> str:
    """The FAQ's arithmetic: ``1000 in, 956 kept, 44 duplicates, 0 invalid``."""
    return (f"{group.total_rows} in, {len(group.rows)} kept, {group.duplicates} duplicates, "
            f"{len(group.invalid)} invalid")


def new_base(system_id: str, name: str, group: Group) -> NewBase:
    """A base to store from an uploaded group (parsed by ``parse_group``:
    de-duplicated and validated exactly as a campaign upload is)."""
    return NewBase(
        system_id=system_id, name=name, phone_column=group.phone_column, columns=group.columns,
        rows_in=group.total_rows, invalid=len(group.invalid), duplicates=group.duplicates,
        numbers=tuple(BaseNumber(r.msisdn, r.fields, r.line) for r in group.rows),
    )


def base_group(base: NumberBase, numbers: list[BaseNumber]) -> Group:
    """A stored base as the group a campaign is made from (its numbers now,
    after cleaning and edits)."""
    rows = tuple(Recipient(n.msisdn, n.fields, n.line) for n in numbers)
    return Group(base.columns, rows, len(rows), (), 0, base.phone_column)


def check_sender(cfg: "Config", account: Account, sender: str) -> None:
    """The engine's own sender rule, on the source address the runner will submit."""
    from ..accounts.senders import check_sender as rule, sender_ton
    from ..pdu.errors import SmppError
    from ..submission import of_text

    sub = of_text(sender, "", "")
    try:
        rule(account, cfg.accounts.universal_alpha, sub.source_addr, sender_ton(sub.source_addr))
    except SmppError as exc:
        raise CampaignError(f"--sender {sender}: {exc.detail}") from None


def make_campaign(
    cfg: "Config", account: Account, blacklist: frozenset[str], group: Group, *, text: str, sender: str,
    name: str, rate: float | None = None, name_column: str | None = None,
) -> tuple[NewCampaign, Estimate]:
    """The draft to store and its estimate; ``CampaignError`` (nothing to
    store) when the sender, the rate, the text or a value is wrong."""
    rate = cfg.campaigns.rate if rate is None else rate
    if not rate > 0:
        raise CampaignError(f"--rate {rate}: must be above 0 (messages per second)")
    check_sender(cfg, account, sender)
    if not group.rows:
        raise CampaignError(f"{group.total_rows} rows in, none kept: no numbers to send to")
    if name_column is not None and name_column.strip().casefold() not in {c.casefold() for c in group.columns}:
        raise CampaignError(f"--name-column {name_column}: no such column (columns: {', '.join(group.columns)})")
    try:
        template = Template.parse(text, group.columns, name_column)
    except TemplateError as exc:
        raise CampaignError(f"--text: {exc}") from None
    problems = template.check(group)
    if problems:
        shown = "; ".join(map(str, problems[:_SHOWN_PROBLEMS]))
        more = f"; and {len(problems) - _SHOWN_PROBLEMS} more" if len(problems) > _SHOWN_PROBLEMS else ""
        raise CampaignError(f"--text: {len(problems)} missing value(s), nothing stored: {shown}{more}")
    prices = {key: spec.price for key, spec in cfg.operators.items()}
    cost = estimate(group, template, priced_by(cfg.routes.lookup, prices), blacklist,
                    max_segments=cfg.messages.max_segments)
    new = NewCampaign(
        name=name, system_id=account.system_id, sender=sender, template=text, rate=rate,
        phone_column=group.phone_column, columns=group.columns, rows_in=group.total_rows,
        invalid=len(group.invalid), duplicates=group.duplicates,
        estimate_segments=cost.segments, estimate_kopecks=cost.kopecks,
        recipients=tuple(
            NewRecipient(r.msisdn, r.fields, r.line, template.render(r), r.msisdn in blacklist)
            for r in group.rows
        ),
    )
    return new, cost
