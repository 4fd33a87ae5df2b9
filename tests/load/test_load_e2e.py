"""`smsc load` against a real `smsc serve` over TCP: 2000 messages, every
receipt back exactly once, exit code 0.

Both run as subprocesses: the server (the suite's ``server`` fixture) because
it owns its reactor, the load client because Twisted's reactor runs once per
process.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from server_process import REPO, ServerProcess


@pytest.fixture
def port(server: ServerProcess) -> int:
    """The SMPP port of a fresh server with the account loaduser/loadpw."""
    server.cli("account", "add", "loaduser", "--password", "loadpw",
               "--mode", "user", "--balance", "100000", "--alpha", "SMSClub")
    return server.port


def _load(port: int, *extra: str) -> tuple[int, dict]:
    p = subprocess.run(
        [sys.executable, "-c",
         "import sys; from smsc.load import main; sys.exit(main(sys.argv[1:]))",
         "--port", str(port), "--system-id", "loaduser", "--password", "loadpw",
         "--n", "2000", "--window", "50", "--registered-delivery", "--timeout", "20",
         "--json", *extra],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert p.stdout, p.stderr
    return p.returncode, json.loads(p.stdout)


@pytest.mark.parametrize("binds", [["--binds", "2"], ["--binds", "1", "--bind-type", "tx+rx"]],
                         ids=["trx", "tx+rx"])
def test_every_message_accepted_and_receipted_once(port: int, binds: list[str]) -> None:
    code, report = _load(port, *binds)
    assert report["errors"] == {}, report["error_samples"]
    assert report["accepted"] == 2000
    assert report["receipts"]["missing"] == 0
    assert report["receipts"]["duplicates"] == 0
    assert report["receipts"]["unknown"] == 0
    assert report["receipts"]["latency_ms"]["count"] == 2000
    assert report["unbinds_ok"] == report["sessions"]
    assert code == 0


def test_wrong_password_exits_2(port: int) -> None:
    code, report = _load(port, "--password", "nope")
    assert code == 2
    assert report["binds_ok"] == 0
    assert report["submitted"] == 0
