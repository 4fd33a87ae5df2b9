from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from server_process import ServerProcess, write_config  # noqa: E402
from pg import pg_server, pg_store_url, pg_url  # noqa: E402,F401 (fixtures)


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator:
    """Start servers on a temporary store; all are stopped at the end."""
    started: list[ServerProcess] = []

    def make(store: Path | str | None = None, rules: list | None = None, **sections: dict) -> ServerProcess:
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


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request) -> str:
    """The store backend a store test runs on: each such test runs on both."""
    return request.param


@pytest.fixture
def store_target(backend: str, tmp_path: Path, request) -> str:
    """Where this test's store lives: a SQLite path, or the URL of an emptied
    database on the session's PostgreSQL (started on first use)."""
    if backend == "sqlite":
        return str(tmp_path / "s.db")
    return request.getfixturevalue("pg_store_url")


@pytest.fixture
def open_store(store_target: str) -> Iterator:
    """Opens ``MessageStore``s on the test's target (another one: another
    connection, as the CLI or a second node has); all closed at the end."""
    from smsc.store.open import open_target

    opened: list = []

    def open_(target: str | None = None):
        s = open_target(target or store_target)
        opened.append(s)
        return s

    yield open_
    for s in opened:
        s.close()


# CI runs the same examples every time: a property test that finds a new
# counterexample should fail on a developer's machine, not flake in CI.
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
