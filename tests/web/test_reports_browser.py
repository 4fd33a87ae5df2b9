"""The reports page in a real browser: headless Chromium (Debian's
``chromium`` package, which .ci/run installs) driven by Playwright, against
a real server with SMPP traffic and a campaign made and started by the CLI.

No browser, no pass: a missing /usr/bin/chromium fails the test, saying how
to install it (Playwright's own browser downloads are not used).
"""
from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from clients import PW, Esme, basic_auth, http_call, new_user
from test_ops_http import _http as http_base
from test_reports_http import TOKEN, reports_server, wait_final

CHROMIUM = Path("/usr/bin/chromium")
#: what works here as root in a container: no sandbox, no GPU, nothing that
#: phones home; Playwright adds a fresh --user-data-dir per launch
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def browser() -> Iterator:
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: install Debian's chromium "
        "(apt-get install -y chromium; .ci/run does it) to run the reports browser test"
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def column(page, table_id: str, n: int) -> list[str]:
    """The text of column ``n`` (1-based) of a table's body rows."""
    return page.locator(f"#{table_id} tbody tr td:nth-child({n})").all_inner_texts()


def test_login_filter_search_screenshot(server_factory, browser, tmp_path):
    srv = reports_server(server_factory, rules=[
        {"suffix": "0001", "outcome": "UNDELIV"}, {"suffix": "0002", "outcome": "REJECTD"},
    ])
    base = http_base(srv)
    sid = new_user(srv, balance="10")
    esme = Esme(srv.port)
    esme.bind("transceiver", sid, PW)
    esme.submit(b"Hello from SMPP", dest="380671112233")
    esme.pump_until(lambda: len(esme.receipts) == 1)
    esme.close()

    group = tmp_path / "group.csv"
    group.write_text(
        "phone;name\n380671110001;Ann\n0671110002;Bob\n+38 067 111 00 03;Cy\n380671110004;Di\n"
    )
    created = json.loads(srv.cli(
        "campaign", "create", "--account", sid, "--csv", str(group), "--sender", "SMSClub",
        "--text", "Hi #name#", "--name", "spring", "--json",
    ).stdout)
    campaign_id = created["id"]
    srv.cli("campaign", "start", str(campaign_id))
    wait_final(tmp_path / "smsc.db", campaign_id)

    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.set_default_timeout(10_000)
    page.goto(base + "/reports/")
    assert page.title() == "Log in - smsc"
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/reports/accounts")
    (cookie,) = page.context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (
        "smsc_admin", True, "Strict", "/reports"
    )

    # accounts: 5 one-segment messages to Kyivstar at 0.42 UAH from 10.00
    row = page.locator("#accounts tbody tr", has_text=sid)
    assert row.locator("td").all_inner_texts() == [sid, "user", "7.90", "SMSClub", "5"]

    # the account's SMPP client report, from its link: one polite bind, no findings, over the window chosen
    row.locator(f"text='{sid}'").click()
    page.wait_for_url(f"{base}/reports/clients/{sid}")
    assert column(page, "binds", 2) == ["transceiver"] and column(page, "binds", 6) == ["1"]
    assert column(page, "findings", 1) == ["no findings: the client behaved"]
    page.select_option("#since", "0")
    page.click("#window button")
    page.wait_for_url(f"{base}/reports/clients/{sid}?since=0")
    assert page.input_value("#since") == "0" and column(page, "binds", 2) == ["transceiver"]

    page.click("header >> text=Campaigns")
    page.wait_for_url(base + "/reports/campaigns")
    assert column(page, "campaigns", 2) == ["spring"]
    assert column(page, "campaigns", 8) == ["DELIVRD 2, UNDELIV 1, REJECTD 1"]
    page.click(f"#campaigns >> text='{campaign_id}'")
    page.wait_for_url(f"{base}/reports/campaigns/{campaign_id}")
    counts = dict(zip(column(page, "counts", 1), map(int, column(page, "counts", 2)), strict=True))
    assert {s: n for s, n in counts.items() if n} == {"DELIVRD": 2, "UNDELIV": 1, "REJECTD": 1}
    assert column(page, "recipients", 1) == ["380671110001", "380671110002", "380671110003", "380671110004"]

    page.select_option("#status", "UNDELIV")
    page.click("#filter button")
    page.wait_for_url(f"{base}/reports/campaigns/{campaign_id}?status=UNDELIV")
    assert column(page, "recipients", 1) == ["380671110001"]
    assert column(page, "recipients", 2) == ["UNDELIV"]
    assert column(page, "recipients", 4) == ["Hi Ann"]
    assert page.input_value("#status") == "UNDELIV"  # the filter shows what it filters by

    page.click("header >> text=Messages")
    page.fill("#number", "+38 067 111 22 33")
    page.click("#search button")
    page.wait_for_url("**/reports/messages?number=*")
    assert column(page, "messages", 4) == ["DELIVRD"]
    assert column(page, "messages", 9) == ["Hello from SMPP"]
    assert page.input_value("#number") == "+38 067 111 22 33"

    page.goto(f"{base}/reports/campaigns/{campaign_id}")
    shot = tmp_path / "campaign.png"
    page.screenshot(path=str(shot), full_page=True)
    data = shot.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width == 1200 and height >= 400, (width, height)
    assert len(data) > 20_000, len(data)

    page.click("header >> text=Log out")
    page.wait_for_url(base + "/reports/")
    assert page.context.cookies() == []
    page.goto(base + "/reports/accounts")
    assert page.url == base + "/reports/"  # sent back to the login form


def login(browser, base: str):
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.set_default_timeout(10_000)
    page.goto(base + "/reports/")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/reports/accounts")
    return page


def test_a_clients_own_ucs2_parts_and_a_rejectd_read_as_sent(server_factory, browser, tmp_path):
    """A client sending its own UDH-concatenated UCS-2 parts (python-smpplib's
    make_parts) saw "(undecodable, data_coding 8: ...)" on the page, where
    the HTTP API showed the text; a REJECTD recipient had an empty detail."""
    import smpplib.consts
    import smpplib.gsm

    srv = reports_server(server_factory, rules=[{"suffix": "0002", "outcome": "REJECTD"}])
    base = http_base(srv)
    sid = new_user(srv, balance="10")
    text = "Привіт! Ваше замовлення №1234 готове до видачі у відділенні. Дякуємо, що обрали нас. До зустрічі!"
    parts, coding, esm_class = smpplib.gsm.make_parts(text, encoding=smpplib.consts.SMPP_ENCODING_ISO10646)
    assert len(parts) == 2 and esm_class == 0x40 and coding == 8
    esme = Esme(srv.port)
    esme.bind("transceiver", sid, PW)
    for part in parts:
        esme.submit(part, dest="380671113344", data_coding=coding, esm_class=esm_class)
    esme.pump_until(lambda: len(esme.receipts) == 2)
    esme.close()
    sent = [p[6:].decode("utf-16-be") for p in parts]  # each part's text, after its 6-octet UDH
    assert "".join(sent) == text
    api = [http_call("GET", f"{base}/api/v1/messages/{i}", headers=basic_auth(sid, PW)).body["text"]
           for i in esme.message_ids()]
    assert api == sent

    group = tmp_path / "group.csv"
    group.write_text("phone\n380671110001\n380671110002\n")
    campaign_id = json.loads(srv.cli(
        "campaign", "create", "--account", sid, "--csv", str(group), "--sender", "SMSClub",
        "--text", "Hi", "--json").stdout)["id"]
    srv.cli("campaign", "start", str(campaign_id))
    wait_final(tmp_path / "smsc.db", campaign_id)

    page = login(browser, base)
    page.click("header >> text=Messages")
    page.fill("#number", "0671113344")
    page.click("#search button")
    page.wait_for_url("**/reports/messages?number=*")
    assert sorted(column(page, "messages", 9)) == sorted(sent)  # as the HTTP API shows them

    page.goto(f"{base}/reports/campaigns/{campaign_id}")
    rows = page.locator("#recipients tbody tr")
    assert [r.locator("td").all_inner_texts()[:2] + r.locator("td").all_inner_texts()[4:5]
            for r in rows.all()] == [["380671110001", "DELIVRD", ""], ["380671110002", "REJECTD", "err:013"]]
