"""The reports page over plain HTTP against a real server: who gets in, what
bad input and unknown things answer, and what the pages say.

The browser test (test_reports_browser.py) drives the same pages as a
person would; these pin the status codes and headers a browser hides.
"""
from __future__ import annotations

import http.client
import re
import time
import urllib.parse
from pathlib import Path

from clients import PW, Esme, new_user
from test_ops_http import _http as http_base

from smsc.campaigns import store as campaigns
from smsc.store.sqlite import Store
from smsc.web.auth import token_sha256

TOKEN = "reports-token-0123456789abcdef"


class Client:
    """http.client, one request per call, redirects not followed (so 303s
    and Set-Cookie are seen as sent)."""

    def __init__(self, base: str, cookie: str = "", bearer: str = "") -> None:
        self.host, port = urllib.parse.urlsplit(base).netloc.split(":")
        self.port = int(port)
        self.headers = {}
        if cookie:
            self.headers["Cookie"] = f"smsc_admin={cookie}"
        if bearer:
            self.headers["Authorization"] = f"Bearer {bearer}"

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, dict, str]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        headers = dict(self.headers)
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        text = r.read().decode()
        conn.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, text

    def get(self, path: str) -> tuple[int, dict, str]:
        return self.request("GET", path)


def reports_server(server_factory, **kw):
    return server_factory(http={"enabled": True, "port": 0, "admin_token_sha256": token_sha256(TOKEN)}, **kw)


def cells(html: str, table_id: str) -> list[list[str]]:
    """The text of each body row of the table with ``table_id``."""
    m = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S)
    assert m, f"no table {table_id}"
    body = m.group(1).split("<tbody>", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def make_campaign(store_path: Path, system_id: str, numbers: list[str], text: str) -> int:
    """A running campaign made through the campaigns store (as the CLI
    would); the server's runner sends it."""
    store = Store(str(store_path))
    try:
        cid = campaigns.create_campaign(store, campaigns.NewCampaign(
            name="spring <sale>", system_id=system_id, sender="SMSClub", template=text, rate=100.0,
            phone_column="phone", columns=("phone",), rows_in=len(numbers), invalid=0, duplicates=0,
            estimate_segments=len(numbers), estimate_kopecks=0,
            recipients=tuple(campaigns.NewRecipient(n, {"phone": n}, i + 2, text) for i, n in enumerate(numbers)),
        ))
        assert campaigns.set_state(store, cid, ("draft",), "running")
    finally:
        store.close()
    return cid


def wait_final(store_path: Path, campaign_id: int, timeout: float = 15.0) -> campaigns.CampaignSummary:
    """The campaign once every recipient has a final status."""
    deadline = time.monotonic() + timeout
    store = Store(str(store_path))
    try:
        while True:
            summary, _ = campaigns.campaign_report(store, campaign_id)
            if not (summary.counts["PENDING"] or summary.counts["ENROUTE"]) and summary.state == "sent":
                return summary
            assert time.monotonic() < deadline, summary
            time.sleep(0.1)
    finally:
        store.close()


def test_off_without_a_configured_token(server_factory):
    srv = server_factory(http={"enabled": True, "port": 0})
    web = Client(http_base(srv), bearer=TOKEN)
    for path in ("/reports/", "/reports/accounts"):
        status, _, text = web.get(path)
        assert status == 403 and "No admin token is configured" in text, (path, status)
    status, _, text = web.request("POST", "/reports/login", {"token": TOKEN})
    assert status == 403


def test_login_cookie_and_logout(server_factory):
    srv = reports_server(server_factory)
    base = http_base(srv)
    anon = Client(base)
    status, headers, _ = anon.get("/reports")
    assert (status, headers["location"]) == (303, "/reports/")
    status, headers, text = anon.get("/reports/")
    assert status == 200 and '<form method="post" action="/reports/login">' in text
    assert "default-src 'none'" in headers["content-security-policy"]
    for path in ("/reports/accounts", "/reports/campaigns", "/reports/campaigns/1", "/reports/messages?number=1"):
        status, headers, text = anon.get(path)
        assert (status, headers.get("location")) == (303, "/reports/"), path
        assert "test" not in text  # nothing of the data

    status, headers, text = anon.request("POST", "/reports/login", {"token": TOKEN + "x"})
    assert status == 403 and "token: not the admin token" in text and 'name="token"' in text
    assert "set-cookie" not in headers
    status, _, text = anon.request("POST", "/reports/login", {"token": " "})
    assert status == 400 and "token: enter the admin token" in text
    status, _, _ = anon.get("/reports/login")
    assert status == 405

    status, headers, _ = anon.request("POST", "/reports/login", {"token": TOKEN + "\n"})
    assert (status, headers["location"]) == (303, "/reports/accounts")
    cookie = headers["set-cookie"]
    assert cookie.startswith(f"smsc_admin={TOKEN};")
    attrs = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/reports"} <= attrs

    for web in (Client(base, cookie=TOKEN), Client(base, bearer=TOKEN)):
        status, _, text = web.get("/reports/accounts")
        assert status == 200 and "<h1>Accounts</h1>" in text
        status, headers, _ = web.get("/reports/")
        assert (status, headers["location"]) == (303, "/reports/accounts")
    status, _, _ = Client(base, cookie="wrong").get("/reports/accounts")
    assert status == 303

    status, headers, _ = Client(base, cookie=TOKEN).request("POST", "/reports/logout")
    assert (status, headers["location"]) == (303, "/reports/")
    assert headers["set-cookie"].startswith("smsc_admin=;") and "max-age=0" in headers["set-cookie"].lower()


def test_pages_with_traffic_and_bad_input(server_factory, tmp_path):
    srv = reports_server(server_factory, rules=[
        {"suffix": "0001", "outcome": "UNDELIV"}, {"suffix": "0002", "outcome": "REJECTD"},
    ])
    web = Client(http_base(srv), cookie=TOKEN)
    sid = new_user(srv, balance="10")
    esme = Esme(srv.port)
    esme.bind("transceiver", sid, PW)
    esme.submit("<b>hi</b> & привіт".encode("utf-16-be"), dest="380671112233", data_coding=8)
    esme.pump_until(lambda: len(esme.receipts) == 1)
    message_id = esme.message_ids()[0]
    esme.close()
    cid = make_campaign(tmp_path / "smsc.db", sid, ["380671110001", "380671110002", "380671110003"], "Sale!")
    summary = wait_final(tmp_path / "smsc.db", cid)
    assert {s: n for s, n in summary.counts.items() if n} == {"UNDELIV": 1, "REJECTD": 1, "DELIVRD": 1}

    status, _, text = web.get("/reports/accounts")
    rows = {r[0]: r for r in cells(text, "accounts")}
    # 4 one-segment messages to Kyivstar at 0.42 each (a UCS-2 text of 16 characters is one segment)
    assert rows[sid] == [sid, "user", "8.32", "SMSClub", "4"]
    assert rows[srv.first_account[0]][1:3] == ["test", "2.00"]

    status, _, text = web.get("/reports/campaigns")
    assert status == 200
    (row,) = cells(text, "campaigns")
    assert row[0] == str(cid) and row[1] == "spring &lt;sale&gt;" and row[4] == "sent"
    assert row[6:] == ["3", "DELIVRD 1, UNDELIV 1, REJECTD 1", "1.26"]
    assert f'<a href="/reports/campaigns/{cid}">' in text

    status, _, text = web.get(f"/reports/campaigns/{cid}?status=UNDELIV")
    assert status == 200
    assert [r[:2] for r in cells(text, "recipients")] == [["380671110001", "UNDELIV"]]
    assert '<option value="UNDELIV" selected>' in text
    counts = dict((s, int(n)) for s, n in cells(text, "counts"))
    assert (counts["DELIVRD"], counts["UNDELIV"], counts["REJECTD"], counts["PENDING"]) == (1, 1, 1, 0)
    status, _, text = web.get(f"/reports/campaigns/{cid}?status=")
    assert [r[0] for r in cells(text, "recipients")] == ["380671110001", "380671110002", "380671110003"]
    status, _, text = web.get(f"/reports/campaigns/{cid}?status=bogus")
    assert status == 400 and "status: &#x27;BOGUS&#x27; is not one of All, PENDING" in text
    assert cells(text, "recipients") == [["no recipients"]]

    status, _, text = web.get("/reports/messages?number=" + urllib.parse.quote("+38 (067) 111-22-33"))
    assert status == 200
    (row,) = cells(text, "messages")
    assert row[:4] == [message_id, sid, "SMSClub", "DELIVRD"]
    assert row[6:] == ["1", "0.42", "&lt;b&gt;hi&lt;/b&gt; &amp; привіт"]
    assert "1 messages to +380671112233" in text
    status, _, text = web.get("/reports/messages?number=380671110001")
    assert [r[3] for r in cells(text, "messages")] == ["UNDELIV"]
    status, _, text = web.get("/reports/messages?number=380501234567")
    assert status == 200 and cells(text, "messages") == [["no messages to +380501234567"]]

    for number, needle in [("12ab", "not digits"), ("067123", "digits")]:
        status, _, text = web.get("/reports/messages?number=" + number)
        assert status == 400 and 'class="error"' in text and "number: destination" in text and needle in text
        assert f'value="{number}"' in text  # the form keeps what was typed
    status, _, text = web.get("/reports/messages")
    assert status == 200 and 'id="messages"' not in text

    for path, needle in [
        ("/reports/campaigns/999", "No campaign 999"),
        ("/reports/campaigns/abc", "No campaign &#x27;abc&#x27;"),
        ("/reports/campaigns/99999999999999999999", "No campaign"),
        ("/reports/nowhere", "No page /reports/nowhere"),
    ]:
        status, _, text = web.get(path)
        assert status == 404 and needle in text, path
    status, headers, _ = web.request("POST", "/reports/accounts", {})
    assert status == 405 and headers["allow"] == "GET, HEAD"


def test_wrong_tokens_on_the_login_form_and_in_cookies_are_throttled(server_factory):
    """The form and the cookie count in the login throttle the API's admin
    token has (issue 14 defect 2): else they are unlimited guesses."""
    srv = reports_server(server_factory, accounts={"max_bind_failures": 3, "max_account_failures": 0})
    anon = Client(http_base(srv))
    statuses = [anon.request("POST", "/reports/login", {"token": f"guess{i}"})[0] for i in range(2)]
    statuses.append(Client(http_base(srv), cookie="guess-cookie").get("/reports/accounts")[0])
    assert statuses == [403, 403, 303]
    status, headers, text = anon.request("POST", "/reports/login", {"token": TOKEN})  # even the right one
    assert status == 429 and "too many wrong tokens" in text and "set-cookie" not in headers
    assert Client(http_base(srv), bearer=TOKEN).get("/reports/accounts")[0] == 429
