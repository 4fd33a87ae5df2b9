"""``smsc base ...``: number bases as first-class objects of an account, and
``smsc campaign create --base`` / ``smsc base clean`` against a real server."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))

from test_cli import fresh, run  # noqa: E402
from test_reports_http import reports_server, wait_final  # noqa: E402

from clients import new_user  # noqa: E402


def faq_csv(path: Path, kept: int = 956, duplicates: int = 44) -> Path:
    """FAQ 2: 1000 rows of which 44 repeat an earlier number (written another way)."""
    rows = ["phone;name"] + [f"38067{1000000 + i};Name{i}" for i in range(kept)]
    rows += [f"067{1000000 + i};Again{i}" for i in range(duplicates)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_upload_list_show_rename_add_remove_delete(tmp_path):
    cfg = fresh(tmp_path)
    assert run(cfg, "account", "add", "shop", "--password", "pw", "--mode", "user", "--alpha", "Shop").returncode == 0
    r = run(cfg, "base", "upload", "--account", "shop", "--csv", str(faq_csv(tmp_path / "clients.csv")))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "1000 in, 956 kept, 44 duplicates, 0 invalid"
    (b,) = json.loads(run(cfg, "base", "list", "--json").stdout)
    assert (b["id"], b["name"], b["size"], b["rows_in"], b["duplicates"], b["invalid"], b["kept"]) == (
        1, "clients", 956, 1000, 44, 0, 956)
    shown = json.loads(run(cfg, "base", "show", "1", "--json").stdout)
    assert shown["numbers"][0] == {"msisdn": "380671000000", "fields": {"phone": "380671000000", "name": "Name0"}}
    assert len({n["msisdn"] for n in shown["numbers"]}) == 956

    assert run(cfg, "base", "rename", "1", "spring").stdout.strip() == "base 1: renamed 'spring'"
    r = run(cfg, "base", "add", "1", "+380 50 111 22 33", "0671000000")
    assert r.stdout.strip() == "base 1: 1 numbers added (1 already in it)"
    assert run(cfg, "base", "remove", "1", "380501112233", "0671000001").stdout.strip() == "base 1: 2 numbers removed"
    (b,) = json.loads(run(cfg, "base", "list", "--account", "shop", "--json").stdout)
    assert (b["name"], b["size"]) == ("spring", 955)
    assert json.loads(run(cfg, "base", "list", "--account", "other", "--json").stdout) == []

    bad = run(cfg, "base", "add", "1", "12")
    assert bad.returncode == 1 and bad.stderr.startswith("smsc: error: '12':")
    made = json.loads(run(cfg, "campaign", "create", "--account", "shop", "--base", "1", "--sender", "Shop",
                          "--text", "Hi #abonent_name#", "--json").stdout)
    assert (made["kept"], made["estimate"]["recipients"]) == (955, 955)
    assert run(cfg, "base", "delete", "1").stdout.strip() == "base 1: deleted"
    assert run(cfg, "base", "delete", "1").stderr.strip() == "smsc: error: no base 1"
    # the campaign made from it keeps its recipients
    assert json.loads(run(cfg, "campaign", "status", "1", "--json").stdout)["recipients"] == 955
    other = run(cfg, "campaign", "create", "--account", "shop", "--base", "1", "--sender", "Shop", "--text", "x")
    assert other.stderr.strip() == "smsc: error: --base 1: no such base of account shop"


def test_clean_a_base_after_a_campaign(server_factory, tmp_path):
    srv = reports_server(server_factory, rules=[
        {"suffix": "0001", "outcome": "UNDELIV"}, {"suffix": "0002", "outcome": "REJECTD"},
    ])
    sid = new_user(srv)
    group = tmp_path / "g.csv"
    group.write_text("phone;name\n380671110001;Ann\n380671110002;Bob\n380671110003;Cy\n0671110003;Cy again\n")
    out = srv.cli("base", "upload", "--account", sid, "--csv", str(group), "--name", "vip").stdout
    assert out.splitlines()[0] == "4 in, 3 kept, 1 duplicates, 0 invalid"
    base_id = json.loads(srv.cli("base", "list", "--account", sid, "--json").stdout)[0]["id"]
    cid = json.loads(srv.cli("campaign", "create", "--account", sid, "--base", str(base_id), "--sender",
                             "SMSClub", "--text", "Hi #abonent_name#", "--json").stdout)["id"]
    srv.cli("campaign", "start", str(cid))
    wait_final(tmp_path / "smsc.db", cid)
    out = srv.cli("base", "clean", str(base_id), "--campaign", str(cid)).stdout
    assert out.startswith(f"base {base_id}: 2 numbers with status REJECTD or UNDELIV in campaign {cid} removed")
    numbers = json.loads(srv.cli("base", "show", str(base_id), "--json").stdout)["numbers"]
    assert [n["msisdn"] for n in numbers] == ["380671110003"]
    report = json.loads(srv.cli("campaign", "report", str(cid), "--json").stdout)
    assert [(x["msisdn"], x["status"], x["text"]) for x in report["lines"]] == [
        ("380671110001", "UNDELIV", "Hi Ann"), ("380671110002", "REJECTD", "Hi Bob"),
        ("380671110003", "DELIVRD", "Hi Cy")]


def test_alpha_applications(tmp_path):
    cfg = fresh(tmp_path)
    run(cfg, "account", "add", "shop", "--password", "pw", "--mode", "user")
    r = run(cfg, "account", "alpha", "apply", "shop", "MyShop")
    assert r.stdout.strip() == "shop: alpha-name MyShop applied for (PENDING until the operator approves it)"
    assert run(cfg, "account", "alpha", "apply", "shop", "MyShop").returncode == 1
    assert json.loads(run(cfg, "account", "show", "shop", "--json").stdout)["alpha_names"] == []
    assert run(cfg, "account", "alpha", "applications").stdout.strip() == "shop\tMyShop\tPENDING"
    assert run(cfg, "account", "alpha", "reject", "shop", "MyShop").stderr.strip().endswith("needs --reason "
                                                                                          "(the customer is shown it)")
    r = run(cfg, "account", "alpha", "reject", "shop", "MyShop", "--reason", "a brand of someone else")
    assert r.stdout.strip() == "shop: alpha-name MyShop rejected (a brand of someone else)"
    assert run(cfg, "account", "alpha", "applications", "shop").stdout.strip() == (
        "shop\tMyShop\tREJECTED\ta brand of someone else")
    run(cfg, "account", "alpha", "apply", "shop", "MyShop")
    assert run(cfg, "account", "alpha", "approve", "shop", "MyShop").stdout.strip() == (
        "shop: alpha-name MyShop approved: usable now")
    assert json.loads(run(cfg, "account", "show", "shop", "--json").stdout)["alpha_names"] == ["MyShop"]
    assert run(cfg, "account", "alpha", "approve", "shop", "MyShop").returncode == 1
