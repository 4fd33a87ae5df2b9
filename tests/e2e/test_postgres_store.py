"""PostgreSQL as the store, the way a user runs it: ``smsc store copy`` from
an embedded store with nothing lost, the CLI against ``[store] url``, the
password of the URL never shown; and over TCP, a node on PostgreSQL killed
-9 under load and restarted, every receipt still delivered."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import psycopg

from clients import PW, balance, http_base, http_call, new_user
from server_process import REPO, write_config
from smsc.campaigns import store as campaigns
from smsc.campaigns.store import NewCampaign, NewRecipient, Outcome
from smsc.records import Account, Message
from smsc.store.copy import TABLES
from smsc.store.port import CALLBACK_DONE, RECEIPT_OWED, Batch
from smsc.store.postgres import PgStore
from smsc.store.postgres_cluster import COLUMNS as CLUSTER_COLUMNS
from smsc.store.postgres_limits import CLUSTER_ONLY
from smsc.store.sqlite import Store

from pg import PASSWORD


def run(*args: str, cfg=None) -> subprocess.CompletedProcess[str]:
    pre = ["--config", str(cfg)] if cfg is not None else []
    return subprocess.run([sys.executable, "-m", "smsc", *pre, *args],
                          capture_output=True, text=True, cwd=REPO, timeout=120)


def with_url(cfg, url: str):
    """The config with ``[store] url`` set beside its ``path``."""
    cfg.write_text(cfg.read_text().replace("[store]\n", f'[store]\nurl = "{url}"\n'))
    return cfg


def message(n: int, system_id: str = "shop", cost: int = 42, submit_time: float = 1000.0) -> Message:
    return Message(n, system_id, 5, 0, "Shop", 1, 1, "380671234567", 0, 8, 1, "привіт".encode("utf-16-be"),
                   submit_time, "380671234567", "kyivstar", 1, cost, 5000.0, None)


def fill(s: Store) -> None:
    """One of everything a store keeps."""
    s.add_account(Account("shop", "scrypt$hash1", "user", 10_000, ("Shop", "7090"), rate=5.0, max_binds=3,
                          id_format="decimal", id_width=20, receipt_seconds=True, receipt_tz="Europe/Kyiv"))
    s.add_account(Account("trial", "scrypt$hash2", "test", 200))
    s.add_blacklist("shop", ["380501112233", "380631112233"])
    s.set_api_key("shop", "ab" * 32)
    s.write_batch(Batch(
        inserts=[message(1), message(2), message(3), message(4, "trial", 0)],
        charges={"shop": 126}, usage={("shop", 20000): [3, 3, 126], ("trial", 20000): [1, 1, 0]},
        debits={("shop", 20000): [3, 3, 126]},
    ))
    s.write_batch(Batch(finishes={(2, "DELIVRD", 0, 1002.0, RECEIPT_OWED): [1], (2, "DELIVRD", 0, 1003.0, 2): [2]}))
    s.add_mo("shop", "380671234567", "7090", "СТОП")
    delivered = s.add_mo("shop", "380671234567", "7090", "old")
    s.mo_delivered(delivered)
    s.add_callback(3, "3", "http://127.0.0.1:1/cb")
    s.add_callback(2, "2", "http://127.0.0.1:1/cb")
    s.end_callback(2, CALLBACK_DONE)
    cid = campaigns.create_campaign(s, NewCampaign(
        name="spring", system_id="shop", sender="Shop", template="Hi #name#", rate=10.0, phone_column="phone",
        columns=("phone", "name"), rows_in=3, invalid=0, duplicates=0, estimate_segments=2, estimate_kopecks=84,
        recipients=(NewRecipient("380671000001", {"phone": "380671000001", "name": "Оля"}, 2, "Hi Оля"),
                    NewRecipient("380501112233", {"phone": "380501112233", "name": "B"}, 3, "Hi B", True)),
    ), now=900.0)
    campaigns.set_state(s, cid, ("draft",), "running", now=950.0)
    [claimed] = s.claim_recipients({cid: 1}, 999.0)
    s.record_outcomes([Outcome(cid, claimed.seq, "SENT", 3, "3")])


def snapshot(s) -> dict:
    """Everything a user can read back from a store, through the port."""
    cid = s.list_campaigns()[0].id
    return {
        "accounts": s.list_accounts(),
        "bind": [s.bind_account(a.system_id, 20000) for a in s.list_accounts()],
        "blacklist": s.blacklist("shop"),
        "key": s.api_key_owner("ab" * 32),
        "messages": [s.get_message(n) for n in (1, 2, 3, 4)],
        "owed": s.owed_receipts(),
        "unfinished": s.unfinished_messages(),
        "mo": s.pending_mo(0),
        "callbacks": s.pending_callbacks(),
        "campaigns": s.list_campaigns(),
        "lines": s.campaign_lines(cid),
        "base": s.campaign_base(cid),
        "tallies": sorted(s.campaign_tallies(), key=repr),
        "usage": s.accounts_usage(20000),
    }


def test_store_copy_moves_every_row_and_the_server_goes_on_from_there(tmp_path, pg_url):
    db = tmp_path / "smsc.db"
    src = Store(str(db))
    fill(src)
    before = snapshot(src)
    src.close()

    r = run("store", "copy", "--from", str(db), "--to", pg_url)
    assert r.returncode == 0, r.stderr
    assert PASSWORD not in r.stdout + r.stderr
    assert "smsc:***@127.0.0.1" in r.stdout and "2 accounts" in r.stdout and "4 messages" in r.stdout

    dst = PgStore(pg_url)
    try:
        assert snapshot(dst) == before
        # the rows no reader shows: a delivered MO, an answered callback
        with psycopg.connect(pg_url) as conn:
            assert conn.execute("SELECT text, delivered FROM mo_queue ORDER BY id").fetchall() == [
                ("СТОП", 0), ("old", 1)]
            assert conn.execute("SELECT message_id, state FROM dlr_callbacks ORDER BY 1").fetchall() == [
                (2, CALLBACK_DONE), (3, 0)]
        # ids go on past the copied ones, MO and campaign ids too
        assert dst.message_ids(0.0).start > 4
        assert dst.add_mo("shop", "380671234567", "7090", "new") == 3
        assert dst.create_campaign(NewCampaign(
            name="b", system_id="shop", sender="Shop", template="x", rate=1.0, phone_column="phone",
            columns=("phone",), rows_in=0, invalid=0, duplicates=0, estimate_segments=0, estimate_kopecks=0,
            recipients=()), 1.0) == before["campaigns"][0].id + 1
    finally:
        dst.close()
    # a second copy into a database that has rows: refused, nothing changed
    r = run("store", "copy", "--from", str(db), "--to", pg_url)
    assert r.returncode == 1 and "not empty" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_the_copy_knows_every_table_and_column_of_both_schemas(tmp_path, pg_store_url):
    s = Store(str(tmp_path / "s.db"))
    assert {t: tuple(c) for t, c in s.table_columns().items()} == {t: tuple(c) for t, c in TABLES.items()}
    s.close()
    with psycopg.connect(pg_store_url) as conn:
        found: dict[str, list[str]] = {}
        for table, column in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name NOT IN ('smsc_schema', 'nodes') ORDER BY table_name, ordinal_position"
        ):
            if column not in CLUSTER_COLUMNS.get(table, ()):  # who owns what: PostgreSQL's alone
                found.setdefault(table, []).append(column)
    # what a cluster keeps of who holds what now is its own: not in SQLite, not copied
    for table, columns in CLUSTER_ONLY.items():
        if columns is None:
            del found[table]
        else:
            found[table] = [c for c in found[table] if c not in columns]
    assert {t: tuple(c) for t, c in found.items()} == {t: tuple(c) for t, c in TABLES.items()}


def test_cli_commands_against_a_url_never_show_its_password(tmp_path, pg_store_url):
    cfg = with_url(write_config(tmp_path / "c.toml", tmp_path / "ignored.db", mo={"numbers": {"7090": "shop"}}),
                   pg_store_url)
    outputs = []

    def ok(*args: str) -> str:
        r = run(*args, cfg=cfg)
        outputs.append(r.stdout + r.stderr)
        assert r.returncode == 0, (args, r.stderr)
        return r.stdout

    ok("account", "add", "shop", "--password", "pw123", "--mode", "user", "--balance", "5", "--alpha", "Shop")
    ok("account", "blacklist", "add", "shop", "+380 50 111 22 33")
    assert json.loads(ok("account", "blacklist", "list", "shop", "--json")) == ["380501112233"]
    ok("account", "receipts", "shop", "--id-format", "decimal", "--seconds")
    assert "api key: " in ok("account", "apikey", "shop")
    assert "queued MO" in ok("mo", "inject", "--to", "7090", "--from", "380671234567", "--text", "hi")
    csv = tmp_path / "base.csv"
    csv.write_text("phone\n380671000001\n380501112233\n")
    ok("campaign", "create", "--account", "shop", "--csv", str(csv), "--sender", "Shop", "--text", "Hello")
    listed = json.loads(ok("campaign", "list", "--json"))
    assert len(listed) == 1
    assert not (tmp_path / "ignored.db").exists()  # [store] path is ignored when url is set
    with psycopg.connect(pg_store_url) as conn:
        assert conn.execute("SELECT id_format, receipt_seconds FROM accounts").fetchall() == [("decimal", True)]
        assert conn.execute("SELECT count(*) FROM mo_queue").fetchone() == (1,)
    bad = write_config(tmp_path / "bad.toml", pg_store_url.replace(PASSWORD, "wrong-pw"))
    r = run("account", "list", cfg=bad)
    outputs.append(r.stdout + r.stderr)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert "cannot open the store postgresql://smsc:***@127.0.0.1" in r.stderr
    assert "password authentication failed" in r.stderr
    assert not any(PASSWORD in out or "wrong-pw" in out for out in outputs)


# --- a node on PostgreSQL, over TCP --------------------------------------------------------------

#: submits accepted and receipts in before the kill (the full crash test's, smaller)
KILL_ACCEPTED, KILL_RECEIPTS = 600, 200


def test_a_node_on_postgresql_killed_9_under_load_loses_no_receipt(server_factory, pg_store_url):
    """``smsc serve`` with ``[store] url``: an smpplib client submits and gets
    its receipt; then a pipelining client at a full window, a kill -9, a
    restart on the same database, and every accepted message's receipt
    arrives, none twice; the money charged is the messages stored."""
    from clients import Esme
    from test_crash_tcp import Pipeline

    operators = {"delay_min": 0.05, "delay_max": 0.5, "price": 1}
    srv = server_factory(store=pg_store_url, operators_kyivstar=operators, http={"enabled": True, "port": 0},
                         cluster={"node": "node-a"})
    startup = "".join(srv.output)
    assert "(store postgresql://smsc:***@127.0.0.1:" in startup and PASSWORD not in startup
    health = http_call("GET", http_base(srv) + "/health").body
    assert (health["status"], health["store_writable"], health["node"]) == ("ok", True, "node-a")
    assert [(n["node"], n["alive"]) for n in health["cluster"]] == [("node-a", True)]
    metrics = http_call("GET", http_base(srv) + "/metrics").body
    samples = [line for line in metrics.decode().splitlines() if line and not line.startswith("#")]
    assert samples and all('node="node-a"' in line for line in samples)
    sid = new_user(srv, balance="100")

    esme = Esme(srv.port)
    esme.bind("transceiver", sid, PW)
    esme.submit(b"hello from a node on PostgreSQL")
    esme.pump_until(lambda: len(esme.receipts) == 1)
    assert [r.receipted_message_id.decode() for r in esme.receipts] == esme.message_ids()
    esme.close()

    c = Pipeline(srv.port, sid)
    while len(c.accepted) < KILL_ACCEPTED or len(c.receipts) < KILL_RECEIPTS:
        c.fill()
        assert c.read(), "the server closed the link before the kill"
    c.fill()
    srv.kill()
    while c.read():
        pass
    in_flight = len(c.outstanding)
    before = set(c.receipts)
    assert len(before) == len(c.receipts) and len(before) < len(c.accepted)

    # the same node name: a restart, which resumes its own unfinished messages
    # (another name would be another node, taking them over after the lease)
    srv2 = server_factory(store=pg_store_url, operators_kyivstar=operators, cluster={"node": "node-a"})
    after = Pipeline(srv2.port, sid, 0x00000001)  # a receiver
    missing = set(c.accepted) - before
    quiet, deadline = 0, time.monotonic() + 30
    while quiet < 2 and time.monotonic() < deadline:
        n = len(after.receipts)
        assert after.read(), "the server closed the receiver"
        quiet = quiet + 1 if len(after.receipts) == n and missing <= set(after.receipts) else 0
    again = set(after.receipts)
    assert len(after.receipts) == len(again), "a receipt came twice after the restart"
    assert missing <= again, f"{len(missing - again)} accepted messages lost their receipt"
    unknown = again - set(c.accepted)
    assert len(unknown) <= in_flight, (len(unknown), in_flight)
    # one kopeck per message: the smpplib one, the accepted ones, and any whose answer the kill swallowed
    assert 10_000 - balance(srv2, sid) == 1 + len(set(c.accepted) | unknown)
    with psycopg.connect(pg_store_url) as conn:
        assert conn.execute("SELECT count(*), sum(cost) FROM messages WHERE system_id = %s", [sid]).fetchone() == (
            1 + len(set(c.accepted) | unknown), 1 + len(set(c.accepted) | unknown))
