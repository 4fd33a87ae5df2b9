"""The states table: transitions, and that the protocol answers exactly
what the table lets in."""
from __future__ import annotations

import pytest

from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.errors import LocalProtocolError
from smsc.server.protocol import SmppProtocol
from smsc.server.session import ANSWERED_HERE
from smsc.server.states import (
    ACCEPTS, BOUND_STATES, RECEIVED, TRANSITIONS, WE_SEND, State, Trigger, next_state, sent_trigger,
)


def test_every_request_the_table_lets_in_has_one_answerer_and_every_handler_is_in_the_table():
    accepted = frozenset().union(*ACCEPTS.values())
    handled = {cls.command_id for cls in SmppProtocol.HANDLERS}
    assert not handled & ANSWERED_HERE, "answered twice"
    assert sorted(accepted - handled - ANSWERED_HERE) == [], "let in, but nobody answers"
    assert sorted((handled | ANSWERED_HERE) - accepted) == [], "a handler no state lets in"
    for name in SmppProtocol.HANDLERS.values():
        assert callable(getattr(SmppProtocol, name)), name


def test_every_state_has_its_tables():
    assert set(ACCEPTS) == set(WE_SEND) == set(TRANSITIONS) == set(State)


def test_a_bind_ok_moves_open_to_its_bound_state_only():
    moves = {Trigger.BIND_TRANSMITTER_OK: State.BOUND_TX, Trigger.BIND_RECEIVER_OK: State.BOUND_RX,
             Trigger.BIND_TRANSCEIVER_OK: State.BOUND_TRX}
    for trigger, bound in moves.items():
        assert next_state(State.OPEN, trigger) is bound
        for state in BOUND_STATES | {State.CLOSED}:
            with pytest.raises(LocalProtocolError):
                next_state(state, trigger)


@pytest.mark.parametrize("trigger", [Trigger.UNBIND_CONFIRMED, Trigger.FRAMING_LOST, Trigger.CONNECTION_LOST])
def test_what_the_peer_causes_is_defined_in_every_live_state(trigger):
    # nothing the peer does may surface as our LocalProtocolError
    for state in set(State) - {State.CLOSED}:
        assert next_state(state, trigger) is State.CLOSED


def test_closed_is_final():
    assert TRANSITIONS[State.CLOSED] == {Trigger.CONNECTION_LOST: State.CLOSED}
    assert ACCEPTS[State.CLOSED] == WE_SEND[State.CLOSED] == frozenset()


def test_unbind_answered_closes_a_bound_session_only():
    for state in BOUND_STATES:
        assert next_state(state, Trigger.UNBIND_ANSWERED) is State.CLOSED
    with pytest.raises(LocalProtocolError):
        next_state(State.OPEN, Trigger.UNBIND_ANSWERED)


def test_which_sent_responses_move_the_session():
    assert sent_trigger(C.BIND_TRANSCEIVER_RESP, S.ESME_ROK) is Trigger.BIND_TRANSCEIVER_OK
    assert sent_trigger(C.BIND_TRANSCEIVER_RESP, S.ESME_RINVPASWD) is None  # refused: still OPEN
    assert sent_trigger(C.UNBIND_RESP, S.ESME_ROK) is Trigger.UNBIND_ANSWERED
    assert sent_trigger(C.SUBMIT_SM_RESP, S.ESME_ROK) is None
    assert RECEIVED == {C.UNBIND_RESP: Trigger.UNBIND_CONFIRMED}


def test_every_state_is_reachable_from_open():
    seen, todo = {State.OPEN}, [State.OPEN]
    while todo:
        for nxt in TRANSITIONS[todo.pop()].values():
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(State)
