"""Two real nodes on one PostgreSQL store, over TCP: max_binds and the rate
hold across them, a campaign runs on one node at a time and goes on on the
other when its node is killed -9, and so does a dlr_url callback (README
"Running a cluster")."""
from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clients import PW, RawConn, basic_auth, http_base, http_call
from server_process import ServerProcess, write_config
from smsc.accounts.passwords import hash_password
from smsc.campaigns.store import NewCampaign, NewRecipient
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S
from smsc.records import Account
from smsc.store.postgres import PgStore

#: seconds: a node silent this long is dead (short, so takeover is quick here)
LEASE = 2.5  # the fence comes at 2/3 of it: a busy CI box stalls a store thread for a second


@pytest.fixture
def make_cluster(tmp_path, pg_store_url):
    """``make_cluster(**sections)``: two nodes "n1", "n2" on one store (the
    sections added to their configs), and the store itself."""
    store = PgStore(pg_store_url)
    store.add_account(Account("shop", hash_password(PW), "user", 1_000_000, ("SMSClub",), rate=10.0, max_binds=2))
    started: list[ServerProcess] = []

    def make(**sections: dict) -> tuple[list[ServerProcess], PgStore]:
        for name in ("n1", "n2"):
            cfg = write_config(tmp_path / f"{name}.toml", pg_store_url, cluster={"node": name, "lease": LEASE},
                               **sections)
            started.append(ServerProcess(cfg).start())
        return started, store

    yield make
    for s in started:
        if s.proc is not None and s.proc.poll() is None:
            s.kill()
    store.close()


@pytest.fixture
def cluster(make_cluster):
    return make_cluster()


class Receiver:
    """An HTTP server on 127.0.0.1 recording each POST's JSON body; the
    first ``fail`` get a 500."""

    def __init__(self, fail: int = 0) -> None:
        self.posts: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                receiver.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(500 if len(receiver.posts) <= fail else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def wait(self, n: int, timeout: float = 15.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.posts) < n:
            assert time.monotonic() < deadline, self.posts
            time.sleep(0.02)
        return self.posts

    def close(self) -> None:
        self.http.shutdown()


def bind(node: ServerProcess) -> tuple[RawConn, int]:
    c = RawConn(node.connect_raw())
    return c, c.bind(C.BIND_TRANSCEIVER, "shop", PW).status


def test_max_binds_and_the_rate_hold_across_nodes(cluster):
    (n1, n2), store = cluster
    first, status = bind(n1)
    assert status == S.ESME_ROK
    second, status = bind(n2)
    assert status == S.ESME_ROK
    _, status = bind(n1)  # the binds on n1 and n2 count on n1 and n2 alike
    assert status == S.ESME_RBINDFAIL
    _, status = bind(n2)
    assert status == S.ESME_RBINDFAIL
    # the rate, 10/s: n2 took its slot knowing n1 holds one, so it gives 5/s
    # (its bucket: 5 tokens); a burst of 12 at once gets about 5 through
    statuses = [second.submit(seq, text=b"hi", rd=0)[0] for seq in range(10, 22)]
    assert 4 <= statuses.count(S.ESME_ROK) <= 6, statuses
    assert S.ESME_RTHROTTLED in statuses
    first.sock.close()  # n1's slot comes back: n2 binds again
    deadline = time.monotonic() + 10
    while True:
        third, status = bind(n2)
        if status == S.ESME_ROK or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status == S.ESME_ROK


def test_a_campaign_runs_once_across_nodes_and_survives_its_nodes_death(cluster):
    (n1, n2), store = cluster
    numbers = [f"38067{i:07d}" for i in range(40)]
    cid = store.create_campaign(NewCampaign(
        "c", "shop", "SMSClub", "hi", 8.0, "phone", ("phone",), len(numbers), 0, 0, len(numbers), 0,
        tuple(NewRecipient(n, {"phone": n}, i + 2, "hi") for i, n in enumerate(numbers)),
    ), time.time())
    store.set_campaign_state(cid, ["draft"], "running", "", time.time())
    conn = store._conn
    deadline = time.monotonic() + 20
    holder = None
    while holder is None and time.monotonic() < deadline:
        row = conn.execute("SELECT node, (SELECT count(*) FROM messages) FROM campaigns WHERE id = %s",
                           [cid]).fetchone()
        if row[0] is not None and row[1] >= 5:
            holder = row[0]
        time.sleep(0.05)
    assert holder in ("n1", "n2")
    (n1 if holder == "n1" else n2).kill()  # under way: some sent, most not
    deadline = time.monotonic() + 30
    while store.get_campaign(cid).state != "sent":
        assert time.monotonic() < deadline, "the campaign did not finish on the other node"
        time.sleep(0.2)
    assert conn.execute("SELECT node FROM campaigns WHERE id = %s", [cid]).fetchone()[0] != holder
    sent = Counter(r[0] for r in conn.execute("SELECT msisdn FROM messages WHERE system_id = 'shop'"))
    assert sent == Counter(numbers)  # each number once: nothing twice, nothing left out
    statuses = Counter(r[0] for r in conn.execute(
        "SELECT status FROM campaign_recipients WHERE campaign_id = %s", [cid]))
    assert statuses == {"SENT": len(numbers)}


def test_a_dead_nodes_callback_is_posted_by_the_other_node(make_cluster):
    (n1, n2), store = make_cluster(http={"enabled": True, "port": 0, "callback_backoff": 30.0})
    receiver = Receiver(fail=1)  # the first POST (n1's) fails; n1 would retry in 30 s
    try:
        r = http_call("POST", http_base(n1) + "/api/v1/messages",
                      {"from": "SMSClub", "to": "380671234567", "text": "hi", "dlr_url": receiver.url + "/dlr"},
                      basic_auth("shop", PW))
        assert r.status == 201, r
        [first] = receiver.wait(1)
        assert first["id"] == r.body["id"] and first["status"] == "DELIVRD"
        n1.kill()
        posts = receiver.wait(2, timeout=LEASE + 10)  # adopted by n2 once n1 is past its lease
        assert posts[1] == first
        deadline = time.monotonic() + 5
        while store.pending_callbacks():
            assert time.monotonic() < deadline, "the callback's answer was not recorded"
            time.sleep(0.1)
        time.sleep(1.5)
        assert len(receiver.posts) == 2  # answered: once more, not again
        assert store._conn.execute("SELECT node FROM dlr_callbacks").fetchall() == [("n2",)]
    finally:
        receiver.close()
