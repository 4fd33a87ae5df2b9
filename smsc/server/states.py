"""Which requests a session accepts in which state: the one table.

Everything about "may this PDU arrive now?" lives here (SPEC 2.3/2.4 and
section 4's "bound state" rules). A request missing from ``ACCEPTS`` is
answered with its own ``*_resp`` carrying ``REFUSAL`` (ESME_RINVBNDSTS, or
ESME_RALYBND for a second bind).
"""
from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Final

from ..pdu.constants import CommandId as C
from ..pdu.constants import CommandStatus


class State(Enum):
    OPEN = "open"
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    CLOSED = "closed"


_BINDS = frozenset({C.BIND_TRANSMITTER, C.BIND_RECEIVER, C.BIND_TRANSCEIVER})
_ALWAYS = frozenset({C.ENQUIRE_LINK, C.UNBIND})
_SUBMIT = frozenset({C.SUBMIT_SM, C.DATA_SM, C.QUERY_SM, C.CANCEL_SM, C.REPLACE_SM, C.SUBMIT_MULTI})

#: requests the peer may send in each state
ACCEPTS: Final[Mapping[State, frozenset[C]]] = {
    # enquire_link before bind is a policy choice: answering it costs nothing
    # and some clients probe right after connecting.
    State.OPEN: _BINDS | {C.ENQUIRE_LINK},
    State.BOUND_TX: _ALWAYS | _SUBMIT,
    State.BOUND_RX: _ALWAYS,
    State.BOUND_TRX: _ALWAYS | _SUBMIT,
    State.CLOSED: frozenset(),
}

#: requests *we* may send in each state (the session refuses our own bugs)
WE_SEND: Final[Mapping[State, frozenset[C]]] = {
    State.OPEN: frozenset({C.ENQUIRE_LINK}),
    State.BOUND_TX: _ALWAYS,
    State.BOUND_RX: _ALWAYS | {C.DELIVER_SM, C.DATA_SM},
    State.BOUND_TRX: _ALWAYS | {C.DELIVER_SM, C.DATA_SM},
    State.CLOSED: frozenset(),
}

#: the state a successful bind_*_resp moves the session to
BOUND_BY: Final[Mapping[C, State]] = {
    C.BIND_TRANSMITTER_RESP: State.BOUND_TX,
    C.BIND_RECEIVER_RESP: State.BOUND_RX,
    C.BIND_TRANSCEIVER_RESP: State.BOUND_TRX,
}

BOUND_STATES: Final = frozenset({State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX})


def refusal(state: State, command_id: C) -> CommandStatus:
    """The status for a request that ``state`` does not accept."""
    if command_id in _BINDS and state in BOUND_STATES:
        return CommandStatus.ESME_RALYBND
    return CommandStatus.ESME_RINVBNDSTS
