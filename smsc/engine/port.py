"""``SmscEngine``: what the front doors (the SMPP session, HTTP, campaigns)
may ask of the engine, and nothing more (STYLE B8: one injected engine
behind both doors, as aiosmtpd's handler or Twisted's IMessageDelivery)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from twisted.internet.defer import Deferred

from ..accounts.live import LiveAccount
from ..accounts.throttle import LoginThrottle
from ..dlr.hub import DeliverySink
from ..records import BindInfo, Receipt, Replacement, Submission
from .query import MessageInfo
from .rules import QueryAnswer
from .submit import MultiReply, SubmitReply


class SmscEngine(Protocol):
    #: failed logins of every door: binds, HTTP Basic, API keys, admin token
    throttle: LoginThrottle
    #: receipts say the FAQ's FAILED / NOREPORT ([receipts] faq_words)
    faq_words: bool

    # --- who is asking
    def authenticate(self, bind: BindInfo) -> "Deferred[LiveAccount]": ...
    def release(self, live: LiveAccount) -> None: ...
    def login(self, system_id: str, password: str, host: str) -> "Deferred[LiveAccount]": ...
    def account(self, system_id: str, fresh: bool = False) -> "Deferred[LiveAccount | None]": ...

    # --- messages in
    def submit(
        self, live: LiveAccount, sub: Submission, reply: SubmitReply, token: Any,
        origin: DeliverySink[Receipt] | None = None,
    ) -> None: ...
    def submit_multi(
        self, live: LiveAccount, destinations: Sequence[Submission | None], reply: MultiReply,
        token: Any, origin: DeliverySink[Receipt] | None = None,
    ) -> None: ...
    def send(self, live: LiveAccount, sub: Submission, door: str = "http") -> "Deferred[str]": ...

    # --- messages already in
    def query(self, live: LiveAccount, message_id: str, source_addr: str = "") -> "Deferred[QueryAnswer]": ...
    def message(self, live: LiveAccount, message_id: str) -> "Deferred[MessageInfo]": ...
    def cancel(
        self, live: LiveAccount, message_id: str, source_addr: str = "", destination_addr: str = ""
    ) -> "Deferred[None]": ...
    def replace(self, live: LiveAccount, new: Replacement) -> "Deferred[None]": ...
