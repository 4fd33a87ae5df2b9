"""dlr_url callbacks: the final state POSTed to the client, retried with
backoff, given up after the last retry, and not lost to a kill -9."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from clients import basic_auth, http_base, http_call


class Receiver:
    """An HTTP server on 127.0.0.1 recording every POST (path, JSON body);
    the first ``fail`` of them get a 500."""

    def __init__(self, fail: int = 0) -> None:
        self.posts: list[tuple[str, dict, float]] = []
        self.fail = fail
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.posts.append((self.path, body, time.monotonic()))
                failing = len(receiver.posts) <= receiver.fail
                self.send_response(500 if failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def wait(self, n: int, timeout: float = 15.0) -> list[tuple[str, dict, float]]:
        deadline = time.monotonic() + timeout
        while len(self.posts) < n:
            assert time.monotonic() < deadline, self.posts
            time.sleep(0.02)
        return self.posts

    def close(self) -> None:
        self.http.shutdown()


RULES = [{"suffix": "0001", "outcome": "UNDELIV"}, {"suffix": "0002", "outcome": "REJECTD", "delay": 2.0}]


def send(api: str, auth: dict, to: str, dlr_url: str) -> str:
    r = http_call("POST", f"{api}/messages", {"from": "SMSClub", "to": to, "text": "hi", "dlr_url": dlr_url}, auth)
    assert r.status == 201, r
    return r.body["id"]


def test_callbacks_with_retries(server_factory):
    srv = server_factory(http={"enabled": True, "port": 0, "callback_backoff": 0.2, "callback_retries": 3},
                         rules=RULES)
    api = http_base(srv) + "/api/v1"
    auth = basic_auth(*srv.first_account)
    flaky = Receiver(fail=2)
    try:
        mid = send(api, auth, "380671110001", flaky.url + "/dlr?secret=s3cr3t")
        posts = flaky.wait(3)
        time.sleep(0.5)
        assert len(flaky.posts) == 3  # 2xx ends it
        status = http_call("GET", f"{api}/messages/{mid}", headers=auth).body
        expected = {"id": mid, "status": "UNDELIV", "error": status["error"], "to": "380671110001",
                    "done_at": status["done_at"]}
        assert status["status"] == "UNDELIV" and isinstance(status["error"], int)
        assert [(p, b) for p, b, _ in posts] == [("/dlr?secret=s3cr3t", expected)] * 3
        # backoff: 0.2 s, then 0.4 s
        gaps = [b[2] - a[2] for a, b in zip(posts, posts[1:], strict=False)]
        assert 0.15 < gaps[0] < 0.4 + 0.8 and 0.35 < gaps[1], gaps  # (slack for a busy CI machine)
        # the secret in the query string is never logged
        assert not any("s3cr3t" in line for line in srv.output)
    finally:
        flaky.close()

    dead = Receiver(fail=100)
    try:
        send(api, auth, "380671234567", dead.url + "/never")
        dead.wait(4)  # the first try and 3 retries ...
        time.sleep(1.5)
        assert len(dead.posts) == 4  # ... then given up
        assert all(b["status"] == "DELIVRD" for _, b, _ in dead.posts)
    finally:
        dead.close()


def test_callback_survives_kill_after_201(server_factory, tmp_path):
    http = {"enabled": True, "port": 0, "callback_backoff": 0.2}
    srv = server_factory(http=http, rules=RULES)
    api = http_base(srv) + "/api/v1"
    auth = basic_auth(*srv.first_account)
    receiver = Receiver()
    try:
        mid = send(api, auth, "380671110002", receiver.url + "/cb")  # REJECTD after 2 s
        srv.kill()
        assert receiver.posts == []
        again = server_factory(store=tmp_path / "smsc.db", http=http, rules=RULES)
        assert any("recovered 1 unfinished" in line for line in again.output), again.output
        (path, body, _), = receiver.wait(1)
        assert path == "/cb"
        assert body["id"] == mid and body["status"] == "REJECTD" and body["to"] == "380671110002"
        api2 = http_base(again) + "/api/v1"
        assert http_call("GET", f"{api2}/messages/{mid}", headers=auth).body["done_at"] == body["done_at"]
        # delivered once: a graceful restart sends nothing again
        assert again.stop() == 0
        third = server_factory(store=tmp_path / "smsc.db", http=http, rules=RULES)
        http_base(third)
        time.sleep(1.0)
        assert len(receiver.posts) == 1
    finally:
        receiver.close()
