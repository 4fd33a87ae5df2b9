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
    # the upload's other columns come along; done_at is ISO 8601 UTC, not Unix seconds
    assert undeliv.splitlines()[0] == "msisdn,status,message_id,text,detail,done_at,name"
    assert parsed[0]["name"] == "Ivan"
    done = by_number["380671000001"].done_at
    assert parsed[0]["done_at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(done))
    pending = smsc(cfg, "campaign", "report", str(cid), "--status", "skipped", "--csv").stdout
    assert list(csv.DictReader(io.StringIO(pending)))[0]["name"] == "Black"
    table = smsc(cfg, "campaign", "report", str(cid)).stdout.splitlines()
    assert table[1].split("\t") == ["msisdn", "status", "message_id", "text", "detail"]
    assert table[2].split("\t")[:2] == ["380671000001", "UNDELIV"]
    full = json.loads(smsc(cfg, "campaign", "report", str(cid), "--json").stdout)
    assert full["counts"]["SKIPPED"] == 1 and full["cost_kopecks"] == CHARGE
    assert [(x["msisdn"], x["status"]) for x in full["lines"]] == [(x.msisdn, x.status) for x in lines]
    text = smsc(cfg, "campaign", "status", str(cid)).stdout
    assert "sent" in text and "charged 2.04 UAH (estimate 2.04 UAH)" in text

    # cleaning the base (a subprocess again: the command a user runs)
    export = tmp_path / "bad.csv"
    sent_report = smsc(cfg, "campaign", "report", str(cid), "--json").stdout
    cleaned = server.cli("campaign", "clean", str(cid), "--export", str(export), "--remove", process=True).stdout
    assert "2 numbers with status REJECTD or UNDELIV written to" in cleaned
    assert "2 numbers with status REJECTD or UNDELIV removed from its base" in cleaned
    assert export.read_text(encoding="utf-8").splitlines() == [
        "phone,status,name", "380671000001,UNDELIV,Ivan", "380501000002,REJECTD,Олена"]
    # the sent campaign is history: the money was spent, its report stays as it was
    assert smsc(cfg, "campaign", "report", str(cid), "--json").stdout == sent_report
    summary, after, _ = report(server, cid)
    assert (summary.recipients, summary.cost_kopecks) == (5, CHARGE) and after == lines
    assert (summary.counts["UNDELIV"], summary.counts["REJECTD"]) == (1, 1)
    assert "charged 2.04 UAH" in smsc(cfg, "campaign", "status", str(cid)).stdout
    again = server.cli("campaign", "clean", str(cid), "--remove").stdout
    assert "0 numbers with status REJECTD or UNDELIV removed" in again
    # the cleaned base makes the next campaign
    again = smsc(cfg, "campaign", "create", "--account", sid, "--from-campaign", str(cid),
                 "--sender", "SMSClub", "--text", "Bye #name#").stdout
    assert "3 in, 3 kept (0 duplicates removed, 0 invalid)" in again and "1 blacklisted" in again
    _, lines, _ = report(server, created_id(again))
    assert [(x.msisdn, x.status, x.text) for x in lines][:2] == [
        ("380671000003", "PENDING", "Bye Petro"), ("380931000004", "SKIPPED", "Bye Black")]


def fresh_config(tmp_path: Path, **sections: dict) -> Path:
    """A config and its store, made as a first ``smsc serve`` would, without a server."""
    cfg = write_config(tmp_path / "c.toml", tmp_path / "s.db", **sections)
    Store(str(tmp_path / "s.db")).close()
    return cfg


def test_the_faqs_abonent_name_fills_in_the_name_column(tmp_path):
    """The FAQ tells customers to write #abonent_name# for the name column of their CSV."""
    cfg = fresh_config(tmp_path)
    sid = new_user(cfg)
    upload = tmp_path / "clients.csv"
    upload.write_text("phone,name\n0671000001,Ivan\n0501000002,Олена\n", encoding="utf-8")
    cid = created_id(smsc(cfg, "campaign", "create", "--account", sid, "--csv", str(upload),
                          "--sender", "SMSClub", "--text", "Шановна(ий) #abonent_name#, знижка 10%!").stdout)
    report = json.loads(smsc(cfg, "campaign", "report", str(cid), "--json").stdout)
    assert [x["text"] for x in report["lines"]] == [
        "Шановна(ий) Ivan, знижка 10%!", "Шановна(ий) Олена, знижка 10%!"]

    # a name column called something else: --name-column says which
    upload.write_text("phone;client;city\n0671000001;Ivan;Kyiv\n", encoding="utf-8")
    base = ("campaign", "create", "--account", sid, "--csv", str(upload), "--sender", "SMSClub",
            "--text", "Hi #abonent_name#")
    r = smsc(cfg, *base, check=False)
    assert r.returncode == 1
    [err] = r.stderr.strip().splitlines()
    assert "#abonent_name#" in err and "--name-column" in err and "(columns: phone, client, city)" in err
    cid = created_id(smsc(cfg, *base, "--name-column", "client").stdout)
    report = json.loads(smsc(cfg, "campaign", "report", str(cid), "--json").stdout)
    assert [x["text"] for x in report["lines"]] == ["Hi Ivan"]
    r = smsc(cfg, *base, "--name-column", "nmae", check=False)
    assert r.returncode == 1
    assert r.stderr.strip() == ("smsc: error: --name-column nmae: no such column "
                                "(columns: phone, client, city)")


def test_a_report_piped_into_head_ends_quietly(tmp_path):
    """``campaign report ID | head`` ended in a BrokenPipeError traceback."""
    import shlex
    import subprocess
    import sys

    from server_process import REPO

    cfg = fresh_config(tmp_path)
    sid = new_user(cfg, balance="10000")
    cid = create(cfg, sid, numbered_csv(tmp_path / "many.csv", 6000))  # ~200 kB of report: > a pipe
    smsc_cmd = shlex.join([sys.executable, "-m", "smsc", "--config", str(cfg)])
    for args in (f"campaign report {cid}", f"campaign report {cid} --csv", "account list --json"):
        r = subprocess.run(["bash", "-o", "pipefail", "-c", f"{smsc_cmd} {args} | head -n 2"],
                           capture_output=True, text=True, cwd=REPO, timeout=60)
        assert len(r.stdout.splitlines()) <= 2 and r.stderr == "", (args, r.stderr)
        # a full report broke the pipe: SIGPIPE's status, as `seq 1000000 | head` gives;
        # a short output that fit the pipe: 0
        assert r.returncode == (0 if args.startswith("account") else 141), (args, r.returncode)


def test_the_report_csv_keeps_upload_columns_named_like_its_own(tmp_path):
    cfg = fresh_config(tmp_path)
    sid = new_user(cfg)
    upload = tmp_path / "crm.csv"
    upload.write_text("Status;phone;name\nvip;0671000001;Ivan\n", encoding="utf-8")
    cid = create(cfg, sid, upload)
    out = smsc(cfg, "campaign", "report", str(cid), "--csv").stdout.splitlines()
    assert out == ["msisdn,status,message_id,text,detail,done_at,csv_Status,name",
                   "380671000001,PENDING,,Sale!,,,vip,Ivan"]


def test_a_missing_value_or_unknown_column_stores_nothing(tmp_path):
    cfg = fresh_config(tmp_path)
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


def test_a_campaign_the_balance_cannot_cover_does_not_start(server_factory, tmp_path):
    """5 UAH against a 371 UAH estimate must not send 12 messages and pause:
    create warns, start refuses in one line, --allow-partial sends what it can."""
    server = server_factory()
    cfg = server.config
    sid = new_user(cfg, balance="1.00")  # two messages at 42 kopecks
    created = smsc(cfg, "campaign", "create", "--account", sid, "--csv",
                   str(numbered_csv(tmp_path / "five.csv", 5)), "--sender", "SMSClub", "--text", "Sale!")
    cid = created_id(created.stdout)  # made all the same: a top-up may come before the start
    [warning] = created.stderr.strip().splitlines()
    assert warning == (f"smsc: warning: campaign {cid} needs 2.10 UAH, account {sid} has 1.00 UAH: "
                       f"1.10 UAH short (top up before 'smsc campaign start {cid}', "
                       f"or start it with --allow-partial)")

    r = server.cli("campaign", "start", str(cid), check=False)  # as the user runs it
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [
        f"smsc: error: campaign {cid} needs 2.10 UAH, account {sid} has 1.00 UAH: 1.10 UAH short "
        f"(smsc account topup {sid} 1.10, or start it with --allow-partial to send what the balance covers)"]
    time.sleep(0.5)
    summary, _, _ = report(server, cid)
    assert (summary.state, summary.counts["PENDING"], summary.cost_kopecks) == ("draft", 5, 0)
    assert messages(server, "SELECT count(*) FROM messages WHERE system_id = ?", sid) == [(0,)]

    # covered after a top-up: no warning, no refusal
    smsc(cfg, "account", "topup", sid, "1.10")
    started = smsc(cfg, "campaign", "start", str(cid))
    assert "running" in started.stdout and started.stderr == ""
    summary, _ = wait_final(server, cid)
    assert summary.counts["DELIVRD"] == 5 and balance(cfg, sid) == 0
    quiet = smsc(cfg, "campaign", "create", "--account", sid, "--csv", str(tmp_path / "five.csv"),
                 "--sender", "SMSClub", "--text", "Sale!", "--json")
    assert "needs" in quiet.stderr and json.loads(quiet.stdout)["estimate"]["kopecks"] == 210


def test_insufficient_funds_pauses_and_start_resumes(server_factory, tmp_path):
    server = server_factory()
    cfg = server.config
    sid = new_user(cfg, balance="1.00")  # two messages at 42 kopecks
    cid = create(cfg, sid, numbered_csv(tmp_path / "five.csv", 5))
    assert "--allow-partial" in smsc(cfg, "campaign", "start", str(cid), check=False).stderr
    smsc(cfg, "campaign", "start", str(cid), "--allow-partial")
    summary, _, detail = wait_for(server, cid, lambda s: s.state == "paused")
    assert "insufficient funds" in detail and f"smsc campaign start {cid}" in detail
    assert summary.counts["PENDING"] == 3 and summary.cost_kopecks == 84
    assert "insufficient funds" in smsc(cfg, "campaign", "status", str(cid)).stdout
    smsc(cfg, "account", "topup", sid, "5")
    resumed = smsc(cfg, "campaign", "start", str(cid))  # the rest (3 x 42) is covered now
    assert resumed.stderr == ""
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
