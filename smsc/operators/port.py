"""``Operator``: what the engine asks of an operator connector, and nothing more.

Two kinds implement it: ``sim.SimOperator`` (a simulated network, the
default) and ``upstream.UpstreamOperator`` (router mode: a real SMSC over
SMPP). The engine takes a message's life from its commit to its final
state through these calls only, so any mix of both kinds works behind one
route table:

- ``connect``: who hears of outcomes (the engine is built after its
  operators);
- ``full``: refuse new submits with ESME_RMSGQFUL (a queue bound);
- ``expires_at``: a message's end of validity (the operator's TTL caps it);
- ``client_udh``: the UDH of a client's own segment, which the stored
  message does not carry, handed over before the message is stored;
- ``submit`` / ``cancel`` / ``held`` / ``holds``: taking a message, and
  what cancel_sm and replace_sm can still withdraw;
- ``restore``: before a restart's resumes, what the operator kept of its
  own in the store (upstream message ids);
- ``pending`` / ``in_network``: the gauges.

Times are simulation times (``clock.SimClock``). No outcome is reported
from inside ``submit``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, Protocol

from ..records import Message

if TYPE_CHECKING:
    from ..store.port import MessageStore


class Outcome(NamedTuple):
    """A message's final state as its operator reports it."""

    message: Message
    stat: str
    error: int
    done_time: float


#: the engine's ear for final states
OnFinal = Callable[[Outcome], None]
#: ... and for hand-offs to the network (ENROUTE notifications): (message, sim time)
OnEnroute = Callable[[Message, float], None]


class Operator(Protocol):
    #: the key the route table names it by
    key: str

    @property
    def full(self) -> bool:
        """Takes no more messages now: a submit routed here is refused
        with ESME_RMSGQFUL (nothing charged)."""
        ...

    def connect(self, on_final: OnFinal, on_enroute: OnEnroute | None = None) -> None: ...

    def expires_at(self, now: float, validity: float | None = None) -> float:
        """End of validity of a message submitted at ``now``: the client's
        ``validity`` when it is shorter than the operator's TTL."""
        ...

    def client_udh(self, message_id: int, udh: bytes) -> None:
        """Message ``message_id`` is a client's own segment with this UDH
        (sar_* TLVs already turned into one); called before it is stored."""
        ...

    def submit(self, message: Message, expires_at: float, not_before: float | None = None) -> None:
        """Take a message; its outcome comes later through ``on_final``."""
        ...

    def cancel(self, message_id: int) -> bool:
        """Withdraw a message not yet handed on: True, and no outcome will
        be reported for it; False once it is in the network (or unknown)."""
        ...

    def held(self) -> list[Message]:
        """The messages ``cancel`` could still withdraw."""
        ...

    def holds(self, message_id: int) -> bool: ...

    def restore(self, store: MessageStore) -> None:
        """At start, before unfinished messages are submitted again: read
        back what this operator stored of its own."""
        ...

    def pending(self) -> int:
        """Messages held (scheduled, or waiting for the link)."""
        ...

    def in_network(self) -> int:
        """Messages handed on whose outcome is not reported yet."""
        ...
