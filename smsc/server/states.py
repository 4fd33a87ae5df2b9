"""The session's states: what may arrive in each, and what moves it on.

Every state-machine concern of the SMPP session lives in this file (as in
h11's ``_state.py``): which requests the peer may send in which state
(``ACCEPTS``, SPEC 2.3/2.4 and section 4's "bound state" rules), which we
may send (``WE_SEND``), and every change of state (``TRANSITIONS``). The
session (``session.py``) changes ``state`` only through ``next_state``.

A request missing from ``ACCEPTS`` is answered with its own ``*_resp``
carrying ``refusal`` (ESME_RINVBNDSTS, or ESME_RALYBND for a second bind).

The state changes when a bind_*_resp with ESME_ROK is *sent* (h11's rule:
authentication may take a while, and until its answer goes out the
session is still OPEN); a refused bind leaves it OPEN for another try.
"""
from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Final

from ..pdu.constants import CommandId as C
from ..pdu.constants import CommandStatus
from ..pdu.errors import LocalProtocolError


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

BOUND_STATES: Final = frozenset({State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX})


class Trigger(Enum):
    """What moves a session from one state to another."""

    #: we sent bind_transmitter_resp / _receiver_ / _transceiver_ with ESME_ROK
    BIND_TRANSMITTER_OK = "bind_transmitter_resp ESME_ROK sent"
    BIND_RECEIVER_OK = "bind_receiver_resp ESME_ROK sent"
    BIND_TRANSCEIVER_OK = "bind_transceiver_resp ESME_ROK sent"
    #: we answered the peer's unbind
    UNBIND_ANSWERED = "unbind_resp sent"
    #: the peer answered our unbind
    UNBIND_CONFIRMED = "unbind_resp received"
    #: a bad command_length: no frame boundary can be trusted any more
    FRAMING_LOST = "framing lost"
    #: the connection is gone (or the shell drops it)
    CONNECTION_LOST = "connection lost"


#: the trigger of a response we send, when it moves the session; a
#: bind_*_resp only with ESME_ROK (``sent_trigger``)
_SENT: Final[Mapping[C, Trigger]] = {
    C.BIND_TRANSMITTER_RESP: Trigger.BIND_TRANSMITTER_OK,
    C.BIND_RECEIVER_RESP: Trigger.BIND_RECEIVER_OK,
    C.BIND_TRANSCEIVER_RESP: Trigger.BIND_TRANSCEIVER_OK,
    C.UNBIND_RESP: Trigger.UNBIND_ANSWERED,
}
BIND_RESPONSES: Final = frozenset({C.BIND_TRANSMITTER_RESP, C.BIND_RECEIVER_RESP, C.BIND_TRANSCEIVER_RESP})

#: the trigger of a response the peer sends to one of our requests
RECEIVED: Final[Mapping[C, Trigger]] = {
    C.UNBIND_RESP: Trigger.UNBIND_CONFIRMED,
}

#: what the peer alone can cause: defined in every state but CLOSED, so
#: nothing a peer sends is ever our LocalProtocolError
_PEER_ENDS: Final[Mapping[Trigger, State]] = {
    Trigger.UNBIND_CONFIRMED: State.CLOSED,
    Trigger.FRAMING_LOST: State.CLOSED,
    Trigger.CONNECTION_LOST: State.CLOSED,
}

#: state -> trigger -> next state; a missing pair is our bug (LocalProtocolError)
TRANSITIONS: Final[Mapping[State, Mapping[Trigger, State]]] = {
    State.OPEN: {
        Trigger.BIND_TRANSMITTER_OK: State.BOUND_TX,
        Trigger.BIND_RECEIVER_OK: State.BOUND_RX,
        Trigger.BIND_TRANSCEIVER_OK: State.BOUND_TRX,
        **_PEER_ENDS,
    },
    State.BOUND_TX: {Trigger.UNBIND_ANSWERED: State.CLOSED, **_PEER_ENDS},
    State.BOUND_RX: {Trigger.UNBIND_ANSWERED: State.CLOSED, **_PEER_ENDS},
    State.BOUND_TRX: {Trigger.UNBIND_ANSWERED: State.CLOSED, **_PEER_ENDS},
    # the link going away after the session ended changes nothing
    State.CLOSED: {Trigger.CONNECTION_LOST: State.CLOSED},
}


def next_state(state: State, trigger: Trigger) -> State:
    """The state ``trigger`` moves ``state`` to; LocalProtocolError when the
    table has no such move (our code tried something out of order)."""
    try:
        return TRANSITIONS[state][trigger]
    except KeyError:
        raise LocalProtocolError(f"{trigger.value} in {state.name}") from None


def sent_trigger(command_id: C, command_status: int) -> Trigger | None:
    """The trigger of a response we send, or None when it moves nothing:
    a bind_*_resp moves the session only with ESME_ROK."""
    trigger = _SENT.get(command_id)
    if trigger is not None and command_id in BIND_RESPONSES and command_status != CommandStatus.ESME_ROK:
        return None
    return trigger


def refusal(state: State, command_id: C) -> CommandStatus:
    """The status for a request that ``state`` does not accept."""
    if command_id in _BINDS and state in BOUND_STATES:
        return CommandStatus.ESME_RALYBND
    return CommandStatus.ESME_RINVBNDSTS
