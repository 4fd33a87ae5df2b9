"""The conformance report's pages over HTTP against a real server: the
operator's ``/reports/clients/SID`` (linked from the accounts list) and the
customer's own ``/cabinet/client``, each over a ``since`` window."""
from __future__ import annotations

import time

from clients import PW, bound, new_user, raw_pdu
from test_cabinet_http import Browser, csrf_of
from test_ops_http import _http as http_base
from test_reports_http import TOKEN, Client, cells, reports_server

UNBIND, UNBIND_RESP = 0x00000006, 0x80000006


def _report(web: Client, sid: str, since: str = "3600", binds: int = 1) -> tuple[int, str]:
    """The page once ``binds`` binds of ``sid`` are stored (written when a session ends)."""
    deadline = time.monotonic() + 10
    while True:
        status, _, text = web.get(f"/reports/clients/{sid}?since={since}")
        if status != 200 or len([r for r in cells(text, "binds") if len(r) > 1]) >= binds:
            return status, text
        assert time.monotonic() < deadline, text
        time.sleep(0.1)


def _cabinet(base: str, sid: str) -> Browser:
    b = Browser()
    pre = csrf_of(b.go(base + "/cabinet/?lang=en")[1])
    assert b.go(base + "/cabinet/login", {"system_id": sid, "password": PW, "csrf": pre})[0] == 303
    return b


def test_a_clients_report_on_the_reports_page_and_in_its_own_cabinet(server_factory):
    srv = reports_server(server_factory)
    base = http_base(srv)
    web = Client(base, cookie=TOKEN)
    bad, good = new_user(srv), new_user(srv)

    conn = bound(srv, bad)
    assert conn.submit(2, src="SMSClub", ton=1)[0] == 0x48  # an alpha-name with TON 1: ESME_RINVSRCTON
    conn.submit(3, text=b"again")
    conn.submit(4, text=b"again")  # the same text to the same number at once
    conn.sock.close()
    polite = bound(srv, good)
    assert polite.submit(2, text=b"fine")[0] == 0
    polite.wait_delivered(lambda d: len(d) == 1)
    polite.send(raw_pdu(UNBIND, 3))
    assert polite.read().command_id == UNBIND_RESP

    status, _, text = web.get("/reports/accounts")
    assert status == 200 and f'<a href="/reports/clients/{bad}">{bad}</a>' in text

    status, text = _report(web, bad)
    assert status == 200 and f"<h1>SMPP client {bad}</h1>" in text
    assert '<option value="3600" selected>' in text  # the window shown is the one asked for
    rows = {r[0]: r for r in cells(text, "findings")}
    assert {"wrong_source_ton", "resubmit"} <= set(rows), rows
    kind, count, first, last, detail, advice, example = rows["wrong_source_ton"]
    assert count == "1" and first == last and time.strftime("%Y-%m-%d", time.gmtime()) in first
    assert "TON 1" in detail and advice.startswith("Use TON 5 (alphanumeric)")
    # the submit_sm itself: command_id 4, sequence 2, and the sender's bytes
    assert example[8:16] == "00000004" and example[24:32] == "00000002" and b"SMSClub".hex() in example
    assert rows["resubmit"][1] == "1" and "query_sm" in rows["resubmit"][5]
    (bind_row,) = cells(text, "binds")
    assert bind_row[1:3] == ["transceiver", "127.0.0.1"] and bind_row[5] == "3"
    assert "wrong_source_ton ×1" in bind_row[6] and bind_row[4]  # ended

    status, text = _report(web, good)
    assert cells(text, "findings") == [["no findings: the client behaved"]]
    assert [r[5] for r in cells(text, "binds")] == ["1"]

    status, _, text = web.get(f"/reports/clients/{bad}?since=0")  # every bind kept
    assert status == 200 and "wrong_source_ton" in text
    status, _, text = web.get("/reports/clients/nobody")
    assert status == 200 and cells(text, "binds") == [["no binds in this window"]]
    status, _, text = web.get(f"/reports/clients/{bad}?since=soon")
    assert status == 400 and "since: &#x27;soon&#x27; is not a number of seconds back" in text
    assert Client(base).get(f"/reports/clients/{bad}")[0] == 303  # not without the admin token

    # the customer sees its own report, and only its own
    status, html, _ = _cabinet(base, bad).go(base + f"/cabinet/client?since=3600&system_id={good}")
    assert status == 200 and 'href="/cabinet/client"' in html
    assert {"wrong_source_ton", "resubmit"} <= {r[0] for r in cells(html, "findings")}
    status, html, _ = _cabinet(base, bad).go(base + "/cabinet/client?lang=uk")
    assert "Використовуйте TON 5" in html and "Use TON 5" not in html  # the advice in the reader's language
    status, html, _ = _cabinet(base, good).go(base + "/cabinet/client")
    assert status == 200 and cells(html, "findings") == [["no findings: the client behaved"]]
    assert "wrong_source_ton" not in html
    status, html, _ = _cabinet(base, good).go(base + "/cabinet/client?since=-5&lang=uk")
    assert status == 400 and "Період" in html
