"""Self-fencing of a cluster node: a node that cannot renew its heartbeat
stops serving before the others may deem it dead (issue 13).

Other nodes take a node's unfinished messages over once its heartbeat is
``lease`` seconds old (``smsc.engine.cluster``). A node cut off from the
database (a partition, the database down, a store thread stuck on a
commit) would otherwise go on serving from memory: it sends receipts to
its receivers before their final state is written, so a message another
node took over could be receipted twice. So:

- **fence**: when the last heartbeat that succeeded was *sent* more than
  ``FENCE_AFTER`` of the lease ago (the send time: the database's
  ``now()`` of that beat is no earlier, so the node errs early), the node
  fences itself (``on_fence``: the server refuses binds and writes,
  offers no receipts or MO, unbinds its sessions, /health 503), one
  warning line. Checked by a timer at that deadline, not at the next beat:
  a beat stuck behind the store thread never answers at all.
- **back**: a heartbeat succeeds again in time. Its row was kept (nobody
  took this node over: the database was down for every node, or the
  stall was short): the node un-fences (``on_unfence``) and serves again.
- **taken over**: the heartbeat had to make the row anew (the taker
  deletes it with the messages it takes, ``smsc.store.cluster_port.Beat``):
  what this process holds is another node's now. One error line, and
  ``on_taken`` (the server closes its sessions and exits with
  ``TAKEN_OVER``; a supervisor restarts it and it resumes only what is its
  own). The first beat is no exception: ``start_node`` made the row, so a
  new row then too means a takeover in between.

The fence (2/3 of the lease) leaves a third of the lease for the last
beat's round trip and for the others' clocks: they judge by the
database's clock, this node by the reactor's, measured from the send.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime

from ..store.cluster_port import Beat
from ..store.port import NodeState

log = logging.getLogger(__name__)

#: of the lease: a node whose last good heartbeat is older fences itself
FENCE_AFTER = 2 / 3
#: the exit status of a node that found itself taken over (sysexits' EX_TEMPFAIL:
#: a supervisor should start it again)
TAKEN_OVER = 75


class Fence(Collector):
    """Drives one node's heartbeat (``beat``, every third of the lease) and
    fences the node when it cannot renew it; also the collector of
    ``smsc_cluster_fenced``."""

    def __init__(
        self, *, node: str, lease: float, clock: IReactorTime, beat: Callable[[], "Deferred[Beat]"],
        on_fence: Callable[[str], None], on_unfence: Callable[[], None], on_taken: Callable[[], None],
        seen: Callable[[list[NodeState]], None] = lambda nodes: None, last_beat: float | None = None,
    ) -> None:
        """``last_beat``: when the last heartbeat known good was sent (the
        one ``start_node`` made); now when not given."""
        self.node = node
        self.lease = lease
        self.after = lease * FENCE_AFTER
        self._clock = clock
        self._beat = beat
        self._on_fence = on_fence
        self._on_unfence = on_unfence
        self._on_taken = on_taken
        self._seen = seen
        self._last_ok = clock.seconds() if last_beat is None else last_beat
        self._deadline: IDelayedCall | None = None
        self._beating = False
        self._stopped = False
        #: fenced now: why (for /health), "" when serving
        self.reason = ""
        #: the heartbeat found this node taken over (it is exiting)
        self.taken = False

    @property
    def fenced(self) -> bool:
        return bool(self.reason) or self.taken

    def start(self) -> None:
        """Arm the deadline of the last good beat (fences at once if past)."""
        self._arm()

    def stop(self) -> None:
        """The server stops: no more beats, no fence from now on."""
        self._stopped = True
        if self._deadline is not None and self._deadline.active():
            self._deadline.cancel()

    def beat(self) -> None:
        """One heartbeat (the server's timer): one at a time, so beats do
        not pile up behind a store thread that is stuck."""
        if self._beating or self._stopped or self.taken:
            return
        self._beating = True
        sent = self._clock.seconds()

        def done(result: Any) -> None:
            self._beating = False

        self._beat().addCallbacks(self._answered, self._failed, callbackArgs=(sent,)).addBoth(done)

    def _answered(self, beat: Beat, sent: float) -> None:
        if self._stopped:
            return
        self._seen(beat.nodes)
        if not beat.kept:
            self._taken_over()
            return
        if sent > self._last_ok:
            self._last_ok = sent
        self._arm()
        if self.reason and self._clock.seconds() < self._last_ok + self.after:
            log.warning("node %s: heartbeat renewed and nobody took this node over: serving again", self.node)
            self.reason = ""
            self._on_unfence()

    def _failed(self, failure: Any) -> None:
        """A warning until the fence (which says the rest); then INFO, so a
        long outage is not a warning every third of the lease."""
        if not self._stopped:
            (log.info if self.fenced else log.warning)(
                "heartbeat of node %s failed: %s", self.node, failure.getErrorMessage())

    def _arm(self) -> None:
        if self._deadline is not None and self._deadline.active():
            self._deadline.cancel()
        self._deadline = None
        left = self._last_ok + self.after - self._clock.seconds()
        if left > 0:
            self._deadline = self._clock.callLater(left, self._expired)
        else:
            self._expired()

    def _expired(self) -> None:
        self._deadline = None
        if self.reason or self.taken or self._stopped:
            return
        age = self._clock.seconds() - self._last_ok
        self.reason = (f"no heartbeat for {age:.1f} s (fenced after {self.after:.1f} s of the "
                       f"{self.lease:g} s lease): another node may take this one over")
        log.warning("node %s fenced: %s; binds refused, sessions unbound until the heartbeat is back",
                    self.node, self.reason)
        self._on_fence(self.reason)

    def _taken_over(self) -> None:
        self.taken = True
        self.stop()
        if not self.reason:
            self.reason = "taken over by another node"
            self._on_fence(self.reason)
        self.reason = "taken over by another node: exiting"
        log.error("node %s was taken over by another node (its heartbeat row was gone): its work is "
                  "another node's now; closing its sessions and exiting with status %d", self.node, TAKEN_OVER)
        self._on_taken()

    def collect(self) -> Iterable[GaugeMetricFamily]:
        """``smsc_cluster_fenced``: 1 while this node is fenced."""
        yield GaugeMetricFamily("smsc_cluster_fenced", "1 while this node is fenced: its heartbeat is older "
                                "than 2/3 of the lease (or it was taken over); binds are refused.",
                                value=1 if self.fenced else 0)
