"""Run the real server as a user would: ``python -m smsc --config F serve``.

Tests start it on port 0 with a temporary store, read the chosen port from
its first lines, and talk to it over TCP. ``stop()`` is a SIGTERM (graceful),
``kill()`` a SIGKILL (a crash).
"""
from __future__ import annotations

import contextlib
import io
import logging
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


#: what every test server runs with unless a test says otherwise: fast
#: operators (receipts within ~50 ms) and no test-account spam limits
TEST_DEFAULTS: dict[str, dict] = {
    "smpp": {"host": "127.0.0.1", "port": 0},
    "limits": {"test_rate": 0, "test_daily_cap": 0},
    **{
        f"operators.{key}": {"delay_min": 0.0, "delay_max": 0.05}
        for key in ("kyivstar", "vodafone", "lifecell", "intertelecom", "peoplenet", "3mob")
    },
}


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml_value(x)}' for k, x in v.items()) + " }"
    raise TypeError(v)


def write_config(path: Path, store: Path | str, rules: list[dict] | None = None, **sections: dict) -> Path:
    """A config on port 0 and ``store`` (a SQLite path, or a postgresql:// URL
    for ``[store] url``): TEST_DEFAULTS with ``sections``
    (``limits={...}``, ``operators_kyivstar={...}`` for ``[operators.kyivstar]``)
    merged over them, and ``rules`` as [[rules]]."""
    merged = {k: dict(v) for k, v in TEST_DEFAULTS.items()}
    url = str(store).startswith("postgresql://")
    merged["store"] = {"url": str(store)} if url else {"path": str(store)}
    for name, keys in sections.items():
        merged.setdefault(name.replace("operators_", "operators."), {}).update(keys)
    lines = []
    for name, keys in merged.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in keys.items()]
        lines.append("")
    for rule in rules or []:
        lines.append("[[rules]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in rule.items()]
        lines.append("")
    path.write_text("\n".join(lines))
    return path


#: commands that only read and write the store (no reactor, no server)
_IN_PROCESS = frozenset({"account", "mo", "campaign", "admin", "fault", "report", "base"})


def cli_in_process(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """``smsc.cli.main(argv)`` as if it ran as a process: its exit status, and
    what it printed and logged (at INFO, as ``main`` configures a fresh
    process) in stdout and stderr."""
    from smsc.cli import main

    out, err = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    return subprocess.CompletedProcess(["smsc", *argv], code, out.getvalue(), err.getvalue())


class ServerProcess:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.first_account: tuple[str, str] | None = None
        self.output: list[str] = []

    def start(self, timeout: float = 60.0) -> "ServerProcess":
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

    def cli(self, *args: str, check: bool = True, process: bool = False) -> subprocess.CompletedProcess[str]:
        """``smsc --config CONFIG ARGS`` against this server's store.

        The store commands (``account``, ``mo``, ``campaign``, ``admin``) run
        ``smsc.cli.main`` in this process: the same code the command line
        runs, on the same store file, with stdout, stderr and log lines
        captured alike, but without starting an interpreter and importing
        smsc each time (~0.5 s of CPU; the suite makes hundreds of these
        calls for setup). tests/e2e/test_cli.py runs the real command line;
        ``process=True`` does here.
        """
        if not process and args and args[0] in _IN_PROCESS:
            r = cli_in_process(["--config", str(self.config), *args])
        else:
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
