"""Simulation time: the operators' world, optionally running faster than the wall.

``SimClock(real, scale)`` maps the reactor's time to simulation time::

    sim = start + (real.seconds() - real_start) * scale
        = real.seconds() * scale + offset

where ``real_start`` is the reactor time when the clock is made and
``start`` defaults to it, so at scale 1 simulation time *is* wall time and
at any scale the two agree at start-up. A simulated duration ``d`` takes
``d / scale`` real seconds: at scale 3600 a 72 h TTL ends after 72 s.

Which times are simulation times: everything the operators decide and the
client sees about a message's life — ``submit_time``, validity and
schedule_delivery_time, ``Outcome.done_time``, hence the receipt's
``submit date``/``done date`` and query_sm's final_date. A receipt at scale
3600 therefore reads as the real network would have written it (``done
date`` 72 h after ``submit date`` for an expiry), which is what a client's
TTL handling is tested against; the wall clock would show 72 s and teach the
client nothing. Session timers (enquire_link, response timeouts), throttles
and metrics stay on the reactor's real time: they are about the TCP link,
not the simulated network.

The engine must therefore stamp ``submit_time`` and compute ``expires_at``
and ``not_before`` with ``SimClock.now()``. After a restart simulation time
starts again from the wall clock: stored times from a faster run may lie in
the "future" and simply fall due later; ones in the past fall due at once.
"""
from __future__ import annotations

from twisted.internet.interfaces import IReactorTime


class SimClock:
    """Simulation time over a real ``IReactorTime`` (a reactor, or a
    ``twisted.internet.task.Clock`` in tests)."""

    __slots__ = ("real", "scale", "real_start", "start", "offset")

    def __init__(self, real: IReactorTime, scale: float = 1.0, start: float | None = None) -> None:
        if not scale > 0:
            raise ValueError(f"scale: must be above 0, got {scale!r}")
        self.real = real
        self.scale = float(scale)
        #: the reactor time the two clocks are anchored at
        self.real_start = real.seconds()
        #: the simulation time at ``real_start``
        self.start = self.real_start if start is None else float(start)
        #: sim = real * scale + offset: one multiply and one add, the form the
        #: operators use per message (exactly 0 at scale 1 with no ``start``)
        self.offset = self.start - self.real_start * self.scale

    def now(self) -> float:
        """The current simulation time (epoch seconds)."""
        return self.real.seconds() * self.scale + self.offset

    #: so the clock can stand where only ``.seconds()`` is read (timestamps)
    seconds = now

    def to_sim(self, real_time: float) -> float:
        """The simulation time at reactor time ``real_time``."""
        return real_time * self.scale + self.offset

    def to_real(self, sim_time: float) -> float:
        """The reactor time at which simulation time reaches ``sim_time``."""
        return (sim_time - self.offset) / self.scale
