"""Plain records passed between the engine's parts.

No part stores ``self`` of another: sessions hand the engine a ``BindInfo``;
the engine hands the store ``Message`` rows and the dlr ``Receipt`` records.
All immutable, so a record seen by one part can't change under another.

The per-message records (``Message``, ``Receipt``) are NamedTuples, not
frozen dataclasses: a frozen dataclass of 13 fields costs ~4 µs to build on
this machine, a NamedTuple ~0.5 µs, and a ``Message`` *is* the row the store
inserts (its fields are the column order of ``messages``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

#: message ids are below this (an int64 column; what every id format writes)
ID_LIMIT = 1 << 63


@dataclass(frozen=True, slots=True)
class Account:
    system_id: str
    password_hash: str
    mode: str  # "test" | "user"
    balance_kopecks: int
    #: registered sender names: alpha-names and numeric senders
    alpha_names: tuple[str, ...] = ()
    #: submit_sm per second, shared by all binds; None: the mode's default
    rate: float | None = None
    #: concurrent binds; None: the mode's default
    max_binds: int | None = None
    #: destinations (E.164 digits) that get nothing: accepted, not sent, not
    #: charged, receipted UNDELIV (SPEC section 4). Read by the server only
    #: (``Store.get_accounts``); empty in what the CLI reads.
    blacklist: frozenset[str] = frozenset()
    #: networks (CIDR, normal form, sorted) it may log in from; empty: any
    #: address (smsc.accounts.allowlist)
    allowlist: tuple[str, ...] = ()
    #: receipt options (README "Receipts"), None: the default. Message id
    #: text: "hex" | "decimal" | "uuid" (accounts.ids.MessageIdFormat) ...
    id_format: str | None = None
    #: ... zero-padded to this width (hex, decimal; 0: none)
    id_width: int | None = None
    #: receipt dates YYMMDDhhmmss (12 digits) instead of YYMMDDhhmm
    receipt_seconds: bool | None = None
    #: receipt dates in this IANA time zone instead of UTC
    receipt_tz: str | None = None


@dataclass(frozen=True, slots=True)
class BindInfo:
    """What a bind request asks for, and from where."""

    system_id: str
    password: str
    bind_type: str  # "transmitter" | "receiver" | "transceiver"
    peer_host: str


class Message(NamedTuple):
    """One accepted message as it is stored (the ``messages`` row).

    Addresses are as the client sent them (receipts echo them back);
    ``msisdn`` is the destination in E.164 digits, ``short_message`` the
    body octets (from message_payload when that carried it).
    """

    id: int
    system_id: str
    source_addr_ton: int
    source_addr_npi: int
    source_addr: str
    dest_addr_ton: int
    dest_addr_npi: int
    destination_addr: str
    esm_class: int
    data_coding: int
    registered_delivery: int
    short_message: bytes
    submit_time: float
    msisdn: str = ""
    operator: str = ""
    segments: int = 1
    #: kopecks charged (0 when nothing was: blacklisted, refunded)
    cost: int = 0
    #: end of validity (simulation clock), None: the operator's TTL
    expires_at: float | None = None
    #: schedule_delivery_time, None: at once
    not_before: float | None = None


class Receipt(NamedTuple):
    """A delivery receipt owed to an account.

    ``message`` is the submitted message; ``stat`` its final state (Appendix
    B word or FAQ stat) and ``state`` the message_state value; ``error`` the
    network error code. ``durable``: the final state is committed. A receipt
    for a bound client goes out before that, and its final state is written
    together with the acknowledgement (one write, not two); it is made
    durable first whenever it has to wait.

    ``intermediate``: not a receipt but an ENROUTE intermediate notification
    (registered_delivery 0x10; deliver_sm esm_class 0x20). Best-effort:
    never persisted, nothing written when it is acknowledged (``durable`` is
    True, so nothing tries), dropped when the client refuses it, and lost on
    a restart.
    """

    message: Message
    stat: str
    state: int
    error: int
    done_time: float
    durable: bool = True
    intermediate: bool = False


class Submission(NamedTuple):
    """One message to accept, whichever door it came through: what
    aiosmtpd's Envelope is to its handlers. ``smsc.submission`` builds it
    from a submit_sm, a data_sm, each destination of a submit_multi, an
    HTTP request and a campaign row; the engine takes nothing else.

    ``body`` holds the octets in ``data_coding`` (a message_payload's
    already taken out); ``sar`` the sar_* values of a client's own segment
    (tag -> octets), None for none. ``source_addr_ton`` None: the door had
    no TON (HTTP, campaigns) and the sender's kind decides it
    (``accounts.senders.sender_ton``). Times are SMPP time strings
    (absolute or relative, "" unset): the one notation validity and
    schedule have on every door. A NamedTuple, not a frozen dataclass: one
    is built per message (0.5 µs against 4).
    """

    source_addr_ton: int | None
    source_addr_npi: int
    source_addr: str
    dest_addr_ton: int
    dest_addr_npi: int
    destination_addr: str
    esm_class: int
    data_coding: int
    body: bytes
    sar: "dict[int, bytes] | None" = None
    registered_delivery: int = 0
    validity_period: str = ""
    schedule_delivery_time: str = ""
    #: withdraw the account's held messages from this source to this destination
    replace_if_present: bool = False


@dataclass(frozen=True, slots=True)
class Replacement:
    """replace_sm's request, protocol-neutral: new text (in the message's
    own data_coding), times and registered_delivery for ``message_id``."""

    message_id: str
    source_addr: str
    body: bytes
    registered_delivery: int = 0
    validity_period: str = ""
    schedule_delivery_time: str = ""
