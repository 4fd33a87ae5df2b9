"""What ``smsc serve`` makes sure of before it touches the store: that no
other server runs on it, and that its ports can be had.

Both come before crash recovery and before the first account is made:

* a second server on a live store would otherwise "recover" the first
  one's unfinished messages (resume them twice, send receipts twice) before
  failing on its port;
* on a fresh store, a port conflict found after the first account was made
  printed its one-time password, then stopped: the password was lost with
  the account kept.

:func:`lock_store` takes an exclusive ``flock`` on a lock file beside the
SQLite file (``smsc.db.lock``, holding the pid), kept for the life of the
process: the kernel lets go when the process ends, however it ends, so a
kill -9 leaves no stale lock. Only ``serve`` takes it; the other commands
share the store with a running server (WAL) as before.

:func:`bind` opens a listening socket; the server adopts it once it is
built (``reactor.adoptStreamPort``), so the port checked is the port
served, with no window for another process to take it in between.
"""
from __future__ import annotations

import fcntl
import os
import socket
from typing import Final

__all__ = ["StartupError", "StoreLock", "bind", "lock_store"]

#: the backlog Twisted's listenTCP uses
_BACKLOG: Final = 50


class StartupError(Exception):
    """``smsc serve`` cannot start: one line for ``smsc: error: ...``."""


class StoreLock:
    """An exclusive lock on a store, held while this object's file is open."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self._fd = fd

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the file drops its flock
            self._fd = -1


def lock_store(store_path: str) -> StoreLock | None:
    """The store's lock (None for an in-memory store, which nobody shares).

    Raises StartupError when another ``smsc serve`` holds it, naming its pid.
    """
    if store_path == ":memory:":
        return None
    path = f"{store_path}.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise StartupError(f"cannot lock store {store_path}: {exc.strerror} ({path})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise StartupError(f"store {store_path} is in use by another smsc serve (pid {holder})") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return StoreLock(path, fd)


def bind(host: str, port: int, section: str, backlog: int = _BACKLOG) -> socket.socket:
    """A socket listening on ``host:port`` (as Twisted's listenTCP opens
    one: SO_REUSEADDR, non-blocking) with a listen queue of ``backlog``
    (``[smpp] backlog`` for the SMPP ports: a reconnect storm). Raises
    StartupError naming the config keys (``section``: ``[smpp]``, ``[http]``)."""
    where = f"cannot listen on {host}:{port} ({section} host, port)"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise StartupError(f"{where}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise StartupError(f"{where}: {exc}") from None
    return sock
