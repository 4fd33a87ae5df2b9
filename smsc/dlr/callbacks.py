"""dlr_url callbacks: the final state of an HTTP message POSTed to the
client's URL.

The URL is stored (``dlr_callbacks``) before the API answers 201, and the
engine calls ``final`` when the message reaches its final state (its
``final_watchers`` hook, consulted only while this module has messages
waiting, so SMPP traffic pays nothing). The body is read from the
committed row with the same view as ``GET /api/v1/messages/{id}``, so a
poll and the callback agree. A 2xx answer ends it; anything else (another
status, a refused connection, a timeout) is retried after ``backoff``
seconds, doubling, ``retries`` times, then given up and logged. Both ends
are written to the store, so after a restart (``recover``) only pending
callbacks are sent: one whose message became final before a kill -9 goes
out at start, the others when their resumed message ends. A callback
answered in the last moment before a kill -9 may come twice; none is lost.

Several nodes on one PostgreSQL store (``node`` and ``lease`` given): a
callback is posted by the node that took the message (its row names it);
a restart reads back only its own. Every ``POLL`` seconds each node adopts
the pending callbacks of nodes that are dead (heartbeat older than the
lease) or stopped, each by one node (row locks, ``SKIP LOCKED``), and posts
them once their message is final, wherever it was finished (the adopted
ones are looked up in the store; its own it hears of from its engine). A
callback a node posted and had answered just before it died may come twice
(as across a kill -9 on one node); none is lost.

Logs name the URL without its query string (which may hold a client's
secret).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from io import BytesIO
from typing import Any
from urllib.parse import urlsplit

from twisted.internet.defer import Deferred
from twisted.web.client import Agent, FileBodyProducer, readBody
from twisted.web.http_headers import Headers

from ..store.port import CALLBACK_DONE, CALLBACK_GIVEN_UP, MessageStore, StoredMessage, StorePort
from .view import callback_payload, message_view

log = logging.getLogger(__name__)

#: the longest dlr_url taken
MAX_URL_LENGTH = 2048
#: seconds between looks for callbacks of dead nodes (several nodes only)
POLL = 1.0


def check_url(url: str) -> str:
    """A dlr_url must be an absolute http(s) URL; ValueError saying why not."""
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"longer than {MAX_URL_LENGTH} characters")
    if not url.isascii() or any(c <= " " for c in url):
        raise ValueError("must be ASCII without spaces (percent-encode the rest)")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ValueError(f"not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return url


def loggable(url: str) -> str:
    """``url`` without its query string, fragment or credentials."""
    p = urlsplit(url)
    host = p.hostname or ""
    return f"{p.scheme}://{host}{f':{p.port}' if p.port else ''}{p.path}"


class CallbackSender:
    def __init__(
        self, *, watchers: dict[int, Callable[[int], None]], worker: StorePort, reactor: Any,
        now: Callable[[], float], retries: int, backoff: float, timeout: float,
        agent: Any = None, node: str = "", lease: float = 0.0,
    ) -> None:
        """``node`` and ``lease``: one of several nodes sharing the store
        (see the module's doc); without them, the only one."""
        #: the engine's final-state hook (``Engine.final_watchers``)
        self._watchers = watchers
        self._worker = worker
        self._reactor = reactor
        self._now = now
        self._retries = retries
        self._backoff = backoff
        self._timeout = timeout
        self._agent = agent or Agent(reactor, connectTimeout=timeout)
        #: message id -> (public id, url), until its delivery starts
        self._waiting: dict[int, tuple[str, str]] = {}
        #: callbacks a restart found pending, checked once the store runs
        self._recovered: list[int] = []
        self._timers: dict[int, Any] = {}
        self._stopped = False
        self._node = node
        self._lease = lease
        #: callbacks adopted from dead nodes, not sent yet: their messages
        #: may end on any node, so the store is asked (``adopt``)
        self._adopted: set[int] = set()
        self._adopting = False

    def watch(self, message_id: int, public_id: str, url: str) -> None:
        """Send the final state of ``message_id`` to ``url`` (its row in
        dlr_callbacks is the caller's to write)."""
        self._waiting[message_id] = (public_id, url)
        self._watchers[message_id] = self.final

    def recover(self, store: MessageStore) -> int:
        """Before the engine resumes messages: watch every pending callback
        again. Returns how many."""
        rows = store.pending_callbacks(self._node if self._lease else "")
        for message_id, public_id, url in rows:
            self.watch(message_id, public_id, url)
            self._recovered.append(message_id)
        return len(rows)

    def start(self) -> None:
        """Once the store thread runs: send those whose message ended
        before the restart (the others wait for their final state)."""
        recovered, self._recovered = self._recovered, []
        for message_id in recovered:
            self._read(message_id, only_final=True)

    def adopt(self) -> None:
        """Every ``POLL`` seconds with several nodes: take the pending
        callbacks of dead nodes, and send the adopted ones whose message
        is final now (a LoopingCall; never fails, one at a time)."""
        if self._stopped or not self._lease or self._adopting:
            return
        self._adopting = True
        node = self._node

        def adopted(rows: list[Any]) -> Any:
            for message_id, public_id, url in rows:
                if message_id not in self._waiting:
                    self.watch(message_id, public_id, url)
                    self._adopted.add(message_id)
            if rows:
                log.info("node %s adopted %d callbacks of nodes gone", node, len(rows))
            if self._adopted:
                return self._worker.due_callbacks(node).addCallback(due)
            return None

        def due(ids: list[int]) -> None:
            for message_id in ids:
                if message_id in self._adopted:
                    self._read(message_id, only_final=True)

        def done(result: Any) -> None:
            self._adopting = False
            if result is not None:
                log.warning("callbacks of nodes gone not adopted: %s", result.getErrorMessage())

        self._worker.adopt_callbacks(node, self._lease).addCallback(adopted).addBoth(done)

    def stop(self) -> None:
        self._stopped = True
        for call in self._timers.values():
            if call.active():
                call.cancel()
        self._timers.clear()

    def final(self, message_id: int) -> None:
        """The engine's hook: ``message_id`` reached its final state (the
        write is queued; the read below comes after its commit)."""
        self._read(message_id, only_final=False)

    def _read(self, message_id: int, only_final: bool) -> None:
        d = self._worker.committed_message(message_id)

        def got(found: StoredMessage | None) -> None:
            entry = self._waiting.get(message_id)
            if entry is None:  # already on its way
                return
            if found is None or found.done_time is None:
                if not only_final:
                    log.error("callback for message %s: no final state stored; not sent", entry[0])
                    self._waiting.pop(message_id, None)
                return
            self._waiting.pop(message_id)
            self._watchers.pop(message_id, None)
            self._adopted.discard(message_id)
            public_id, url = entry
            view = message_view(found, public_id, self._now())
            body = json.dumps(callback_payload(view)).encode()
            self._send(message_id, public_id, url, body, 0)

        d.addCallback(got).addErrback(
            lambda f: log.error("callback for message %s: store read failed: %s",
                                self._public_id(message_id), f.getErrorMessage()))

    def _public_id(self, message_id: int) -> str:
        """The id the client has for ``message_id``, as logs name it."""
        entry = self._waiting.get(message_id)
        return entry[0] if entry is not None else str(message_id)

    def _send(self, message_id: int, public_id: str, url: str, body: bytes, attempt: int) -> None:
        """POST ``body``; ``public_id`` is the message's id as the client
        sees it (the logs name it so: the one the customer can quote)."""
        self._timers.pop(message_id, None)
        if self._stopped:
            return
        headers = Headers({b"content-type": [b"application/json"], b"user-agent": [b"smsc"]})
        d: Deferred = self._agent.request(b"POST", url.encode("ascii"), headers, FileBodyProducer(BytesIO(body)))
        d.addTimeout(self._timeout, self._reactor)
        d.addCallback(lambda response: readBody(response).addCallback(lambda _: response.code))

        def answered(code: int) -> None:
            if 200 <= code < 300:
                self._worker.end_callback(message_id, CALLBACK_DONE)
            else:
                retry(f"HTTP {code}")

        def retry(why: str) -> None:
            if self._stopped:
                return
            if attempt >= self._retries:
                log.warning("callback for message %s to %s given up after %d attempts: %s",
                            public_id, loggable(url), attempt + 1, why)
                self._worker.end_callback(message_id, CALLBACK_GIVEN_UP)
                return
            delay = self._backoff * 2 ** attempt
            log.info("callback for message %s to %s failed (%s); retry in %.1f s",
                     public_id, loggable(url), why, delay)
            self._timers[message_id] = self._reactor.callLater(
                delay, self._send, message_id, public_id, url, body, attempt + 1)

        d.addCallbacks(answered, lambda f: retry(f.getErrorMessage() or f.type.__name__))
