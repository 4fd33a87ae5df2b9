"""Run the real server as a user would: ``python -m smsc --config F serve``.

Tests start it on port 0 with a temporary store, read the chosen port from
its first lines, and talk to it over TCP. ``stop()`` is a SIGTERM (graceful),
``kill()`` a SIGKILL (a crash).
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

_LISTENING = re.compile(r"SMPP listening on ([\d.]+):(\d+)")
_FIRST = re.compile(r"created test account system_id=(\S+) password=(\S+)")

REPO = Path(__file__).resolve().parent.parent


def write_config(path: Path, store: Path, smpp: str = "", extra: str = "") -> Path:
    """A config on port 0 and ``store``; ``smpp`` adds lines to [smpp],
    ``extra`` adds whole sections."""
    path.write_text(
        f'[smpp]\nhost = "127.0.0.1"\nport = 0\n{smpp}\n\n[store]\npath = "{store}"\n\n{extra}\n'
    )
    return path


class ServerProcess:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.first_account: tuple[str, str] | None = None
        self.output: list[str] = []

    def start(self, timeout: float = 20.0) -> "ServerProcess":
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "smsc", "--config", str(self.config), "serve"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO, env=env,
        )
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("server exited:\n" + "".join(self.output))
            self.output.append(line)
            m = _FIRST.search(line)
            if m:
                self.first_account = (m.group(1), m.group(2))
            m = _LISTENING.search(line)
            if m:
                self.port = int(m.group(2))
                threading.Thread(target=self._drain, daemon=True).start()
                return self
        raise RuntimeError("server did not start:\n" + "".join(self.output))

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def stop(self, timeout: float = 15.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        r = subprocess.run(
            [sys.executable, "-m", "smsc", "--config", str(self.config), *args],
            capture_output=True, text=True, cwd=REPO, timeout=60,
        )
        if check and r.returncode != 0:
            raise AssertionError(f"smsc {' '.join(args)} failed: {r.stdout}{r.stderr}")
        return r

    def connect_raw(self) -> socket.socket:
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s
