from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from server_process import ServerProcess, write_config  # noqa: E402
from pg import pg_server, pg_url  # noqa: E402,F401 (fixtures)


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator:
    """Start servers on a temporary store; all are stopped at the end."""
    started: list[ServerProcess] = []

    def make(store: Path | None = None, rules: list | None = None, **sections: dict) -> ServerProcess:
        cfg = write_config(
            tmp_path / f"smsc{len(started)}.toml", store or tmp_path / "smsc.db", rules, **sections
        )
        s = ServerProcess(cfg).start()
        started.append(s)
        return s

    yield make
    for s in started:
        if s.proc is not None and s.proc.poll() is None:
            s.kill()


@pytest.fixture
def server(server_factory) -> ServerProcess:
    return server_factory()


# CI runs the same examples every time: a property test that finds a new
# counterexample should fail on a developer's machine, not flake in CI.
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
