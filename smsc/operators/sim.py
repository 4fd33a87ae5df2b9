"""The built-in simulated operator: every message is DELIVRD after a delay.

The full operator simulation (prefix routes, outcome mixes, TTL) is a later
issue; this one already uses the bucketed scheduler and the same
``Outcome`` callback the richer ones will.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from twisted.internet.interfaces import IReactorTime

from ..records import Message
from .scheduler import Scheduler


class Outcome(NamedTuple):
    message: Message
    stat: str
    error: int
    done_time: float


class SimOperator:
    def __init__(
        self,
        name: str,
        delay: float,
        clock: IReactorTime,
        scheduler: Scheduler,
        on_final: Callable[[Outcome], None],
    ) -> None:
        self.name = name
        self._delay = delay
        self._clock = clock
        self._scheduler = scheduler
        self._on_final = on_final

    def submit(self, message: Message) -> None:
        self._scheduler.call_at(self._clock.seconds() + self._delay, self._deliver, message)

    def _deliver(self, message: Message, now: float) -> None:
        self._on_final(Outcome(message, "DELIVRD", 0, now))
