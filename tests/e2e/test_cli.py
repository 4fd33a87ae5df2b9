"""The CLI contract: account commands, errors as one line and non-zero exit."""
from __future__ import annotations

import json
import subprocess
import sys

from server_process import REPO, write_config


def run(cfg, *args):
    return subprocess.run(
        [sys.executable, "-m", "smsc", "--config", str(cfg), *args],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )


def test_account_lifecycle(tmp_path):
    cfg = write_config(tmp_path / "c.toml", tmp_path / "s.db")
    r = run(cfg, "account", "add", "shop", "--password", "pw123", "--mode", "user",
            "--balance", "12.34", "--alpha", "MyShop", "--alpha", "Shop2")
    assert r.returncode == 0, r.stderr
    shown = json.loads(run(cfg, "account", "show", "shop", "--json").stdout)
    assert shown == {
        "system_id": "shop", "mode": "user", "balance_kopecks": 1234,
        "balance_uah": "12.34", "alpha_names": ["MyShop", "Shop2"], "rate": None, "max_binds": None,
        "id_format": "hex", "id_width": 0, "receipt_seconds": False, "receipt_tz": "UTC", "allowlist": [],
    }
    assert run(cfg, "account", "limits", "shop", "--rate", "5", "--max-binds", "2").returncode == 0
    shown = json.loads(run(cfg, "account", "show", "shop", "--json").stdout)
    assert (shown["rate"], shown["max_binds"]) == (5.0, 2)
    assert run(cfg, "account", "limits", "shop", "--default").returncode == 0
    shown = json.loads(run(cfg, "account", "show", "shop", "--json").stdout)
    assert (shown["rate"], shown["max_binds"]) == (None, None)
    assert run(cfg, "account", "topup", "shop", "0.66").returncode == 0
    assert run(cfg, "account", "alpha", "remove", "shop", "Shop2").returncode == 0
    assert run(cfg, "account", "alpha", "add", "shop", "Third").returncode == 0
    shown = json.loads(run(cfg, "account", "show", "shop", "--json").stdout)
    assert shown["balance_kopecks"] == 1300 and shown["alpha_names"] == ["MyShop", "Third"]
    r = run(cfg, "account", "passwd", "shop")
    assert r.returncode == 0 and "password: " in r.stdout
    listed = json.loads(run(cfg, "account", "list", "--json").stdout)
    assert [a["system_id"] for a in listed] == ["shop"]


def test_test_account_defaults_and_promote(tmp_path):
    cfg = write_config(tmp_path / "c.toml", tmp_path / "s.db")
    r = run(cfg, "account", "add", "trial")
    assert r.returncode == 0 and "password: " in r.stdout
    shown = json.loads(run(cfg, "account", "show", "trial", "--json").stdout)
    assert (shown["mode"], shown["balance_kopecks"]) == ("test", 200)
    assert run(cfg, "account", "promote", "trial").returncode == 0
    assert json.loads(run(cfg, "account", "show", "trial", "--json").stdout)["mode"] == "user"


def test_errors_are_one_line_and_nonzero(tmp_path):
    cfg = write_config(tmp_path / "c.toml", tmp_path / "s.db")
    assert run(cfg, "account", "add", "dup", "--password", "x").returncode == 0
    for args, needle in [
        (("account", "add", "dup", "--password", "x"), "already exists"),
        (("account", "show", "ghost"), "no account ghost"),
        (("account", "topup", "dup", "abc"), "not an amount"),
        (("account", "topup", "ghost", "1"), "no account ghost"),
        (("account", "add", "x", "--password", "muchtoolongpw"), "password"),
        (("account", "alpha", "add", "dup", "Way2LongAlphaName"), "alpha-name"),
        (("account", "alpha", "remove", "dup", "Nope"), "has no alpha-name"),
    ]:
        r = run(cfg, *args)
        assert r.returncode == 1, args
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], (args, r.stderr)


def test_bad_config_names_file_and_key(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[smpp]\nport = -5\n")
    r = run(cfg, "account", "list")
    assert r.returncode == 1
    assert str(cfg) in r.stderr and "[smpp].port" in r.stderr


def test_account_receipt_options(tmp_path):
    cfg = write_config(tmp_path / "c.toml", tmp_path / "s.db")
    assert run(cfg, "account", "add", "shop", "--password", "pw123").returncode == 0

    def options():
        shown = json.loads(run(cfg, "account", "show", "shop", "--json").stdout)
        return shown["id_format"], shown["id_width"], shown["receipt_seconds"], shown["receipt_tz"]

    r = run(cfg, "account", "receipts", "shop", "--id-format", "decimal", "--id-width", "20",
            "--seconds", "--tz", "Europe/Kyiv")
    assert r.returncode == 0, r.stderr
    assert options() == ("decimal", 20, True, "Europe/Kyiv")
    # one option at a time; the others stay
    assert run(cfg, "account", "receipts", "shop", "--minutes").returncode == 0
    assert options() == ("decimal", 20, False, "Europe/Kyiv")
    assert run(cfg, "account", "receipts", "shop", "--id-format", "uuid").returncode == 0
    assert options() == ("uuid", 0, False, "Europe/Kyiv")
    # refused: each error names what is wrong, nothing changes
    for bad, word in ((("--tz", "Mars/Olympus_Mons"), "Mars/Olympus_Mons"),
                      (("--id-format", "decimal", "--id-width", "10"), "width 10"),
                      (("--id-format", "hex", "--id-width", "65"), "width 65"),
                      (("--id-width", "20"), "uuid")):
        r = run(cfg, "account", "receipts", "shop", *bad)
        assert r.returncode == 1 and word in r.stderr, (bad, r.stderr)
    assert options() == ("uuid", 0, False, "Europe/Kyiv")
    assert run(cfg, "account", "receipts", "shop", "--default").returncode == 0
    assert options() == ("hex", 0, False, "UTC")
    assert run(cfg, "account", "receipts", "nobody", "--seconds").returncode == 1


def test_admin_token_and_api_key(tmp_path):
    import hashlib

    cfg = write_config(tmp_path / "c.toml", tmp_path / "s.db")
    r = run(cfg, "admin", "token")
    assert r.returncode == 0, r.stderr
    token = r.stdout.split("admin token: ")[1].split()[0]
    line = next(l for l in r.stdout.splitlines() if l.startswith("admin_token_sha256"))
    assert line == f'admin_token_sha256 = "{hashlib.sha256(token.encode()).hexdigest()}"'
    assert len(token) >= 32 and run(cfg, "admin", "token").stdout != r.stdout

    assert run(cfg, "account", "add", "shop", "--password", "pw123").returncode == 0
    r = run(cfg, "account", "apikey", "shop")
    assert r.returncode == 0, r.stderr
    key = r.stdout.split("api key: ")[1].strip()
    assert len(key) >= 22  # >= 128 bits, URL-safe base64
    import sqlite3

    stored = sqlite3.connect(tmp_path / "s.db").execute("SELECT key_sha256, system_id FROM api_keys").fetchall()
    assert stored == [(hashlib.sha256(key.encode()).hexdigest(), "shop")]  # the hash only
    r = run(cfg, "account", "apikey", "ghost")
    assert r.returncode == 1 and r.stderr.strip() == "smsc: error: no account ghost"


def test_serve_names_the_port_it_cannot_open_and_exits_1(tmp_path):
    """A busy port is one line naming the config keys, exit 1, no traceback
    (and the store's threads do not keep the process alive)."""
    import socket

    for section in ("smpp", "http"):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            other = {"http": {"enabled": True, "port": port}} if section == "http" else {"smpp": {"port": port}}
            cfg = write_config(tmp_path / f"{section}.toml", tmp_path / f"{section}.db", **other)
            r = run(cfg, "serve")
        assert r.returncode == 1, (section, r.stdout, r.stderr)
        wanted = f"smsc: error: cannot listen on 127.0.0.1:{port} ([{section}] host, port):"
        assert wanted in r.stderr, r.stderr
        assert "Traceback" not in r.stderr, r.stderr
