"""The CLI contract: account commands, errors as one line and non-zero exit
(the account lifecycle and the errors on both stores: a SQLite file and a
PostgreSQL URL).

What each command does runs through ``smsc.cli.main`` in this process (the
same code, stdout, stderr and log lines; no interpreter start per call);
the process contract itself (``python -m smsc``, exit status, one-line
errors, ``serve``) runs real processes: ``process=True``.
"""
from __future__ import annotations

import json
import subprocess
import sys

from server_process import REPO, cli_in_process, write_config

from smsc.store.open import is_url
from smsc.store.sqlite import Store


def run(cfg, *args, cwd=REPO, process: bool = False):
    if not process and cwd == REPO:
        return cli_in_process(["--config", str(cfg), *args])
    return subprocess.run(
        [sys.executable, "-m", "smsc", "--config", str(cfg), *args],
        capture_output=True, text=True, cwd=cwd, timeout=60,
    )


def smsc(*args, cwd):
    """``smsc ARGS`` with no --config of ours: the shipped default, as a new user runs it."""
    return subprocess.run([sys.executable, "-m", "smsc", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=60)


def fresh(tmp_path, store=None, **sections):
    """A config and its store, as a first ``smsc serve`` leaves them (without
    running one): a SQLite file, or ``store``, a PostgreSQL URL."""
    target = store or str(tmp_path / "s.db")
    cfg = write_config(tmp_path / "c.toml", target, **sections)
    if not is_url(target):
        Store(target).close()
    return cfg


def no_store(path) -> str:
    return f"smsc: error: no store at {path}: start the server first, or pass --store"


def test_the_cli_refuses_a_store_that_does_not_exist_instead_of_making_one(tmp_path):
    """``cd /tmp && smsc account list`` made an empty /tmp/smsc.db and printed nothing."""
    work = tmp_path / "elsewhere"
    work.mkdir()
    for args in (("account", "list"), ("account", "add", "shop"), ("campaign", "list"),
                 ("mo", "inject", "--to", "7090", "--from", "380671234567", "--text", "hi")):
        r = smsc(*args, cwd=work)
        assert (r.returncode, r.stdout) == (1, ""), (args, r.stdout, r.stderr)
        assert r.stderr.strip().splitlines() == [no_store(work / "smsc.db")], args
    assert list(work.iterdir()) == []
    gone = tmp_path / "gone.db"
    for args in (("--store", str(gone), "account", "list"), ("account", "list", "--store", str(gone))):
        r = smsc(*args, cwd=work)
        assert r.returncode == 1 and r.stderr.strip() == no_store(gone), (args, r.stderr)
    assert not gone.exists()


def test_store_before_or_after_the_subcommand(tmp_path):
    cfg = fresh(tmp_path)
    other = tmp_path / "other.db"
    Store(str(other)).close()
    assert run(cfg, "--store", str(other), "account", "add", "one", "--password", "pw").returncode == 0
    assert run(cfg, "account", "add", "two", "--password", "pw", "--store", str(other)).returncode == 0
    assert run(cfg, "campaign", "list", "--store", str(other), "--json").stdout.strip() == "[]"
    listed = json.loads(run(cfg, "account", "list", "--json", "--store", str(other)).stdout)
    assert [a["system_id"] for a in listed] == ["one", "two"]
    assert json.loads(run(cfg, "account", "list", "--json").stdout) == []  # the config's store


def test_config_after_the_subcommand_too(tmp_path):
    """``smsc serve --config X`` was refused; only ``smsc --config X serve`` worked."""
    import os
    import re

    cfg = write_config(tmp_path / "c.toml", tmp_path / "s.db")
    proc = subprocess.Popen([sys.executable, "-m", "smsc", "serve", "--config", str(cfg)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if "SMPP listening" in line:
                break
        assert re.search(rf"SMPP listening on 127.0.0.1:\d+ \(store {re.escape(str(tmp_path / 's.db'))}\)",
                         "".join(seen)), seen
    finally:
        proc.terminate()
        proc.wait(15)
    for args in (("account", "list", "--config", str(cfg)), ("account", "--config", str(cfg), "list"),
                 ("campaign", "list", "--config", str(cfg), "-v")):
        r = subprocess.run([sys.executable, "-m", "smsc", *args], capture_output=True, text=True,
                           cwd=tmp_path, timeout=60)
        assert r.returncode == 0, (args, r.stderr)
    r = subprocess.run([sys.executable, "-m", "smsc", "account", "list", "--config", str(cfg)],
                       capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert r.stdout.startswith("test\t"), r.stdout  # the first account serve made, in that store


def test_a_relative_store_path_is_relative_to_the_config_file(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    cfg = conf / "smsc.toml"
    cfg.write_text('[store]\npath = "data.db"\n')
    Store(str(conf / "data.db")).close()
    work = tmp_path / "work"
    work.mkdir()
    r = run(cfg, "account", "add", "shop", "--password", "pw", cwd=work)
    assert r.returncode == 0, r.stderr
    assert run(cfg, "account", "show", "shop", cwd=tmp_path).returncode == 0
    assert list(work.iterdir()) == []
    # --store on the command line is relative to the working directory, as paths there are
    r = run(cfg, "account", "list", "--store", "data.db", cwd=work)
    assert r.returncode == 1 and r.stderr.strip() == no_store(work / "data.db")


def test_account_lifecycle(tmp_path, store_target):
    cfg = fresh(tmp_path, store_target)
    r = run(cfg, "account", "add", "shop", "--password", "pw123", "--mode", "user",
            "--balance", "12.34", "--alpha", "MyShop", "--alpha", "Shop2", process=True)
    assert r.returncode == 0, r.stderr
    shown = json.loads(run(cfg, "account", "show", "shop", "--json", process=True).stdout)
    assert shown == {
        "system_id": "shop", "mode": "user", "balance_kopecks": 1234,
        "balance_uah": "12.34", "alpha_names": ["MyShop", "Shop2"], "rate": None, "max_binds": None,
        "id_format": "hex", "id_width": 0, "receipt_seconds": False, "receipt_tz": "UTC",
        "senders": ["MyShop", "Shop2"], "allowlist": [],
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


def test_a_test_account_shows_the_universal_name_it_sends_from(tmp_path):
    """``account list`` showed ``-`` as the test account's sender, though it sends from SMSClub."""
    cfg = fresh(tmp_path, accounts={"universal_alpha": "Demo"})
    assert run(cfg, "account", "add", "trial", "--password", "pw").returncode == 0
    assert run(cfg, "account", "add", "early", "--password", "pw", "--alpha", "Later").returncode == 0
    assert run(cfg, "account", "add", "shop", "--password", "pw", "--mode", "user",
               "--alpha", "MyShop").returncode == 0
    assert run(cfg, "account", "add", "mute", "--password", "pw", "--mode", "user").returncode == 0
    listed = run(cfg, "account", "list").stdout.splitlines()
    assert {line.split("\t")[0]: line.split("\t")[3] for line in listed} == {
        "trial": "alpha=Demo (universal)", "early": "alpha=Demo (universal), Later (after promote)",
        "shop": "alpha=MyShop", "mute": "alpha=-"}
    assert run(cfg, "account", "show", "trial").stdout.split("\t")[3].strip() == "alpha=Demo (universal)"
    shown = {a["system_id"]: a for a in json.loads(run(cfg, "account", "list", "--json").stdout)}
    assert {k: (a["alpha_names"], a["senders"]) for k, a in shown.items()} == {
        "trial": ([], ["Demo"]), "early": (["Later"], ["Demo"]), "shop": (["MyShop"], ["MyShop"]),
        "mute": ([], [])}
    assert json.loads(run(cfg, "account", "show", "trial", "--json").stdout)["senders"] == ["Demo"]
    assert run(cfg, "account", "promote", "early").returncode == 0
    assert json.loads(run(cfg, "account", "show", "early", "--json").stdout)["senders"] == ["Later"]


def test_test_account_defaults_and_promote(tmp_path):
    cfg = fresh(tmp_path)
    r = run(cfg, "account", "add", "trial")
    assert r.returncode == 0 and "password: " in r.stdout
    shown = json.loads(run(cfg, "account", "show", "trial", "--json").stdout)
    assert (shown["mode"], shown["balance_kopecks"]) == ("test", 200)
    assert run(cfg, "account", "promote", "trial").returncode == 0
    assert json.loads(run(cfg, "account", "show", "trial", "--json").stdout)["mode"] == "user"


def test_errors_are_one_line_and_nonzero(tmp_path, store_target):
    cfg = fresh(tmp_path, store_target)
    assert run(cfg, "account", "add", "dup", "--password", "x", process=True).returncode == 0
    for args, needle in [
        (("account", "add", "dup", "--password", "x"), "already exists"),
        (("account", "show", "ghost"), "no account ghost"),
        (("account", "topup", "dup", "abc"), "not an amount"),
        (("account", "topup", "ghost", "1"), "no account ghost"),
        (("account", "add", "x", "--password", "muchtoolongpw"), "password"),
        (("account", "alpha", "add", "dup", "Way2LongAlphaName"), "alpha-name"),
        (("account", "alpha", "remove", "dup", "Nope"), "has no alpha-name"),
    ]:
        r = run(cfg, *args, process=True)
        assert r.returncode == 1, args
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], (args, r.stderr)


def test_bad_config_names_file_and_key(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[smpp]\nport = -5\n")
    r = run(cfg, "account", "list", process=True)
    assert r.returncode == 1
    assert str(cfg) in r.stderr and "[smpp].port" in r.stderr


def test_account_receipt_options(tmp_path):
    cfg = fresh(tmp_path)
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

    cfg = fresh(tmp_path)
    r = run(cfg, "admin", "token", process=True)
    assert r.returncode == 0, r.stderr
    token = r.stdout.split("admin token: ")[1].split()[0]
    line = next(out for out in r.stdout.splitlines() if out.startswith("admin_token_sha256"))
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
    """A busy port is one line naming the config keys, exit 1, nothing else.
    On a fresh store the ports are checked first: the one-time password of
    the first account was printed, then lost with the failed start."""
    import socket

    for section in ("smpp", "http"):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            other = {"http": {"enabled": True, "port": port}} if section == "http" else {"smpp": {"port": port}}
            cfg = write_config(tmp_path / f"{section}.toml", tmp_path / f"{section}.db", **other)
            r = run(cfg, "serve", process=True)
        assert (r.returncode, r.stdout) == (1, ""), (section, r.stdout, r.stderr)
        [line] = r.stderr.splitlines()
        assert line.startswith(f"smsc: error: cannot listen on 127.0.0.1:{port} ([{section}] host, port): "), line
        assert not (tmp_path / f"{section}.db").exists()  # no store, no account made
    # the port free again: the first start makes the account and shows its password
    cfg = write_config(tmp_path / "free.toml", tmp_path / "http.db")
    proc = subprocess.Popen([sys.executable, "-m", "smsc", "--config", str(cfg), "serve"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
    try:
        assert "created test account system_id=test password=" in proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(15)


def test_a_second_serve_on_a_live_store_is_refused_in_one_line(server_factory, tmp_path):
    """A second server on a live store ran crash recovery on it (resuming
    the first one's messages) before it failed on the port; on a free port
    it would have served the same store twice."""
    import signal

    from clients import PW, Esme, new_user

    first = server_factory(rules=[{"suffix": "0009", "outcome": "DELIVRD", "delay": 3600.0}])
    sid = new_user(first)
    esme = Esme(first.port)
    esme.bind("transceiver", sid, PW)
    esme.submit(b"in flight", dest="380671000009")
    esme.pump_until(lambda: esme.message_ids())
    store = tmp_path / "smsc.db"
    for args in (("serve",), ("serve", "--port", "0")):  # the same port, and a free one
        r = run(first.config, *args, process=True)
        assert (r.returncode, r.stdout) == (1, ""), (args, r.stdout, r.stderr)
        assert r.stderr.splitlines() == [
            f"smsc: error: store {store} is in use by another smsc serve (pid {first.proc.pid})"], args
    assert "recovered" not in "".join(first.output)
    esme.submit(b"still served", dest="380671000001")
    esme.pump_until(lambda: len(esme.receipts) == 1)  # its receipt: the first server serves on
    esme.close()
    # the lock goes with the process, however it ends: kill -9 leaves none behind
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(10)
    again = server_factory()  # it starts, and now it is the one to recover the store
    assert any("unfinished messages" in line for line in again.output), again.output
