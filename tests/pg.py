"""A private PostgreSQL server for the test session, and a fresh database per test.

Not pytest-postgresql: its process fixture runs ``initdb`` and ``pg_ctl``
as the current user, and the tests run as root (CI, this machine), which
``initdb`` refuses. Here the cluster is made and run as an unprivileged
system user (``postgres`` when the Debian package made one, else
``nobody``) through ``runuser``; as any other user, directly.

The server listens on 127.0.0.1 on a free port only, its unix socket is in
its own temporary directory, and the directory goes at the end of the
session. Durability is off (``fsync``): a test kills smsc, never the
database. The superuser ``smsc`` has a password (scram over TCP), so URLs
carry one as a user's would, and tests can check it is never printed.

PostgreSQL missing is a failure, not a skip: ``.ci/run`` installs it.
"""
from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

USER, PASSWORD = "smsc", "s3cret-pw"


def pg_bindir() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian's layout), or PATH's."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    bindir: Path
    root: Path
    port: int = 0
    #: prefix of commands run as the server's owner (runuser when we are root)
    as_owner: list[str] = field(default_factory=list)
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, db: str = "postgres", password: bool = True) -> str:
        secret = f":{PASSWORD}" if password else ""
        return f"postgresql://{USER}{secret}@127.0.0.1:{self.port}/{db}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        r = subprocess.run([*self.as_owner, *args], capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")

    def start(self) -> "PgServer":
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", USER, f"--pwfile={pwfile}",
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
            "--no-sync",
        )
        pwfile.unlink()
        for attempt in range(5):
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
                "-c shared_buffers=32MB"
            )
            try:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
                          "-w", "-t", "60", "-o", options, "start")
                return self
            except RuntimeError as exc:
                if attempt == 4:
                    raise RuntimeError("PostgreSQL did not start:\n" + self.log()) from exc
        return self

    def log(self) -> str:
        try:
            return (self.root / "log").read_text()
        except OSError:
            return ""

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def new_database(self) -> str:
        """A fresh, empty database; its URL (with the password)."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)


def _owner() -> tuple[list[str], int | None, int | None]:
    """(command prefix, uid, gid) to run the server as someone not root."""
    if os.geteuid() != 0:
        return [], None, None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"], entry.pw_uid, entry.pw_gid
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")


def start_server() -> PgServer:
    bindir = pg_bindir()
    if bindir is None:
        pytest.fail(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): "
            "`.ci/run` installs Debian's postgresql; apt-get install postgresql", pytrace=False,
        )
    prefix, uid, gid = _owner()
    root = Path(tempfile.mkdtemp(prefix="smsc-pg-"))
    if uid is not None:
        os.chown(root, uid, gid if gid is not None else -1)
    root.chmod(0o700)
    server = PgServer(bindir, root, as_owner=prefix)
    try:
        return server.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The session's PostgreSQL server, started on first use."""
    started = time.monotonic()
    server = start_server()
    print(f"\nPostgreSQL {server.bindir.parent.name} on 127.0.0.1:{server.port} "
          f"({time.monotonic() - started:.1f} s)")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """The URL of an empty database of its own for this test."""
    return pg_server.new_database()
