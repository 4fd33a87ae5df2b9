"""The cabinet's and the reports page's form protections over plain HTTP:
CSRF tokens, sessions, the login throttle; the operator's sender-name page."""
from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

from clients import PW, basic_auth, http_call, new_user
from test_ops_http import _http as http_base
from test_reports_http import TOKEN, reports_server


class Browser:
    """urllib with cookies and no redirects followed."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **kw):
                return None

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def go(self, url: str, form: dict | None = None, headers: dict | None = None) -> tuple[int, str, dict]:
        data = None if form is None else urllib.parse.urlencode(form).encode()
        req = urllib.request.Request(url, data=data, headers=headers or {})
        if data is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with self.opener.open(req, timeout=15) as r:
                return r.status, r.read().decode(), dict(r.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(), dict(exc.headers)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_csrf_sessions_and_the_login_throttle(server_factory):
    srv = reports_server(server_factory, accounts={"max_bind_failures": 3})
    base = http_base(srv) + "/cabinet"
    sid = new_user(srv)
    b = Browser()
    status, html, _ = b.go(base + "/")
    pre = csrf_of(html)
    # a login without the pre-session token is refused
    assert b.go(base + "/login", {"system_id": sid, "password": PW})[0] == 403
    pre = csrf_of(b.go(base + "/")[1])  # each login form has a fresh one
    status, _, headers = b.go(base + "/login", {"system_id": sid, "password": PW, "csrf": pre})
    assert (status, headers["Location"]) == (303, "/cabinet/home")
    assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=strict" in headers["Set-Cookie"]
    status, html, _ = b.go(base + "/home")
    assert status == 200 and sid in html
    token = csrf_of(html)
    assert token != pre
    # a form without the session's token changes nothing
    status, html, _ = b.go(base + "/senders", {"name": "Forged"})
    assert status == 403
    assert b.go(base + "/senders", {"name": "Forged", "csrf": "x" * len(token)})[0] == 403
    assert "Forged" not in b.go(base + "/home")[1]
    assert b.go(base + "/senders", {"name": "Real", "csrf": token})[0] == 303
    assert "Real" in b.go(base + "/home")[1]
    # log out ends the session server-side: the old cookie is worth nothing
    old = [c for c in b.jar if c.name == "smsc_cabinet"][0].value
    assert b.go(base + "/logout", {"csrf": token})[0] == 303
    assert b.go(base + "/home", headers={"Cookie": f"smsc_cabinet={old}"})[0] == 303

    # wrong passwords are throttled as binds are
    other = Browser()
    for _ in range(3):
        pre = csrf_of(other.go(base + "/")[1])
        assert other.go(base + "/login", {"system_id": sid, "password": "wrong", "csrf": pre})[0] == 403
    pre = csrf_of(other.go(base + "/")[1])
    status, html, _ = other.go(base + "/login", {"system_id": sid, "password": PW, "csrf": pre})
    assert status == 429 and "Забагато невдалих спроб" in html


def test_the_operator_approves_and_rejects_on_the_reports_page(server_factory):
    srv = reports_server(server_factory)
    sid = new_user(srv)
    api = http_base(srv) + "/api/v1"
    for name in ("Shop", "Spam"):
        assert http_call("POST", f"{api}/senders", {"name": name}, basic_auth(sid, PW)).status == 201
    b = Browser()
    admin = {"Authorization": f"Bearer {TOKEN}"}
    status, html, _ = b.go(http_base(srv) + "/reports/senders", headers=admin)
    assert status == 200 and html.count("Approve") == 2
    token = csrf_of(html)
    url = http_base(srv) + "/reports/senders"
    assert b.go(url + "/approve", {"system_id": sid, "name": "Shop"}, admin)[0] == 403
    assert b.go(url + "/approve", {"system_id": sid, "name": "Shop", "csrf": token}, admin)[0] == 303
    assert b.go(url + "/reject", {"system_id": sid, "name": "Spam", "csrf": token}, admin)[0] == 400
    assert b.go(url + "/reject", {"system_id": sid, "name": "Spam", "csrf": token, "reason": "spam"}, admin)[0] == 303
    apps = {a["name"]: a for a in http_call("GET", f"{api}/senders", headers=basic_auth(sid, PW)).body["applications"]}
    assert (apps["Shop"]["state"], apps["Spam"]["state"], apps["Spam"]["reason"]) == ("APPROVED", "REJECTED", "spam")
    assert "Shop" in srv.cli("account", "show", sid).stdout
