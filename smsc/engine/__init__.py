"""The engine: the business rules behind every front door (SMPP, HTTP,
campaigns), one module per job:

- ``auth``: binds, HTTP logins, the live accounts;
- ``submit``: the submit rules and the charge;
- ``lifecycle``: operators' outcomes, receipts and their durability;
- ``query``: query_sm, cancel_sm, replace_sm, the HTTP lookup;
- ``mo``: MO pick-up; ``recovery``: what a restart resumes;
- ``rules``: the small shared rules; ``port``: ``SmscEngine``, what the
  doors may call.

``Engine`` only wires the jobs together; operators, hubs, the simulation
clock and the store are built by ``smsc.app`` and passed in. Nothing here
knows about sockets or PDU bytes, or which store backend is behind the port.
"""
from __future__ import annotations


from twisted.internet.interfaces import IReactorTime

from ..accounts.throttle import LoginThrottle
from ..config import Config
from ..dlr.hub import DeliveryHub
from ..dlr.mo import MoPart
from ..faults.registry import Faults
from ..metrics import Metrics
from ..operators.clock import SimClock
from ..operators.scheduler import Scheduler
from ..operators.port import Operator
from ..records import Receipt
from ..store.id_blocks import MessageIds
from ..store.port import MessageStore, StorePort
from .auth import Accounts, Verify
from .lifecycle import Lifecycle
from .mo import MoPickup
from .port import SmscEngine
from .query import MessageInfo, Queries
from .recovery import recover
from .rules import QueryAnswer, format_message_id, parse_message_id, receipt_owed, utc_day
from .submit import Submitter

__all__ = [
    "Engine", "MessageInfo", "QueryAnswer", "SmscEngine",
    "format_message_id", "parse_message_id", "receipt_owed", "utc_day",
]


class Engine:
    """Implements ``SmscEngine`` by handing each call to its job (bound
    methods, so the per-message path pays no extra call)."""

    def __init__(
        self,
        *,
        config: Config,
        store: StorePort,
        clock: IReactorTime,
        sim: SimClock,
        scheduler: Scheduler,
        operators: dict[str, Operator],
        receipts: DeliveryHub[Receipt],
        mo: DeliveryHub[MoPart],
        throttle: LoginThrottle,
        ids: MessageIds,
        metrics: Metrics,
        verify: Verify | None = None,
    ) -> None:
        self.sim = sim
        self.operators = operators
        self.receipts = receipts
        self.mo = mo
        self.metrics = metrics
        #: receipts say FAILED / NOREPORT rather than UNDELIV / UNKNOWN
        self.faq_words = config.receipts.faq_words
        #: faults on demand (smsc.faults): polled from the store by smsc.app
        self.faults = Faults(clock, sim, operators, config.simulation.seed or None)
        self.lifecycle = Lifecycle(
            store=store, clock=clock, sim=sim, scheduler=scheduler, operators=operators,
            receipts=receipts, metrics=metrics, faults=self.faults,
        )
        #: message id -> called once it is final (smsc.dlr.callbacks)
        self.final_watchers = self.lifecycle.final_watchers
        accounts = Accounts(store=store, clock=clock, limits=config.limits, throttle=throttle, verify=verify)
        #: the live accounts, by system_id (gauges read it)
        self.accounts = accounts.live
        queries = Queries(
            config=config, store=store, clock=clock, sim=sim, operators=operators, lifecycle=self.lifecycle,
        )
        submitter = Submitter(
            config=config, store=store, clock=clock, sim=sim, operators=operators,
            lifecycle=self.lifecycle, metrics=metrics, ids=ids, withdraw=queries.withdraw_held,
            faults=self.faults,
        )
        #: failed logins of every door (binds, HTTP Basic, API keys, admin token)
        self.throttle = throttle
        self.authenticate = accounts.authenticate
        self.login = accounts.login
        self.account = accounts.account
        self.release = accounts.release
        #: max_binds and the rate across the nodes of a PostgreSQL store
        self.share_limits = accounts.share_limits
        self.submit = submitter.submit
        self.submit_multi = submitter.submit_multi
        self.send = submitter.send
        self.query = queries.query
        self.message = queries.message
        self.cancel = queries.cancel
        self.replace = queries.replace
        self.poll_mo = MoPickup(store=store, hub=mo).poll

    def recover(self, store: MessageStore) -> tuple[int, int]:
        """After a restart, before the listeners open: (resumed, receipts)."""
        return recover(store, self.lifecycle, self.receipts, self.operators.values())


def _conforms(engine: Engine) -> SmscEngine:
    """mypy checks here that Engine implements the port."""
    return engine
