"""Who may send from which source address (SPEC section 2).

- Alpha-names: 1-11 Latin letters and digits (no spaces: the FAQ says
  letters and digits), source_addr_ton 5 (alphanumeric) or 0 (unknown).
- Numeric senders: up to 15 digits, ton 0, 1 or 2, only when registered.
- ``test`` accounts send only from the universal alpha-name of the config;
  ``user`` accounts only from their registered names (``smsc account alpha``).
Anything else is ESME_RINVSRCADR, before anything is charged.
"""
from __future__ import annotations

from ..pdu.constants import CommandStatus
from ..pdu.errors import SmppError
from ..records import Account
from .validation import ALPHA_NAME, NUMERIC_SENDER

TON_ALPHANUMERIC = 5
_ALPHA_TONS = frozenset({0, TON_ALPHANUMERIC})
_NUMERIC_TONS = frozenset({0, 1, 2})


def senders_of(account: Account, universal_alpha: str) -> tuple[str, ...]:
    """The source addresses ``account`` may send from now, by :func:`check_sender`'s
    rule: what ``smsc account show`` shows (a test account's registered
    names wait for ``promote``)."""
    if account.mode == "test":
        return (universal_alpha,)
    return tuple(account.alpha_names)


def sender_ton(source_addr: str) -> int:
    """The TON of a sender that came without one (HTTP, campaigns): an
    international number (1) when it is all digits, else alphanumeric."""
    return 1 if source_addr.isdigit() else TON_ALPHANUMERIC


def check_sender(account: Account, universal_alpha: str, source_addr: str, ton: int) -> None:
    # The common case first, without a regex: a name the account may use
    # (checked when it was registered, or the config's universal name) with
    # the TON for its kind.
    if account.mode == "test":
        allowed = source_addr == universal_alpha
    else:
        allowed = source_addr in account.alpha_names
    if allowed and ton in (_NUMERIC_TONS if source_addr.isdigit() else _ALPHA_TONS):
        return
    if source_addr.isdigit() and source_addr.isascii():
        if not NUMERIC_SENDER.fullmatch(source_addr):
            raise SmppError(CommandStatus.ESME_RINVSRCADR, "numeric sender: at most 15 digits")
        if ton not in _NUMERIC_TONS:
            raise SmppError(CommandStatus.ESME_RINVSRCTON, f"numeric sender with source_addr_ton {ton}")
    else:
        if not ALPHA_NAME.fullmatch(source_addr):
            raise SmppError(
                CommandStatus.ESME_RINVSRCADR,
                f"alpha-name {source_addr!r}: 1-11 Latin letters and digits",
            )
        if ton not in _ALPHA_TONS:
            raise SmppError(CommandStatus.ESME_RINVSRCTON, f"alpha-name with source_addr_ton {ton}")
    if account.mode == "test":
        if source_addr != universal_alpha:
            raise SmppError(
                CommandStatus.ESME_RINVSRCADR,
                f"test accounts send only from {universal_alpha!r}",
            )
    elif source_addr not in account.alpha_names:
        raise SmppError(CommandStatus.ESME_RINVSRCADR, f"sender {source_addr!r} is not registered")
