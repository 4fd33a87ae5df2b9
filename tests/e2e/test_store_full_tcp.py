"""The store's file system fills up under submits (issue 14 defect 3).

The SQLite store lives on a small tmpfs this test mounts (CI runs as root;
without root the test fails, it does not skip). While the disk is full:
every submit is answered, ESME_RSYSERR rather than a lost ESME_ROK (every
id answered ESME_ROK is in the store afterwards), /health is 503 and says
the last commit failed, and smsc_store_errors_total counts. Once the
filler file is deleted, service resumes by itself.
"""
from __future__ import annotations

import errno
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from clients import PW, RawConn, http_base, new_user, raw_pdu, submit_body
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S
from smsc.store.sqlite import Store

TEXT = b"x" * 140


@pytest.fixture
def small_fs(tmp_path: Path):
    mount = tmp_path / "fs"
    mount.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for the store-fault test (CI runs as root): {r.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path: Path) -> None:
    """Write ``path`` until the file system has no byte left."""
    chunk = 1 << 20
    with open(path, "wb", buffering=0) as f:
        while chunk >= 512:
            try:
                f.write(b"\0" * chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                chunk //= 2


def health(base: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(base + "/health", timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def store_errors(base: str) -> float:
    text = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith("smsc_store_errors_total "):
            return float(line.split()[1])
    raise AssertionError("no smsc_store_errors_total in /metrics")


class Submitter:
    """A transmitter sending windows of submit_sm, keeping every answer."""

    def __init__(self, srv, system_id: str) -> None:
        self.conn = RawConn(srv.connect_raw())
        assert self.conn.bind(C.BIND_TRANSMITTER, system_id, PW).status == S.ESME_ROK
        self.seq = 1
        self.answers: list[tuple[int, str]] = []

    def window(self, n: int = 50) -> list[int]:
        first = self.seq + 1
        self.conn.send(b"".join(raw_pdu(C.SUBMIT_SM, first + i, submit_body(text=TEXT, rd=0)) for i in range(n)))
        self.seq += n
        statuses = []
        for _ in range(n):
            r = self.conn.read(timeout=30)
            assert r is not None, "connection closed"
            assert r.command_id == C.SUBMIT_SM_RESP, r
            mid = r.body.rstrip(b"\0").decode()
            self.answers.append((r.status, mid))
            statuses.append(r.status)
        return statuses


def test_a_full_disk_is_refused_reported_and_recovered_from(server_factory, small_fs):
    srv = server_factory(store=small_fs / "smsc.db", http={"enabled": True, "port": 0})
    base = http_base(srv)
    sid = new_user(srv, balance="100000")
    esme = Submitter(srv, sid)
    assert set(esme.window()) == {S.ESME_ROK}
    assert health(base)[0] == 200

    filler = small_fs / "filler"
    fill(filler)
    deadline = time.monotonic() + 60
    while S.ESME_RSYSERR not in esme.window():
        assert time.monotonic() < deadline, "the full disk never refused a submit"
    status, body = health(base)
    assert status == 503, body
    assert body["commits_ok"] is False and "full" in body["last_commit_error"], body
    assert 0 <= body["last_failure_age_seconds"] < 10
    assert store_errors(base) >= 1
    assert set(esme.window()) <= {S.ESME_ROK, S.ESME_RSYSERR}  # answered, all of them

    os.unlink(filler)
    deadline = time.monotonic() + 30
    while set(esme.window()) != {S.ESME_ROK}:
        assert time.monotonic() < deadline, "service did not resume after space came back"
    deadline = time.monotonic() + 30  # 10 s after the last failure, by itself
    while (answer := health(base))[0] != 200:
        assert time.monotonic() < deadline, answer
        time.sleep(0.5)
    assert answer[1]["last_commit_ok"] is True and answer[1]["commits_ok"] is True, answer

    assert srv.stop() == 0
    ok = [int(mid, 16) for status, mid in esme.answers if status == S.ESME_ROK]
    refused = [status for status, _ in esme.answers if status != S.ESME_ROK]
    assert refused and set(refused) == {S.ESME_RSYSERR}
    store = Store(str(small_fs / "smsc.db"))
    try:
        stored = {m for m in ok if store.get_message(m) is not None}
    finally:
        store.close()
    assert len(stored) == len(ok), f"{len(ok) - len(stored)} messages answered ESME_ROK are not in the store"
