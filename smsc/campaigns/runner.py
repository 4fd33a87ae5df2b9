"""Sends running campaigns through the engine, inside the server process.

``CampaignRunner.tick`` runs every ``TICK`` seconds (a LoopingCall made in
``smsc.app.build``). Each tick reads the running campaigns through the
store port, claims as many PENDING recipients of each as its rate allows
(marking them SENDING), submits each through ``smsc.submission.submit`` —
the engine path SMPP traffic takes, so the same text, sender, route, limit
and balance rules and the same billing apply — and records what became of
them in one store job. A campaign with nothing left to send becomes
``sent``; the messages' final states are read from the ``messages`` table
by the reports, nothing is pushed here.

Decisions:

* Rate: a token bucket per campaign (``rate`` messages/s, burst 0.2 s
  worth, at least one), kept in memory: a restart starts it full again.
  The account's own rate limit still applies: a submit refused with
  ESME_RTHROTTLED (the account's rate, or a test account's daily cap) goes
  back to PENDING and the campaign waits ``THROTTLE_WAIT`` seconds; so does
  ESME_RMSGQFUL (router mode: the upstream's queue is at its bound).
* Insufficient funds (``[billing] insufficient_funds_status``) puts the
  recipient back to PENDING and pauses the campaign, saying why;
  ``smsc campaign start`` resumes it after a top-up.
* A number blacklisted since the campaign was made is SKIPPED here (the
  engine would accept it and end it UNDELIV at no charge; a campaign
  reports it as skipped, as it does the numbers blacklisted at creation).
* Any other refusal (no route, too long, sender no longer allowed) is the
  recipient's REFUSED with the status name and the rule's sentence as
  ``detail`` (``ESME_RINVDSTADR: no route for 380441234567``); the campaign goes on.
* Several nodes on one PostgreSQL store (``node`` and ``lease`` given):
  a campaign runs on one node at a time, the one holding its lease
  (``StorePort.lease_campaigns``, taken or renewed every round, the
  database's clock). A dead node's campaigns are taken within the lease
  and go on from where it stopped: the recipients it left SENDING are
  settled by the new holder as a restart settles its own (only for the
  campaigns it takes, never for one another node is sending). The
  recipients' claim is ``FOR UPDATE SKIP LOCKED``, so even two holders at
  once (a node that stalled past its lease) never claim one recipient
  twice; a submit such a stalled node had in flight when its campaign was
  settled elsewhere may be sent again.
* Restart: running campaigns resume by themselves (their state is in the
  store). A kill between a submit's commit and the runner's record leaves
  the recipient SENDING; the first tick after a start settles those with
  ``store.settle`` (the message is looked up, so it is not sent
  twice). A graceful stop stops the tick first; submits in flight are
  committed by the store's flush and settled the same way on the next start.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred, gatherResults

from ..accounts.limits import TokenBucket
from ..accounts.live import LiveAccount
from ..accounts.money import format_uah
from ..engine import SmscEngine
from ..pdu.constants import CommandStatus
from ..pdu.errors import SmppError
from ..store.port import StorePort, Unsettled
from ..submission import of_text
from . import store as campaigns

log = logging.getLogger(__name__)

#: seconds between ticks while a campaign runs
TICK = 0.1
#: seconds between looks at the store while none runs: a started campaign
#: is picked up within this (an idle server's store thread, busy with SMPP
#: commits, gets one small read a second instead of ten)
IDLE_LOOK = 1.0
#: seconds of tokens a campaign's bucket holds
BURST_SECONDS = 0.2
#: seconds a campaign waits after the account's limit refused a submit
THROTTLE_WAIT = 0.5


class CampaignRunner:
    def __init__(
        self, engine: SmscEngine, worker: StorePort, funds_status: int, now: Callable[[], float],
        sim_now: Callable[[], float], *, node: str = "", lease: float = 0.0,
    ) -> None:
        """``node`` and ``lease`` (seconds): run only the campaigns this node
        holds the lease of (PostgreSQL, several nodes); without them every
        running campaign (the only node)."""
        self._engine = engine
        self._sim_now = sim_now
        self._worker = worker
        self._funds_status = funds_status
        self._now = now
        self._buckets: dict[int, TokenBucket] = {}
        #: campaign id -> real time before which it sends nothing (throttled)
        self._waiting: dict[int, float] = {}
        self._recovered = False
        self._lives: dict[str, LiveAccount] = {}
        #: real time before which an idle runner does not look again
        self._idle_until = 0.0
        self._node = node
        self._lease = lease
        #: campaigns whose lease this runner held in its last round
        self._held: set[int] = set()

    def tick(self) -> Deferred:
        """One round; a LoopingCall waits for it, and it never fails (a
        failed LoopingCall would stop sending for good)."""
        d = Deferred.fromCoroutine(self._round())
        d.addErrback(lambda f: log.error("campaign runner: %s", f.getTraceback()))
        return d

    async def _round(self) -> None:
        if self._lease:
            if self._now() < self._idle_until:
                return
            running = await self._worker.lease_campaigns(self._node, self._lease)
            taken = {c.id for c in running} - self._held
            self._held = {c.id for c in running}
            if taken:
                await self._settle(taken)
            await self._run(running)
            return
        if not self._recovered:
            settled = campaigns.settle(await self._worker.unsettled_sends())
            if settled:
                await self._worker.record_outcomes(settled)
            found = sum(o.status == campaigns.SENT for o in settled)
            requeued = len(settled) - found
            if found or requeued:
                log.info("campaigns: %d recipients found sent, %d to send again after a restart",
                         found, requeued)
            self._recovered = True
        if self._now() < self._idle_until:
            return
        await self._run(await self._worker.running_campaigns())

    async def _settle(self, campaign_ids: set[int]) -> None:
        """Settle the SENDING recipients of campaigns this node just took
        (from a dead node, or its own from before a restart)."""
        unsettled = await self._worker.unsettled_sends()
        mine = tuple(r for r in unsettled.recipients if r.campaign_id in campaign_ids)
        settled = campaigns.settle(Unsettled(mine, unsettled.taken))
        if settled:
            await self._worker.record_outcomes(settled)
            found = sum(o.status == campaigns.SENT for o in settled)
            log.info("campaigns %s taken by node %s: %d recipients found sent, %d to send again",
                     ", ".join(map(str, sorted(campaign_ids))), self._node, found, len(settled) - found)

    async def _run(self, running: list[campaigns.Campaign]) -> None:
        self._idle_until = 0.0 if running else self._now() + IDLE_LOOK
        wants, fresh = self._budget(running)
        for system_id in fresh:
            # (re)started: have the engine read the account back (a top-up
            # made for this start) before the next round submits anything
            await self._account(system_id, fresh=True)
        if not wants:
            return
        claimed = await self._worker.claim_recipients(wants, self._sim_now())
        by_id = {c.id: c for c in running}
        for c in running:  # tokens not used: fewer PENDING left than the rate allowed
            unused = wants.get(c.id, 0) - sum(1 for r in claimed if r.campaign_id == c.id)
            if unused > 0:
                self._buckets[c.id].give_back(unused)
        if not claimed:
            return
        lives = {sid: await self._account(sid) for sid in {by_id[r.campaign_id].system_id for r in claimed}}
        pauses: dict[int, str] = {}  # campaign id -> why it stops
        outcomes: list[campaigns.Outcome] = await gatherResults([
            Deferred.fromCoroutine(self._send(c, lives[c.system_id], r, pauses))
            for r in claimed for c in (by_id[r.campaign_id],)
        ])
        await self._worker.record_outcomes(outcomes, pauses)
        for paused in pauses:
            # Forget its bucket now, not when a round sees it paused: a
            # top-up and a 'start' may come before the next round, and the
            # resumed campaign must begin fresh (balance read back first)
            # rather than send on the old balance and pause again.
            self._buckets.pop(paused, None)
            self._waiting.pop(paused, None)

    async def _account(self, system_id: str, fresh: bool = False) -> LiveAccount | None:
        """The engine's live account (one per system_id for the whole run,
        kept up to date by the engine after commits); ``fresh`` reads it back now."""
        live = None if fresh else self._lives.get(system_id)
        if live is None:
            live = await self._engine.account(system_id, fresh=fresh)
            if live is not None:
                self._lives[system_id] = live
        return live

    def _budget(self, running: list[campaigns.Campaign]) -> tuple[dict[int, int], set[str]]:
        """Campaign id -> recipients it may send now (0: only check whether
        it is done), and the accounts of campaigns seen running for the
        first time (they send from the next round on)."""
        now = self._now()
        wants: dict[int, int] = {}
        fresh: set[str] = set()
        for c in running:
            bucket = self._buckets.get(c.id)
            if bucket is None or bucket.rate != c.rate:
                self._buckets[c.id] = TokenBucket(c.rate, max(1.0, c.rate * BURST_SECONDS), now)
                fresh.add(c.system_id)
                wants[c.id] = 0
                continue
            if self._waiting.get(c.id, 0.0) > now:
                continue
            n = 0
            while bucket.take(now):
                n += 1
            wants[c.id] = n
        for gone in set(self._buckets) - {c.id for c in running}:
            del self._buckets[gone]  # paused or sent: a resume starts a fresh bucket
            self._waiting.pop(gone, None)
        return wants, fresh

    async def _send(
        self, c: campaigns.Campaign, live: LiveAccount | None, r: campaigns.Claimed,
        pauses: dict[int, str],
    ) -> campaigns.Outcome:
        if live is None:
            return campaigns.Outcome(c.id, r.seq, campaigns.REFUSED, detail=f"no account {c.system_id}")
        if r.msisdn in live.blacklist:
            return campaigns.Outcome(c.id, r.seq, campaigns.SKIPPED, detail="blacklisted")
        try:
            message_id: str = await self._engine.send(live, of_text(c.sender, r.msisdn, r.text), door="campaign")
        except SmppError as exc:
            return self._refused(c, live, r, exc, pauses)
        n = live.id_format.parse(message_id)
        return campaigns.Outcome(c.id, r.seq, campaigns.SENT, n, message_id)

    def _refused(
        self, c: campaigns.Campaign, live: LiveAccount, r: campaigns.Claimed, exc: SmppError,
        pauses: dict[int, str],
    ) -> campaigns.Outcome:
        """A refusal that is the recipient's (REFUSED) or the campaign's
        (PENDING again: throttled, or paused for money)."""
        if exc.status == self._funds_status:
            pauses[c.id] = (
                f"insufficient funds (balance {format_uah(live.available)} UAH): "
                f"top up and run 'smsc campaign start {c.id}'"
            )
            return campaigns.Outcome(c.id, r.seq, campaigns.PENDING)
        if exc.status in (CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL):  # RMSGQFUL: an upstream's queue
            self._waiting[c.id] = self._now() + THROTTLE_WAIT
            return campaigns.Outcome(c.id, r.seq, campaigns.PENDING)
        name = _name(exc.status)
        detail = name if exc.detail in ("", name) else f"{name}: {exc.detail}"
        return campaigns.Outcome(c.id, r.seq, campaigns.REFUSED, detail=detail)


def _name(status: Any) -> str:
    try:
        return CommandStatus(status).name
    except ValueError:
        return f"status 0x{int(status):08x}"
