"""Campaigns end to end: the real CLI makes them from a CSV, the real server
sends them through its engine, reports read what happened per number."""
from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from clients import PW
from server_process import write_config

from smsc import config as config_mod
from smsc.campaigns.store import campaign_report, get_campaign
from smsc.cli import main
from smsc.store.sqlite import Store

RULES = [{"suffix": "0001", "outcome": "UNDELIV"}, {"suffix": "0002", "outcome": "REJECTD"}]
LONG = "L" * 150  # "Dear L..., your code is 42" is 2 GSM segments

UPLOAD = "\n".join([
    "phone;name",                  # 1
    "+380 67 100 0001;Ivan",       # 2: kyivstar, ends UNDELIV
    "0671000001;Dup",              # 3: the same number
    "380 50 100 0002;Олена",       # 4: vodafone, UCS-2, ends REJECTD
    "067 100 0003;Petro",          # 5: kyivstar
    "+380671000003;Petro again",   # 6: the same number
    "12345;Bad",                   # 7: not a number
    "0931000004;Black",            # 8: lifecell, blacklisted
    f"0501000006;{LONG}",          # 9: vodafone, 2 segments
]) + "\n"
TEMPLATE = "Dear #name#, your code is 42"
#: kyivstar 42 + vodafone 40 + kyivstar 42 + vodafone 2 x 40 (shipped prices)
CHARGE = 42 + 40 + 42 + 2 * 40


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def smsc(config: Path, *args: str, check: bool = True) -> Ran:
    """``smsc --config CONFIG ARGS`` run in this process (the CLI's own
    ``main``): a subprocess costs ~2 s of imports on this machine, so only
    the steps a user starts a campaign with go through ``server.cli``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["--config", str(config), *args])
    if check:
        assert rc == 0, (args, out.getvalue(), err.getvalue())
    return Ran(rc, out.getvalue(), err.getvalue())


def store_path(server) -> str:
    return config_mod.load(server.config).store.path


def report(server, campaign_id: int, status: str | None = None):
    """The reports page's view (the contract API), read as the page would."""
    s = Store(store_path(server))
    try:
        found = campaign_report(s, campaign_id, status)
        detail = get_campaign(s, campaign_id).detail if found else ""
    finally:
        s.close()
    assert found is not None
    return found[0], found[1], detail


def wait_for(server, campaign_id: int, done, timeout: float = 20.0):
    """Poll the report until ``done(summary)``; (summary, lines, detail)."""
    deadline = time.monotonic() + timeout
    while True:
        got = report(server, campaign_id)
        if done(got[0]):
            return got
        assert time.monotonic() < deadline, (got[0], got[2], "".join(server.output[-20:]))
        time.sleep(0.1)


def wait_final(server, campaign_id: int):
    """Until the campaign is sent and no number is PENDING or ENROUTE."""
    summary, lines, _ = wait_for(server, campaign_id, lambda s: (
        s.state == "sent" and not s.counts["PENDING"] and not s.counts["ENROUTE"]))
    return summary, lines


_users = iter(range(1000))


def new_user(config: Path, balance: str = "100") -> str:
    system_id = f"c{next(_users)}"
    smsc(config, "account", "add", system_id, "--password", PW, "--mode", "user",
         "--balance", balance, "--alpha", "SMSClub")
    return system_id


def balance(config: Path, system_id: str) -> int:
    return json.loads(smsc(config, "account", "show", system_id, "--json").stdout)["balance_kopecks"]


def created_id(stdout: str) -> int:
    m = re.search(r"campaign (\d+) created", stdout)
    assert m, stdout
    return int(m.group(1))


def create(config: Path, system_id: str, upload: Path, *extra: str) -> int:
    return created_id(smsc(config, "campaign", "create", "--account", system_id, "--csv", str(upload),
                           "--sender", "SMSClub", "--text", "Sale!", *extra).stdout)


def numbered_csv(path: Path, n: int, start: int = 1100000) -> Path:
    path.write_text("phone\n" + "".join(f"067{start + i:07d}\n" for i in range(n)))
    return path


def messages(server, sql: str, *params) -> list[tuple]:
    db = sqlite3.connect(store_path(server))
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def test_campaign_from_csv_upload_to_report_and_clean(server_factory, tmp_path):
    server = server_factory(rules=RULES)
    cfg = server.config
    sid = new_user(cfg, balance="10")
    smsc(cfg, "account", "blacklist", "add", sid, "093 100 00 04")
    upload = tmp_path / "clients.csv"
    upload.write_text(UPLOAD, encoding="utf-8")

    # the user's steps as a subprocess: python -m smsc campaign create / start
    out = server.cli("campaign", "create", "--account", sid, "--csv", str(upload),
                     "--sender", "SMSClub", "--text", TEMPLATE, process=True).stdout
    assert "8 in, 5 kept (2 duplicates removed, 1 invalid)" in out
    assert re.search(r"invalid line 7: .*'12345'", out), out
    assert "estimate: 5 recipients: 4 to send (5 segments, 2.04 UAH), 1 blacklisted" in out
    assert "1 segment(s) x 3, 2 segment(s) x 1" in out
    cid = created_id(out)
    summary, lines, _ = report(server, cid)
    assert (summary.state, summary.recipients, summary.counts["PENDING"], summary.counts["SKIPPED"]) == (
        "draft", 5, 4, 1)
    time.sleep(0.3)
    assert report(server, cid)[0].counts["PENDING"] == 4  # a draft is not sent
    before = balance(cfg, sid)

    assert "running" in server.cli("campaign", "start", str(cid), process=True).stdout
    summary, lines = wait_final(server, cid)

    by_number = {x.msisdn: x for x in lines}
    assert [x.msisdn for x in lines] == [
        "380671000001", "380501000002", "380671000003", "380931000004", "380501000006"]
    assert {m: (x.status, x.text) for m, x in by_number.items()} == {
        "380671000001": ("UNDELIV", "Dear Ivan, your code is 42"),
        "380501000002": ("REJECTD", "Dear Олена, your code is 42"),
        "380671000003": ("DELIVRD", "Dear Petro, your code is 42"),
        "380931000004": ("SKIPPED", "Dear Black, your code is 42"),
        "380501000006": ("DELIVRD", f"Dear {LONG}, your code is 42"),
    }
    assert by_number["380931000004"].message_id is None
    ids = [x.message_id for x in lines if x.status != "SKIPPED"]
    assert len(set(ids)) == 4 and all(re.fullmatch(r"[0-9a-f]+", i) for i in ids)
    assert summary.cost_kopecks == CHARGE
    assert before - balance(cfg, sid) == CHARGE
    assert {k: v for k, v in summary.counts.items() if v} == {
        "DELIVRD": 2, "UNDELIV": 1, "REJECTD": 1, "SKIPPED": 1}

    # what the engine stored: one message per number, under the id the report shows
    rows = messages(server, "SELECT printf('%x', id), msisdn, source_addr, segments, cost FROM messages "
                            "WHERE system_id = ? ORDER BY id", sid)
    assert rows == [
        (by_number["380671000001"].message_id, "380671000001", "SMSClub", 1, 42),
        (by_number["380501000002"].message_id, "380501000002", "SMSClub", 1, 40),
        (by_number["380671000003"].message_id, "380671000003", "SMSClub", 1, 42),
        (by_number["380501000006"].message_id, "380501000006", "SMSClub", 2, 80),
    ]

    # the CLI's report: filtered, as CSV and as JSON; status
    undeliv = smsc(cfg, "campaign", "report", str(cid), "--status", "undeliv", "--csv").stdout
    parsed = list(csv.DictReader(io.StringIO(undeliv)))
    assert [(r["msisdn"], r["status"], r["message_id"], r["text"]) for r in parsed] == [
        ("380671000001", "UNDELIV", by_number["380671000001"].message_id, "Dear Ivan, your code is 42")]
    full = json.loads(smsc(cfg, "campaign", "report", str(cid), "--json").stdout)
    assert full["counts"]["SKIPPED"] == 1 and full["cost_kopecks"] == CHARGE
    assert [(x["msisdn"], x["status"]) for x in full["lines"]] == [(x.msisdn, x.status) for x in lines]
    text = smsc(cfg, "campaign", "status", str(cid)).stdout
    assert "sent" in text and "charged 2.04 UAH (estimate 2.04 UAH)" in text

    # cleaning the base (a subprocess again: the command a user runs)
    export = tmp_path / "bad.csv"
    cleaned = server.cli("campaign", "clean", str(cid), "--export", str(export), "--remove", process=True).stdout
    assert "2 numbers with status REJECTD or UNDELIV written to" in cleaned
    assert "2 numbers with status REJECTD or UNDELIV removed" in cleaned
    assert export.read_text(encoding="utf-8").splitlines() == [
        "phone,status,name", "380671000001,UNDELIV,Ivan", "380501000002,REJECTD,Олена"]
    summary, lines, _ = report(server, cid)
    assert summary.recipients == 3 and [x.msisdn for x in lines] == [
        "380671000003", "380931000004", "380501000006"]
    # the cleaned base makes the next campaign
    again = smsc(cfg, "campaign", "create", "--account", sid, "--from-campaign", str(cid),
                 "--sender", "SMSClub", "--text", "Bye #name#").stdout
    assert "3 in, 3 kept (0 duplicates removed, 0 invalid)" in again and "1 blacklisted" in again
    _, lines, _ = report(server, created_id(again))
    assert [(x.msisdn, x.status, x.text) for x in lines][:2] == [
        ("380671000003", "PENDING", "Bye Petro"), ("380931000004", "SKIPPED", "Bye Black")]


def test_a_missing_value_or_unknown_column_stores_nothing(tmp_path):
    cfg = write_config(tmp_path / "c.toml", tmp_path / "s.db")
    sid = new_user(cfg)
    upload = tmp_path / "holes.csv"
    upload.write_text("phone;name;city\n0671000001;Ivan;Kyiv\n0671000002;;Lviv\n0671000003;Olha;\n")
    for text, needles in [
        ("Hi #name# from #city#", ["2 missing value(s), nothing stored",
                                   "line 3 (380671000002): no value for #name#",
                                   "line 4 (380671000003): no value for #city#"]),
        ("Hi #nmae#", ["#nmae# (did you mean #name#?)"]),
    ]:
        r = smsc(cfg, "campaign", "create", "--account", sid, "--csv", str(upload), "--sender", "SMSClub",
                 "--text", text, check=False)
        assert r.returncode == 1, r.stdout
        err = r.stderr.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("smsc: error: --text: "), r.stderr
        for needle in needles:
            assert needle in err[0]
    for args, needle in [
        (("--account", "ghost", "--sender", "SMSClub"), "no account ghost"),
        (("--account", sid, "--sender", "NotMine"), "--sender NotMine: sender 'NotMine' is not registered"),
        (("--account", sid, "--sender", "SMSClub", "--rate", "0"), "--rate 0.0: must be above 0"),
    ]:
        r = smsc(cfg, "campaign", "create", "--csv", str(upload), "--text", "Hi", *args, check=False)
        assert r.returncode == 1 and needle in r.stderr, r.stderr
    r = smsc(cfg, "campaign", "create", "--account", sid, "--csv", str(tmp_path / "nope.csv"),
             "--sender", "SMSClub", "--text", "Hi", check=False)
    assert r.returncode == 1 and "nope.csv: No such file" in r.stderr
    assert json.loads(smsc(cfg, "campaign", "list", "--json").stdout) == []
    r = smsc(cfg, "campaign", "start", "7", check=False)
    assert r.returncode == 1 and "no campaign 7" in r.stderr


def test_the_rate_is_respected(server_factory, tmp_path):
    server = server_factory()
    sid = new_user(server.config)
    cid = create(server.config, sid, numbered_csv(tmp_path / "forty.csv", 40), "--rate", "20")
    # blacklisted after the campaign was made: skipped when its turn comes
    smsc(server.config, "account", "blacklist", "add", sid, "0671100039")
    smsc(server.config, "campaign", "start", str(cid))
    summary, lines = wait_final(server, cid)
    assert (summary.counts["DELIVRD"], summary.counts["SKIPPED"]) == (39, 1)
    assert (lines[-1].msisdn, lines[-1].status, lines[-1].detail) == ("380671100039", "SKIPPED", "blacklisted")
    [(first, last)] = messages(server, "SELECT min(submit_time), max(submit_time) FROM messages")
    # 40 at 20/s with a burst of 4: at least 1.8 s from the first to the last
    assert last - first >= 1.5, last - first


def test_insufficient_funds_pauses_and_start_resumes(server_factory, tmp_path):
    server = server_factory()
    cfg = server.config
    sid = new_user(cfg, balance="1.00")  # two messages at 42 kopecks
    cid = create(cfg, sid, numbered_csv(tmp_path / "five.csv", 5))
    smsc(cfg, "campaign", "start", str(cid))
    summary, _, detail = wait_for(server, cid, lambda s: s.state == "paused")
    assert "insufficient funds" in detail and f"smsc campaign start {cid}" in detail
    assert summary.counts["PENDING"] == 3 and summary.cost_kopecks == 84
    assert "insufficient funds" in smsc(cfg, "campaign", "status", str(cid)).stdout
    smsc(cfg, "account", "topup", sid, "5")
    smsc(cfg, "campaign", "start", str(cid))
    summary, _ = wait_final(server, cid)
    assert summary.counts["DELIVRD"] == 5 and summary.cost_kopecks == 5 * 42
    assert balance(cfg, sid) == 100 + 500 - 5 * 42


def test_a_killed_server_resumes_a_running_campaign_without_sending_twice(server_factory, tmp_path):
    server = server_factory()
    cid = create(server.config, new_user(server.config), numbered_csv(tmp_path / "thirty.csv", 30),
                 "--rate", "20")
    smsc(server.config, "campaign", "start", str(cid))
    wait_for(server, cid, lambda s: s.counts["PENDING"] <= 22)
    server.kill()
    assert report(server, cid)[0].counts["PENDING"] < 30
    again = server_factory(store=Path(store_path(server)))
    summary, lines = wait_final(again, cid)
    assert summary.counts["DELIVRD"] == 30
    per_number = messages(again, "SELECT msisdn, count(*) FROM messages GROUP BY msisdn")
    assert len(per_number) == 30 and {n for _, n in per_number} == {1}
    assert len({x.message_id for x in lines}) == 30
