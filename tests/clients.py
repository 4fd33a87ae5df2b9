"""Client-side helpers for end-to-end tests.

``smpplib`` is the real client library users run; ``raw`` builds PDUs with
``struct`` by hand (independent of our codec), for what a well-behaved
library refuses to send: broken lengths, unknown commands, binds twice.
"""
from __future__ import annotations

import itertools
import json
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import smpplib.client
import smpplib.consts


class Esme:
    """A smpplib client that records what it receives."""

    def __init__(self, port: int) -> None:
        self.client = smpplib.client.Client("127.0.0.1", port, timeout=5, allow_unknown_opt_params=True)
        self.receipts: list[Any] = []
        self.resps: list[Any] = []
        self.client.set_message_received_handler(self._received)
        self.client.set_message_sent_handler(lambda pdu: self.resps.append(pdu))
        # error responses still reach the handler above; don't raise on them
        self.client.set_error_pdu_handler(lambda pdu: None)

    def _received(self, pdu: Any) -> int:
        self.receipts.append(pdu)
        return smpplib.consts.SMPP_ESME_ROK

    def bind(self, kind: str, system_id: str, password: str) -> Any:
        self.client.connect()
        self.client._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return getattr(self.client, f"bind_{kind}")(system_id=system_id, password=password)

    def submit(self, text: bytes = b"hello", dest: str = "380671234567", **kw: Any) -> Any:
        params = dict(
            source_addr_ton=5, source_addr="SMSClub", dest_addr_ton=1, dest_addr_npi=1,
            destination_addr=dest, short_message=text, registered_delivery=1,
        )
        params.update(kw)
        return self.client.send_message(**params)

    def pump_until(self, done: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        self.client._socket.settimeout(0.2)
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting")
            try:
                self.client.read_once(auto_send_enquire_link=False)
            except TimeoutError:
                pass

    def message_ids(self) -> list[str]:
        return [r.message_id.decode() for r in self.resps if r.command == "submit_sm_resp" and not r.status]

    def close(self) -> None:
        try:
            self.client.unbind()
        finally:
            self.client.disconnect()


# --- raw PDUs ----------------------------------------------------------------

HEADER = struct.Struct(">IIII")


def raw_pdu(command_id: int, seq: int, body: bytes = b"", status: int = 0) -> bytes:
    return HEADER.pack(16 + len(body), command_id, status, seq) + body


def cstr(s: str) -> bytes:
    return s.encode() + b"\0"


def bind_body(system_id: str, password: str) -> bytes:
    return cstr(system_id) + cstr(password) + cstr("") + bytes([0x34, 0, 0]) + cstr("")


def submit_body(
    src: str = "SMSClub", dst: str = "380671234567", text: bytes = b"hi", rd: int = 1,
    *, dc: int = 0, esm: int = 0, ton: int = 5, tlvs: bytes = b"",
    validity: str = "", schedule: str = "", replace: int = 0,
) -> bytes:
    return (
        cstr("") + bytes([ton, 0]) + cstr(src) + bytes([1, 1]) + cstr(dst)
        + bytes([esm, 0, 0]) + cstr(schedule) + cstr(validity)
        + bytes([rd, replace, dc, 0, len(text)]) + text + tlvs
    )


def tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


@dataclass
class RawPdu:
    command_id: int
    status: int
    seq: int
    body: bytes


@dataclass
class RawConn:
    sock: socket.socket
    buf: bytes = field(default=b"")
    #: deliver_sm received (and acknowledged) while waiting for a response
    delivered: list[RawPdu] = field(default_factory=list)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self, timeout: float = 5.0) -> RawPdu | None:
        """The next PDU, or None when the server closed the connection."""
        self.sock.settimeout(timeout)
        while True:
            if len(self.buf) >= 16:
                length, cid, status, seq = HEADER.unpack_from(self.buf)
                if len(self.buf) >= length:
                    body, self.buf = self.buf[16:length], self.buf[length:]
                    return RawPdu(cid, status, seq, body)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            self.buf += chunk

    def bind(self, kind_id: int, system_id: str, password: str, seq: int = 1) -> RawPdu:
        self.send(raw_pdu(kind_id, seq, bind_body(system_id, password)))
        r = self.read()
        assert r is not None
        return r

    def submit(self, seq: int, **body: Any) -> tuple[int, str]:
        """submit_sm -> (command_status, message_id); skips deliver_sm on the way
        (answering them)."""
        self.send(raw_pdu(0x00000004, seq, submit_body(**body)))
        while True:
            r = self.read()
            assert r is not None, "connection closed"
            if r.command_id == 0x00000005:  # deliver_sm: acknowledge
                self.send(raw_pdu(0x80000005, r.seq, b"\0"))
                self.delivered.append(r)
                continue
            assert (r.command_id, r.seq) == (0x80000004, seq), r
            return r.status, r.body.rstrip(b"\0").decode()

    def call(self, command_id: int, seq: int, body: bytes) -> RawPdu:
        """Send a request and return its response; deliver_sm on the way are
        acknowledged and kept in ``delivered``."""
        self.send(raw_pdu(command_id, seq, body))
        while True:
            r = self.read()
            assert r is not None, "connection closed"
            if r.command_id == 0x00000005:
                self.send(raw_pdu(0x80000005, r.seq, b"\0"))
                self.delivered.append(r)
                continue
            assert (r.command_id, r.seq) == (command_id | 0x80000000, seq), r
            return r

    def wait_delivered(self, done: Callable[[list[RawPdu]], bool], timeout: float = 10.0) -> list[RawPdu]:
        """Read (acknowledging deliver_sm) until ``done(self.delivered)``."""
        deadline = time.monotonic() + timeout
        while not done(self.delivered):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting; delivered so far: {self.delivered}")
            try:
                self._read_acking(left)
            except TimeoutError:
                continue
        return self.delivered


    def drain(self, seconds: float) -> list[RawPdu]:
        """Keep reading (acknowledging deliver_sm) for ``seconds``."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                self._read_acking(left)
            except TimeoutError:
                break
        return self.delivered

    def _read_acking(self, timeout: float) -> RawPdu:
        """One PDU; a deliver_sm is acknowledged and kept in ``delivered``."""
        r = self.read(timeout=timeout)
        assert r is not None, "connection closed"
        if r.command_id == 0x00000005:
            self.send(raw_pdu(0x80000005, r.seq, b"\0"))
            self.delivered.append(r)
        return r


def query_body(message_id: str, src: str = "", ton: int = 0) -> bytes:
    return cstr(message_id) + bytes([ton, 0]) + cstr(src)


def cancel_body(message_id: str, src: str = "", dst: str = "", ton: int = 0) -> bytes:
    return cstr("") + cstr(message_id) + bytes([ton, 0]) + cstr(src) + bytes([1, 1]) + cstr(dst)


def _cstring(body: bytes, at: int) -> tuple[str, int]:
    end = body.index(b"\0", at)
    return body[at:end].decode("latin-1"), end + 1


def parse_query_resp(body: bytes) -> tuple[str, str, int, int]:
    """query_sm_resp body -> (message_id, final_date, message_state, error_code)."""
    mid, at = _cstring(body, 0)
    final_date, at = _cstring(body, at)
    return mid, final_date, body[at], body[at + 1]


@dataclass
class Delivered:
    """A deliver_sm body taken apart by hand (SMPP 3.4 4.6.1)."""

    source_addr: str
    destination_addr: str
    esm_class: int
    short_message: bytes
    tlvs: dict[int, bytes]


def parse_deliver_sm(body: bytes) -> Delivered:
    _, at = _cstring(body, 0)  # service_type
    src, at = _cstring(body, at + 2)
    dst, at = _cstring(body, at + 2)
    esm = body[at]
    at += 3  # esm_class, protocol_id, priority_flag
    _, at = _cstring(body, at)  # schedule_delivery_time
    _, at = _cstring(body, at)  # validity_period
    at += 4  # registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id
    length = body[at]
    text = body[at + 1:at + 1 + length]
    at += 1 + length
    tlvs = {}
    while at < len(body):
        tag, n = struct.unpack_from(">HH", body, at)
        tlvs[tag] = body[at + 4:at + 4 + n]
        at += 4 + n
    return Delivered(src, dst, esm, text, tlvs)


# --- accounts on a running test server ----------------------------------------

#: the password of accounts made by ``new_user``
PW = "pw123"
_user_ids = itertools.count()


def new_user(srv: Any, balance: str = "100") -> str:
    """A user account with the universal sender registered; a fresh id."""
    system_id = f"u{next(_user_ids)}"
    srv.cli("account", "add", system_id, "--password", PW, "--mode", "user",
            "--balance", balance, "--alpha", "SMSClub")
    return system_id


def balance(srv: Any, system_id: str) -> int:
    return json.loads(srv.cli("account", "show", system_id, "--json").stdout)["balance_kopecks"]


def bound(srv: Any, system_id: str, kind: int = 0x00000009) -> RawConn:
    """A RawConn bound as ``kind`` (transceiver by default) with ``PW``."""
    c = RawConn(srv.connect_raw())
    status = c.bind(kind, system_id, PW).status
    assert status == 0, f"bind refused: {status:#x}"
    return c


# --- HTTP ----------------------------------------------------------------------


def http_base(srv: Any, timeout: float = 10.0) -> str:
    """``http://host:port`` of a server started with ``http={"enabled": True}``
    (from its "HTTP listening on" line)."""
    import re

    deadline = time.monotonic() + timeout
    while True:
        line = next((out for out in srv.output if "HTTP listening on" in out), None)
        if line is not None:
            host, port = re.search(r"HTTP listening on ([\d.]+):(\d+)", line).groups()
            return f"http://{host}:{port}"
        assert time.monotonic() < deadline, "".join(srv.output)
        time.sleep(0.05)


@dataclass
class HttpReply:
    status: int
    body: Any
    headers: dict[str, str]


def http_call(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
              raw: bytes | None = None) -> HttpReply:
    """One HTTP request with urllib; a JSON ``body`` (or ``raw`` bytes).
    Error statuses are returned, not raised; the body is parsed as JSON
    when it is JSON."""
    import urllib.error
    import urllib.request

    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            status, payload, hdrs = r.status, r.read(), r.headers
    except urllib.error.HTTPError as exc:
        status, payload, hdrs = exc.code, exc.read(), exc.headers
    try:
        parsed = json.loads(payload) if payload else None
    except ValueError:
        parsed = payload
    return HttpReply(status, parsed, {k.lower(): v for k, v in hdrs.items()})


def basic_auth(system_id: str, password: str) -> dict[str, str]:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{system_id}:{password}".encode()).decode()}
