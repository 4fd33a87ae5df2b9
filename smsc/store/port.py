"""The store port: typed records, and the two faces of the store.

Everything above ``smsc/store/`` talks to the store through these names,
never in rows, SQL or connections, so a second backend (PostgreSQL,
DESIGN.md "Growing past one machine") can implement them with no change
above this package:

``MessageStore``  the synchronous backend (``smsc.store.sqlite.Store``):
                  what the CLI calls in its own process, what recovery at
                  start calls before the reactor runs, and what the store
                  thread runs for the server.
``StorePort``     the reactor side (``smsc.store.worker.StoreWorker``):
                  hot writes gathered into one ``Batch`` per commit (group
                  commit), and a named Deferred-returning method for every
                  other read or write the server makes, each run on the
                  store thread, in order.

Reads of ``StorePort`` see what is committed when they run. The ones whose
name says *committed* (``committed_message``, ``committed``) first wait
until every write queued before them is committed, so they see what the
reactor side has already decided (and told a client).

The per-message records are NamedTuples, as ``Message`` is (records.py):
a recovery builds one per stored message, and a NamedTuple costs a
fraction of a frozen dataclass. A NamedTuple is still a tuple, so code that
unpacks one (``m, state, stat, error, done_time = found``) keeps working.
The others are frozen dataclasses.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from ..fault_model import Fault
from ..records import Account, Message

if TYPE_CHECKING:  # the CLI imports this module; Twisted would cost it ~0.1 s
    from twisted.internet.defer import Deferred
    from twisted.python.failure import Failure

# --- states stored with a message or callback -------------------------------------

#: messages.receipt: 0 none owed, 1 owed and not yet acknowledged, 2
#: acknowledged, 3 owed but kept past the retention and given up
RECEIPT_NONE, RECEIPT_OWED, RECEIPT_DONE, RECEIPT_EXPIRED = 0, 1, 2, 3

#: dlr_callbacks.state: waiting for the final state or for a 2xx answer,
#: answered with a 2xx, given up after the last retry
CALLBACK_PENDING, CALLBACK_DONE, CALLBACK_GIVEN_UP = 0, 1, 2

#: campaign_recipients.status, how far the campaign runner got with a
#: recipient (smsc.campaigns.store tells what a report makes of them):
#: not handed to the engine yet; claimed by the runner, its submit may or
#: may not be committed; blacklisted (nothing sent, nothing charged); the
#: engine refused the submit; accepted (``message_int`` is its message id)
PENDING, SENDING, SKIPPED, REFUSED, SENT = "PENDING", "SENDING", "SKIPPED", "REFUSED", "SENT"

#: campaign states: a draft waits for ``start``; ``paused`` (insufficient
#: funds, or by hand) waits for ``start`` again; ``sent``: every recipient
#: was handed to the engine (or skipped / refused)
CAMPAIGN_STATES = ("draft", "running", "paused", "sent")


# --- refusals ---------------------------------------------------------------------


class AccountExists(Exception):
    pass


class NoSuchAccount(Exception):
    pass


class InsufficientFunds(Exception):
    """A submit's charge was refused by the store: the account's balance
    could not cover it when its batch committed (on PostgreSQL another node
    spent the money first), so the message was not stored. The waiter of
    each such insert gets this failure; the engine answers with
    ``[billing] insufficient_funds_status``."""

    def __init__(self, system_id: str) -> None:
        super().__init__(f"{system_id}: balance short at commit")
        self.system_id = system_id


class NotBlacklisted(Exception):
    """Numbers to remove that are not on the account's blacklist."""

    def __init__(self, system_id: str, numbers: list[str]) -> None:
        super().__init__(f"{system_id}: not blacklisted: {', '.join(numbers)}")
        self.system_id = system_id
        self.numbers = numbers


class NotAllowlisted(Exception):
    """Networks to remove that are not on the account's IP allowlist."""

    def __init__(self, system_id: str, networks: list[str]) -> None:
        super().__init__(f"{system_id}: not on the allowlist: {', '.join(networks)}")
        self.system_id = system_id
        self.networks = networks


# --- messages ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommitStatus:
    """How the last commit that wrote something went (health): ``at`` is
    when it ended (reactor clock), ``error`` the store's message when it
    failed (a full disk: "database or disk is full")."""

    ok: bool
    at: float
    error: str = ""


@dataclass
class Batch:
    """Writes gathered during a few ms of traffic, committed together
    (``MessageStore.write_batch``: one transaction)."""

    inserts: list[Message] = field(default_factory=list)
    #: (state, stat, error, done_time, receipt) -> message ids. Messages an
    #: operator finishes in one timer bucket share all five, so each group
    #: is one ``UPDATE ... WHERE id IN (...)``.
    finishes: dict[tuple[int, str, int, float, int], list[int]] = field(default_factory=dict)
    acks: list[int] = field(default_factory=list)
    #: cancelled messages whose charge is given back (their cost becomes 0)
    refunds: list[int] = field(default_factory=list)
    #: replace_sm: (short_message, data_coding, segments, cost, expires_at,
    #: not_before, registered_delivery, id) of messages given new text
    replaces: list[tuple[Any, ...]] = field(default_factory=list)
    #: system_id -> kopecks to take (negative: a refund); in the same
    #: transaction as the messages they pay for
    charges: dict[str, int] = field(default_factory=dict)
    #: (system_id, UTC day) -> [messages, segments, kopecks]
    usage: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    #: the part of ``usage`` (and so of ``charges``) that pays for the
    #: inserts, the submits' charges: what ``without`` takes out when an
    #: account's balance cannot cover its submits
    debits: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    #: accounts to read back after the commit (balances, names, limits)
    read_accounts: frozenset[str] = frozenset()
    size: int = 0
    #: owed receipts this node keeps in memory to deliver (a cluster node:
    #: ``receipt_node`` = this node, so no other claims them); SQLite's one
    #: node never fills it
    held: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return self.size

    def writes(self) -> bool:
        """Something to write (not only reads waiting for the commit): a
        commit of nothing needs no disk space, so it proves nothing."""
        return bool(self.inserts or self.finishes or self.acks or self.refunds or self.replaces
                    or self.charges or self.usage)


class BatchResult(NamedTuple):
    """What ``MessageStore.write_batch`` committed.

    ``refused``: accounts whose balance could not cover their submits in
    the batch (the conditional decrement, ``balance >= charge``, found less
    when it ran: on PostgreSQL another node spent the money; SQLite's one
    writer only sees it after a CLI change behind the server's back). Their
    inserts were not written, nor their submits' charges and usage; the rest
    of the batch was, theirs included (final states, acks, refunds,
    replaces). The worker fails those inserts' waiters with
    ``InsufficientFunds``.
    """

    #: ``Batch.read_accounts`` as they stand after the commit
    accounts: dict[str, Account]
    refused: frozenset[str] = frozenset()


def without(batch: Batch, refused: frozenset[str]) -> Batch:
    """``batch`` less the submits of the ``refused`` accounts: their inserts,
    and the charges and usage those paid (``Batch.debits``). What a backend
    writes once it knows the balance of those accounts is short."""
    charges = dict(batch.charges)
    usage = {key: list(v) for key, v in batch.usage.items()}
    for key, (messages, segments, kopecks) in batch.debits.items():
        if key[0] in refused:
            charges[key[0]] = charges.get(key[0], 0) - kopecks
            u = usage[key]
            u[0] -= messages
            u[1] -= segments
            u[2] -= kopecks
            if not any(u):
                del usage[key]
    return Batch(
        inserts=[m for m in batch.inserts if m.system_id not in refused],
        finishes=batch.finishes, acks=batch.acks, refunds=batch.refunds, replaces=batch.replaces,
        charges={sid: k for sid, k in charges.items() if k or sid not in refused},
        usage=usage, debits={k: v for k, v in batch.debits.items() if k[0] not in refused},
        read_accounts=batch.read_accounts, size=batch.size, held=batch.held,
    )


def debit_due(batch: Batch) -> dict[str, int]:
    """Per account, the kopecks of the batch that must be covered by its
    balance: the net charge when its submits are in it and it is positive
    (refunds and replace_sm differences alone are never refused)."""
    with_submits = {key[0] for key, v in batch.debits.items() if v[2] > 0}
    return {sid: k for sid, k in batch.charges.items() if k > 0 and sid in with_submits}


class StoredMessage(NamedTuple):
    """A message with how far it got: ``state`` is its message_state
    (1 ENROUTE while not final); ``stat``, ``error`` and ``done_time`` are
    None until its final state is committed."""

    message: Message
    state: int
    stat: str | None
    error: int | None
    done_time: float | None


class OwedReceipt(NamedTuple):
    """A final message whose receipt the client has not acknowledged yet
    (what a restart queues again)."""

    message: Message
    stat: str
    state: int
    error: int
    done_time: float


class UpstreamLeg(NamedTuple):
    """One segment of a message sent to an upstream SMSC (router mode,
    ``smsc.operators.upstream``): ``part`` 1..segments. Fields that are
    None are not known (yet); ``record_legs`` never overwrites a known
    value with None. ``udh`` is the header the part travels with: our
    concatenation header (so a part sent again after a restart keeps its
    reference) or a client segment's own UDH (which the message row does
    not keep)."""

    message_id: int
    part: int
    #: the upstream's message_id from its submit_sm_resp
    upstream_id: str | None = None
    #: the part's final state (the upstream's receipt, or its refusal)
    stat: str | None = None
    error: int | None = None
    done_time: float | None = None
    udh: bytes | None = None


class MoRow(NamedTuple):
    """An MO message waiting for its account's receivers (``mo_queue``)."""

    id: int
    system_id: str
    source_addr: str
    destination_addr: str
    text: str


class PendingCallback(NamedTuple):
    """A dlr_url callback not yet answered with a 2xx nor given up."""

    message_id: int
    #: the message id as the client was told it
    public_id: str
    url: str


class ClientReport(NamedTuple):
    """One bind's conformance report (smsc.server.conformance) as stored:
    ``body`` is its JSON; ``ended_at`` None while the bind lasts."""

    id: int
    system_id: str
    bound_at: float
    ended_at: float | None
    body: str


@dataclass(frozen=True, slots=True)
class NodeState:
    """A node of the store as its last heartbeat left it (``/health``)."""

    name: str
    #: wall time of its last heartbeat (the database's clock)
    heartbeat_at: float
    #: heartbeat within the lease and not stopped
    alive: bool


@dataclass(frozen=True, slots=True)
class BindSlot:
    """What a bind's claim of a slot found (``MessageStore.take_bind``)."""

    #: the bind holds a slot now (False: ``max_binds`` reached cluster-wide)
    taken: bool
    #: the account's binds on the live nodes, this one included when taken
    binds: int
    #: live nodes holding a bind of the account, this node counted: what
    #: the account's rate is shared by (``LiveAccount.nodes``)
    nodes: int


@dataclass(frozen=True, slots=True)
class AccountUsage:
    """An account with the messages it was charged for on one UTC day."""

    account: Account
    messages: int


# --- campaigns --------------------------------------------------------------------


@dataclass(frozen=True)
class Campaign:
    """Every column of a campaign row (the CLI and the runner need more than the summary)."""

    id: int
    name: str
    system_id: str
    sender: str
    template: str
    #: messages per second
    rate: float
    #: one of CAMPAIGN_STATES
    state: str
    #: why it is paused, or ""
    detail: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    phone_column: str
    columns: tuple[str, ...]
    #: the upload: data rows read, kept, invalid, duplicates; blacklisted at creation
    rows_in: int
    kept: int
    invalid: int
    duplicates: int
    blacklisted: int
    estimate_segments: int
    estimate_kopecks: int


@dataclass(frozen=True)
class NewRecipient:
    msisdn: str
    fields: Mapping[str, str]
    #: the CSV line it came from (0: not from a file)
    line: int
    text: str
    #: blacklisted when the campaign was made: stored as SKIPPED
    #: ("blacklisted"), decided at creation
    blacklisted: bool = False


@dataclass(frozen=True)
class NewCampaign:
    name: str
    system_id: str
    sender: str
    template: str
    rate: float
    phone_column: str
    columns: tuple[str, ...]
    rows_in: int
    invalid: int
    duplicates: int
    estimate_segments: int
    estimate_kopecks: int
    recipients: tuple[NewRecipient, ...]


@dataclass(frozen=True)
class Claimed:
    """A recipient the runner took (now SENDING) to hand to the engine."""

    campaign_id: int
    seq: int
    msisdn: str
    text: str


@dataclass(frozen=True)
class Outcome:
    """What became of a claimed recipient: ``status`` one of PENDING (try
    again), SKIPPED, REFUSED, SENT."""

    campaign_id: int
    seq: int
    status: str
    message_int: int | None = None
    message_id: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CampaignTally:
    """How many recipients of a campaign share a stored status and (for
    SENT ones) their message's stat: what a campaign list counts."""

    campaign_id: int
    #: the stored status (PENDING ... SENT)
    status: str
    #: the message's stat, None when not sent or not final yet
    stat: str | None
    #: the message's done time (None: not final); one of the group's, all
    #: are None or none is, as stat and done time are written together
    done_time: float | None
    recipients: int
    #: kopecks charged for the group's messages
    cost: int


@dataclass(frozen=True, slots=True)
class RecipientState:
    """One recipient as a report needs it: stored columns and its message's."""

    seq: int
    msisdn: str
    #: the stored status (PENDING ... SENT)
    status: str
    message_id: str | None
    text: str
    detail: str
    #: when the runner decided it (skipped, refused, sent), wall time
    decided_at: float | None
    #: its message's stat, done time (None until final) and cost (0: none)
    stat: str | None
    done_time: float | None
    cost: int
    #: the upload's cells of this number, by column (the phone column too)
    fields: Mapping[str, str]
    #: its message's network error code (the receipt's err:), None until final
    error: int | None = None


@dataclass(frozen=True, slots=True)
class BaseRecipient:
    """One number of a campaign's base, with what cleaning filters on."""

    seq: int
    msisdn: str
    fields: Mapping[str, str]
    line: int
    status: str
    stat: str | None
    done_time: float | None
    #: when ``campaign clean --remove`` took it out of the base (wall time;
    #: None: in it). Its report line stays: the message was sent and paid.
    removed_at: float | None = None


@dataclass(frozen=True, slots=True)
class SendingRecipient:
    """A recipient left SENDING by a kill, with the messages that may be
    its submit: the account's to the same number submitted since it was
    claimed, oldest first."""

    campaign_id: int
    seq: int
    msisdn: str
    text: str
    system_id: str
    #: the account's message id options (None: the default; no account: None)
    id_format: str | None
    id_width: int | None
    candidates: tuple[Message, ...]


@dataclass(frozen=True, slots=True)
class Unsettled:
    """What settling SENDING recipients after a restart reads: them, and the
    message ids their campaigns already recorded (not to be taken twice)."""

    recipients: tuple[SendingRecipient, ...]
    taken: frozenset[int]


# --- number bases, sender-name applications ----------------------------------------

#: alpha_applications.state: waiting for the operator, approved (the name is
#: in alpha_names), rejected (``reason`` says why)
ALPHA_PENDING, ALPHA_APPROVED, ALPHA_REJECTED = "PENDING", "APPROVED", "REJECTED"


@dataclass(frozen=True, slots=True)
class BaseNumber:
    """One number of a base: normalised, with the upload's cells."""

    msisdn: str
    fields: Mapping[str, str]
    #: the CSV line it came from (0: added by hand)
    line: int = 0


@dataclass(frozen=True)
class NumberBase:
    """A number base of an account (FAQ 7 "Бази номерів"): uploaded once,
    sent to by any number of campaigns, cleaned after them (FAQ 13)."""

    id: int
    system_id: str
    name: str
    phone_column: str
    columns: tuple[str, ...]
    #: the upload: data rows read, invalid, duplicates
    rows_in: int
    invalid: int
    duplicates: int
    created_at: float
    #: numbers in it now
    size: int


@dataclass(frozen=True)
class NewBase:
    system_id: str
    name: str
    phone_column: str
    columns: tuple[str, ...]
    rows_in: int
    invalid: int
    duplicates: int
    numbers: tuple[BaseNumber, ...]


@dataclass(frozen=True, slots=True)
class AlphaApplication:
    """A customer's application for a personal alpha-name (FAQ 5, 9)."""

    system_id: str
    name: str
    #: ALPHA_PENDING, ALPHA_APPROVED or ALPHA_REJECTED
    state: str
    #: the operator's reason for a rejection, or ""
    reason: str
    applied_at: float
    decided_at: float | None


@dataclass(frozen=True, slots=True)
class RecipientFilter:
    """Which recipients a report page shows, in stored columns (the report
    status a person picks, ``smsc.campaigns.store.status_filter``): stored
    ``status`` one of ``stored``; with ``final`` True also a final message
    (done time set) whose stat is one of ``stats``, with ``final`` False
    one not final yet; None: whatever the message."""

    stored: tuple[str, ...]
    stats: tuple[str, ...] = ()
    final: bool | None = None


# --- the ports --------------------------------------------------------------------


class MessageStore(Protocol):
    """The synchronous store: every read and write of accounts, messages,
    MO, API keys, dlr_url callbacks and campaigns, as named methods.

    Not thread-safe: one thread uses it (the store thread in the server,
    the main thread of a CLI command); another process may use the same
    store at the same time. Writes commit before they return, but
    ``write_batch`` commits a whole batch as one transaction.
    """

    # lifecycle and upkeep
    def close(self) -> None: ...
    def take_over_checkpoints(self) -> None:
        """The server does the backend's upkeep (``checkpoint``) itself,
        off the commit path; a backend with none ignores both."""
    def checkpoint(self) -> None:
        """Upkeep on a thread of its own (SQLite: a WAL checkpoint)."""
    def probe_writable(self) -> None:
        """Raise unless a write transaction can be opened now (health)."""
    def heartbeat(self, node: str, lease: float, stopped: bool = False) -> list[NodeState]:
        """``node`` is alive now (``stopped``: it stops, gracefully); every
        node of the store, by name, as seen by a node alive within ``lease``
        seconds. SQLite's one process is the only node and keeps no table."""
    def probe_commit(self) -> None:
        """Commit one small real write, or raise (health, after a failed
        commit: opening a transaction needs no disk space, this does)."""

    # what the nodes of one store share (smsc.store.postgres_limits; SQLite's
    # one process is the only node: these keep nothing there)
    def take_bind(self, node: str, system_id: str, max_binds: int, lease: float) -> BindSlot:
        """A bind slot of ``system_id`` for ``node`` unless the live nodes
        hold ``max_binds`` already (0: no limit); one account's takes run
        one at a time across nodes."""
    def drop_bind(self, node: str, system_id: str) -> None: ...
    def sync_binds(
        self, node: str, held: Mapping[str, int], keep: Iterable[str], shares: Iterable[str], lease: float,
    ) -> dict[str, int]:
        """``node``'s bind rows set to ``held`` (``keep``: left alone),
        dead nodes' rows deleted; for each of ``shares`` the live nodes
        with a bind of it, ``node`` counted."""
    def forget_node_binds(self, node: str) -> int:
        """Delete ``node``'s bind rows (it starts, or was taken over)."""
    def lease_campaigns(self, node: str, lease: float) -> list[Campaign]:
        """The running campaigns ``node`` holds for ``lease`` seconds from
        now: its own, and any no live node holds."""
    def adopt_callbacks(self, node: str, lease: float) -> list[PendingCallback]:
        """Pending dlr_url callbacks of no live node, now ``node``'s."""
    def due_callbacks(self, node: str) -> list[int]:
        """``node``'s pending callbacks whose message is final."""

    # accounts
    def add_account(self, account: Account) -> None: ...
    def get_account(self, system_id: str, blacklist: bool = False) -> Account | None: ...
    def get_accounts(self, system_ids: Iterable[str]) -> dict[str, Account]: ...
    def bind_account(self, system_id: str, day: int) -> tuple[Account | None, int]: ...
    def list_accounts(self) -> list[Account]: ...
    def count_accounts(self) -> int: ...
    def accounts_usage(self, day: int) -> list[AccountUsage]: ...
    def usage_today(self, system_id: str, day: int) -> int: ...
    def add_balance(self, system_id: str, kopecks: int) -> None: ...
    def set_password_hash(self, system_id: str, password_hash: str) -> None: ...
    def set_mode(self, system_id: str, mode: str) -> None: ...
    def set_limits(self, system_id: str, rate: float | None, max_binds: int | None) -> None: ...
    def set_receipt_options(
        self, system_id: str, id_format: str | None, id_width: int | None,
        receipt_seconds: bool | None, receipt_tz: str | None,
    ) -> None: ...
    def add_alpha(self, system_id: str, name: str) -> None: ...
    def remove_alpha(self, system_id: str, name: str) -> bool: ...
    def blacklist(self, system_id: str) -> list[str]: ...
    def add_blacklist(self, system_id: str, numbers: Iterable[str]) -> int: ...
    def remove_blacklist(self, system_id: str, numbers: Iterable[str]) -> int: ...
    def allowlist(self, system_id: str) -> list[str]: ...
    def add_allowlist(self, system_id: str, networks: Iterable[str]) -> int: ...
    def remove_allowlist(self, system_id: str, networks: Iterable[str]) -> int: ...

    # messages
    def write_batch(self, batch: Batch) -> BatchResult:
        """One transaction: the batch, each account's balance decremented
        only when it covers the charge (``debit_due``); the accounts whose
        did not are ``refused`` and their submits left out (``without``)."""
    def message_ids(self, now: float) -> range:
        """Message ids this process may give out, used by no other process
        of the store, ever (``now``: wall time, for a time floor): SQLite's
        one writer gets every id past the largest stored one and
        ``int(now) << 20``; PostgreSQL a block of a sequence, shared by
        every node. Called again when a block runs low."""
    def max_message_id(self) -> int: ...
    def unfinished_messages(self) -> list[Message]: ...
    def owed_receipts(self) -> list[OwedReceipt]: ...
    def expire_owed(self, before: float) -> int: ...
    def get_message(self, message_id: int) -> StoredMessage | None: ...
    def messages_to(self, msisdn: str, limit: int) -> list[StoredMessage]: ...

    # upstream legs (router mode)
    def record_legs(self, legs: Iterable[UpstreamLeg]) -> None:
        """Insert or complete legs in one transaction (None keeps what is stored)."""
    def unfinished_legs(self, operator: str) -> list[UpstreamLeg]:
        """The legs of operator ``operator``'s messages that are not final."""
        ...

    # MO, API keys, dlr_url callbacks
    def add_mo(self, system_id: str, source_addr: str, destination_addr: str, text: str) -> int: ...
    # faults on demand (smsc.faults) and conformance reports (smsc.server.conformance)
    def add_fault(self, fault: Fault) -> int: ...
    def active_faults(self, now: float) -> list[Fault]: ...
    def remove_fault(self, fault_id: int, now: float) -> bool: ...
    def save_client_reports(self, reports: Iterable[ClientReport], keep: int) -> None: ...
    def client_reports(self, system_id: str, since: float = 0.0) -> list[ClientReport]: ...
    def pending_mo(self, after: int) -> list[MoRow]: ...
    def mo_delivered(self, mo_id: int) -> None: ...
    def set_api_key(self, system_id: str, key_sha256: str) -> None: ...
    def api_key_owner(self, key_sha256: str) -> str | None: ...
    def add_callback(self, message_id: int, public_id: str, url: str, node: str = "") -> None:
        """A callback to post, by ``node`` (PostgreSQL; "" none named)."""
    def pending_callbacks(self, node: str = "") -> list[PendingCallback]:
        """Callbacks not yet answered nor given up: ``node``'s ("" every one)."""
    def end_callback(self, message_id: int, state: int) -> None: ...

    # campaigns
    def create_campaign(self, new: NewCampaign, now: float) -> int: ...
    def get_campaign(self, campaign_id: int) -> Campaign | None: ...
    def list_campaigns(self) -> list[Campaign]: ...
    def running_campaigns(self) -> list[Campaign]: ...
    def set_campaign_state(
        self, campaign_id: int, allowed: Iterable[str], state: str, detail: str, now: float
    ) -> bool: ...
    def campaign_tallies(self) -> list[CampaignTally]: ...
    def campaign_lines(self, campaign_id: int) -> list[RecipientState]: ...
    def campaign_base(self, campaign_id: int) -> list[BaseRecipient]: ...
    def exclude_from_base(self, campaign_id: int, seqs: Iterable[int], now: float) -> int: ...
    def claim_recipients(self, wants: Mapping[int, int], now: float) -> list[Claimed]: ...
    def record_outcomes(self, outcomes: Iterable[Outcome], pauses: Mapping[int, str] = {}) -> None: ...
    def unsettled_sends(self) -> Unsettled: ...

    # campaign reports a page at a time (the customer cabinet)
    def account_campaigns(self, system_id: str) -> list[Campaign]: ...
    def campaign_tally(self, campaign_id: int) -> list[CampaignTally]: ...
    def campaign_lines_page(
        self, campaign_id: int, where: RecipientFilter | None, limit: int, offset: int
    ) -> list[RecipientState]:
        """``limit`` recipients from the ``offset``-th (upload order) that
        ``where`` picks (None: all): LIMIT / OFFSET, never every row."""
    def campaign_timeline(self, campaign_id: int, bucket: float) -> list[tuple[int, str, int]]:
        """(done_time // bucket, stat, messages) of the campaign's final messages."""
    def account_messages_to(self, system_id: str, msisdn: str, limit: int) -> list[StoredMessage]: ...

    # number bases
    def create_base(self, new: NewBase, now: float) -> int: ...
    def get_base(self, base_id: int) -> NumberBase | None: ...
    def list_bases(self, system_id: str | None) -> list[NumberBase]:
        """An account's bases (None: every account's), newest first."""
    def rename_base(self, base_id: int, name: str) -> bool: ...
    def delete_base(self, base_id: int) -> bool: ...
    def base_numbers(self, base_id: int) -> list[BaseNumber]: ...
    def add_base_numbers(self, base_id: int, numbers: Iterable[BaseNumber]) -> int:
        """Add the numbers not in the base yet; how many were new."""
    def remove_base_numbers(self, base_id: int, msisdns: Iterable[str]) -> int: ...

    # sender-name applications
    def apply_alpha(self, system_id: str, name: str, now: float) -> bool:
        """A PENDING application (again, after a rejection); False when the
        name is pending or approved already."""
    def alpha_applications(self, system_id: str | None) -> list[AlphaApplication]: ...
    def decide_alpha(self, system_id: str, name: str, approve: bool, reason: str, now: float) -> bool:
        """Approve (the name joins alpha_names, same transaction) or reject a
        PENDING application; False when there is none."""


#: called as ``waiter(arg, failure)`` once a write is committed (failure
#: None) or not; a function and its argument rather than a closure, because
#: one is made per message and a closure over a dozen names is not cheap
Waiter = Callable[[Any, "Failure | None"], None]


class StorePort(Protocol):
    """The store as the reactor thread sees it: nothing here blocks.

    Hot writes (``insert`` ... ``replace``) join the batch being gathered
    and are committed together; a ``waiter`` is called once its write is
    committed. Every other method runs one ``MessageStore`` call on the
    store thread, after the jobs queued before it, and returns a Deferred
    of its result (failing with the store's exception).
    """

    #: accounts the server serves, read back after commits
    tracked: set[str]
    #: observers of each commit: (writes, seconds, accounts read back)
    on_commit: list[Callable[[int, float, dict[str, Account]], None]]
    #: observers of each failed commit: (writes lost, the store's message)
    on_commit_failure: list[Callable[[int, str], None]]
    #: the last commit that wrote something (or failed); None before one
    last_commit: CommitStatus | None
    #: the last commit that failed; None while none has
    last_failure: CommitStatus | None

    def start(self) -> None: ...
    def stop(self) -> Deferred[None]: ...

    # group commit
    def insert(self, message: Message, waiter: Waiter | None = None, arg: Any = None) -> None: ...
    def finish(
        self, values: tuple[int, str, int, float, int], message_id: int,
        waiter: Waiter | None = None, arg: Any = None,
    ) -> None: ...
    def ack(self, message_id: int) -> None: ...
    def hold(self, message_id: int) -> None:
        """With the owed receipt ``finish`` writes in this commit: this node
        keeps it in memory to deliver (``Batch.held``)."""
    def charge(self, system_id: str, kopecks: int, day: int, segments: int, messages: int = 1) -> None: ...
    def refund(self, message: Message, day: int) -> None: ...
    def replace(
        self, old: Message, new: Message, day: int, waiter: Waiter | None = None, arg: Any = None
    ) -> None: ...
    def pending_charge(self, system_id: str) -> int: ...
    def message_ids(self, now: float) -> Deferred[range]: ...
    def refresh_soon(self) -> None: ...
    def flushed(self) -> Deferred[None]: ...
    def committed(self) -> Deferred[None]: ...

    # messages and accounts the engine reads
    def bind_account(self, system_id: str, day: int) -> Deferred[tuple[Account | None, int]]: ...
    def committed_message(self, message_id: int) -> Deferred[StoredMessage | None]: ...
    def message(self, message_id: int) -> Deferred[StoredMessage | None]: ...
    def pending_mo(self, after: int) -> Deferred[list[MoRow]]: ...
    def mo_delivered(self, mo_id: int) -> Deferred[None]: ...
    def expire_owed(self, before: float) -> Deferred[int]: ...
    def record_legs(self, legs: Iterable[UpstreamLeg]) -> Deferred[None]: ...

    # health, HTTP authentication, dlr_url callbacks
    def probe_writable(self) -> Deferred[None]: ...
    def heartbeat(self, node: str, lease: float, stopped: bool = False) -> Deferred[list[NodeState]]: ...
    def probe_commit(self) -> Deferred[None]: ...
    def account(self, system_id: str) -> Deferred[Account | None]: ...
    def api_key_owner(self, key_sha256: str) -> Deferred[str | None]: ...
    def add_callback(self, message_id: int, public_id: str, url: str) -> Deferred[None]: ...
    def end_callback(self, message_id: int, state: int) -> Deferred[None]: ...

    # the nodes of one store (PostgreSQL; see MessageStore)
    def take_bind(self, node: str, system_id: str, max_binds: int, lease: float) -> Deferred[BindSlot]: ...
    def drop_bind(self, node: str, system_id: str) -> Deferred[None]: ...
    def sync_binds(
        self, node: str, held: Mapping[str, int], keep: Iterable[str], shares: Iterable[str], lease: float,
    ) -> Deferred[dict[str, int]]: ...
    def lease_campaigns(self, node: str, lease: float) -> Deferred[list[Campaign]]: ...
    def adopt_callbacks(self, node: str, lease: float) -> Deferred[list[PendingCallback]]: ...
    def due_callbacks(self, node: str) -> Deferred[list[int]]: ...

    # the admin API
    def list_accounts(self) -> Deferred[list[Account]]: ...
    def add_account(self, account: Account) -> Deferred[None]: ...
    def add_balance(self, system_id: str, kopecks: int) -> Deferred[None]: ...
    def set_mode(self, system_id: str, mode: str) -> Deferred[None]: ...
    def set_api_key(self, system_id: str, key_sha256: str) -> Deferred[None]: ...
    def add_alpha(self, system_id: str, name: str) -> Deferred[None]: ...
    def remove_alpha(self, system_id: str, name: str) -> Deferred[bool]: ...
    def blacklist(self, system_id: str) -> Deferred[list[str]]: ...
    def add_blacklist(self, system_id: str, numbers: Iterable[str]) -> Deferred[int]: ...
    def remove_blacklist(self, system_id: str, numbers: Iterable[str]) -> Deferred[int]: ...
    def allowlist(self, system_id: str) -> Deferred[list[str]]: ...
    def add_allowlist(self, system_id: str, networks: Iterable[str]) -> Deferred[int]: ...
    def remove_allowlist(self, system_id: str, networks: Iterable[str]) -> Deferred[int]: ...
    def add_mo(self, system_id: str, source_addr: str, destination_addr: str, text: str) -> Deferred[int]: ...
    def add_fault(self, fault: Fault) -> Deferred[int]: ...
    def active_faults(self, now: float) -> Deferred[list[Fault]]: ...
    def remove_fault(self, fault_id: int, now: float) -> Deferred[bool]: ...
    def save_client_reports(self, reports: Iterable[ClientReport], keep: int) -> Deferred[None]: ...
    def client_reports(self, system_id: str, since: float = 0.0) -> Deferred[list[ClientReport]]: ...

    # the reports page
    def accounts_usage(self, day: int) -> Deferred[list[AccountUsage]]: ...
    def messages_to(self, msisdn: str, limit: int) -> Deferred[list[StoredMessage]]: ...
    def list_campaigns(self) -> Deferred[list[Campaign]]: ...
    def campaign_tallies(self) -> Deferred[list[CampaignTally]]: ...
    def get_campaign(self, campaign_id: int) -> Deferred[Campaign | None]: ...
    def campaign_lines(self, campaign_id: int) -> Deferred[list[RecipientState]]: ...

    # the campaign runner
    def running_campaigns(self) -> Deferred[list[Campaign]]: ...
    def claim_recipients(self, wants: Mapping[int, int], now: float) -> Deferred[list[Claimed]]: ...
    def record_outcomes(self, outcomes: Iterable[Outcome], pauses: Mapping[int, str] = {}) -> Deferred[None]: ...
    def unsettled_sends(self) -> Deferred[Unsettled]: ...

    # the customer cabinet and the account API
    def account_campaigns(self, system_id: str) -> Deferred[list[Campaign]]: ...
    def campaign_tally(self, campaign_id: int) -> Deferred[list[CampaignTally]]: ...
    def campaign_lines_page(
        self, campaign_id: int, where: RecipientFilter | None, limit: int, offset: int
    ) -> Deferred[list[RecipientState]]: ...
    def campaign_timeline(self, campaign_id: int, bucket: float) -> Deferred[list[tuple[int, str, int]]]: ...
    def account_messages_to(self, system_id: str, msisdn: str, limit: int) -> Deferred[list[StoredMessage]]: ...
    def create_campaign(self, new: NewCampaign, now: float) -> Deferred[int]: ...
    def set_campaign_state(
        self, campaign_id: int, allowed: Iterable[str], state: str, detail: str, now: float
    ) -> Deferred[bool]: ...
    def create_base(self, new: NewBase, now: float) -> Deferred[int]: ...
    def get_base(self, base_id: int) -> Deferred[NumberBase | None]: ...
    def list_bases(self, system_id: str | None) -> Deferred[list[NumberBase]]: ...
    def rename_base(self, base_id: int, name: str) -> Deferred[bool]: ...
    def delete_base(self, base_id: int) -> Deferred[bool]: ...
    def base_numbers(self, base_id: int) -> Deferred[list[BaseNumber]]: ...
    def add_base_numbers(self, base_id: int, numbers: Iterable[BaseNumber]) -> Deferred[int]: ...
    def remove_base_numbers(self, base_id: int, msisdns: Iterable[str]) -> Deferred[int]: ...
    def campaign_base(self, campaign_id: int) -> Deferred[list[BaseRecipient]]: ...
    def apply_alpha(self, system_id: str, name: str, now: float) -> Deferred[bool]: ...
    def alpha_applications(self, system_id: str | None) -> Deferred[list[AlphaApplication]]: ...
    def decide_alpha(self, system_id: str, name: str, approve: bool, reason: str, now: float) -> Deferred[bool]: ...
