"""The customer cabinet in headless Chromium (as the reports page is tested):
a customer logs in, uploads the FAQ's base of 1,000 rows with 44 duplicates,
makes and starts a personalised campaign, watches its report fill, filters
it, reads it in Ukrainian, exports it, cleans the base, sends one SMS,
searches it, and applies for a sender name; another customer's data never
appears."""
from __future__ import annotations

import csv
import io
import json
import re
import struct

from clients import PW, bound, new_user
from test_ops_http import _http as http_base
from test_reports_browser import PNG_SIGNATURE, browser, column  # noqa: F401 (the fixture)
from test_reports_http import reports_server


def faq_csv(path, kept: int = 956, duplicates: int = 44):
    rows = ["phone;name"] + [f"38067{1000000 + i};Name{i}" for i in range(kept)]
    rows += [f"+38 067 {1000000 + i}; Again{i}" for i in range(duplicates)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def check_png(path, width: int = 1200) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    w, h = struct.unpack(">II", data[16:24])
    assert w == width and h >= 400, (w, h)
    assert len(data) > 20_000, len(data)


def test_a_customer_works_in_the_cabinet(server_factory, browser, tmp_path):  # noqa: F811
    srv = reports_server(server_factory, campaigns={"rate": 400.0}, rules=[
        {"suffix": "0001", "outcome": "UNDELIV"}, {"suffix": "0002", "outcome": "REJECTD"},
    ])
    base = http_base(srv)
    sid, other = new_user(srv, balance="1000"), new_user(srv)
    # the other customer's base and campaign, made by the CLI
    theirs = tmp_path / "theirs.csv"
    theirs.write_text("phone;name\n380509990001;Secret\n")
    srv.cli("base", "upload", "--account", other, "--csv", str(theirs), "--name", "their-base")
    their_base = json.loads(srv.cli("base", "list", "--account", other, "--json").stdout)[0]["id"]
    their_campaign = json.loads(srv.cli("campaign", "create", "--account", other, "--base", str(their_base),
                                        "--sender", "SMSClub", "--text", "Hi #name#", "--name", "their-campaign",
                                        "--json").stdout)["id"]

    # each customer's SMPP client gets something wrong: an alpha-name with TON 1, UTF-8 bytes as data_coding 0
    for who, body in ((sid, {"src": "SMSClub", "ton": 1}), (other, {"text": "привіт".encode(), "dc": 0})):
        conn = bound(srv, who)
        conn.submit(2, **body)
        conn.sock.close()

    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.set_default_timeout(15_000)
    page.goto(base + "/cabinet/?lang=en")
    page.fill("#system_id", sid)
    page.fill("#password", "wrong")
    page.click("#login button")
    assert page.inner_text("[role=alert]") == "Wrong login or password"
    page.fill("#system_id", sid)
    page.fill("#password", PW)
    page.click("#login button")
    page.wait_for_url(base + "/cabinet/home")
    session = {c["name"]: c for c in page.context.cookies()}["smsc_cabinet"]
    assert (session["httpOnly"], session["sameSite"], session["path"]) == (True, "Strict", "/cabinet")
    assert page.inner_text("#balance") == "1000.00 UAH"
    assert page.inner_text("#who") == sid

    # FAQ 2 and 7: "Бази номерів" -> "Додати базу"; 1000 rows in, 956 kept
    page.click("header >> text=Number bases")
    page.fill("#upload [name=name]", "clients")
    page.set_input_files("#csv", str(faq_csv(tmp_path / "clients.csv")))
    page.click("#upload button")
    page.wait_for_url(re.compile(r".*/cabinet/bases/\d+$"))
    assert page.inner_text("#flash") == "1000 in, 956 kept, 44 duplicates, 0 invalid"
    assert page.inner_text("#base-size") == "956"
    base_url = page.url
    base_id = int(base_url.rsplit("/", 1)[1])

    page.fill("#create [name=text]", "Hi #abonent_name#")
    page.click("#create button")
    page.wait_for_url(re.compile(r".*/cabinet/campaigns/\d+$"))
    campaign_url = page.url
    assert page.inner_text("#funds") == "The balance covers the estimate"
    assert page.inner_text("#c-estimate") == "401.52"  # 956 x 0.42
    page.click("#start")
    page.wait_for_url(campaign_url)
    delivered = []
    for _ in range(200):
        page.goto(campaign_url)
        counts = dict(zip(column(page, "counts", 1), map(int, column(page, "counts", 3)), strict=True))
        delivered.append(counts["DELIVRD"])
        if page.inner_text("#c-state").startswith("sent") and not (counts["PENDING"] or counts["ENROUTE"]):
            break
        page.wait_for_timeout(100)
    assert {s: n for s, n in counts.items() if n} == {"DELIVRD": 954, "UNDELIV": 1, "REJECTD": 1}
    assert delivered == sorted(delivered) and delivered[0] < 954, delivered  # it filled up while we watched
    assert page.locator("#share rect").count() >= 3 and page.locator("#timeline rect").count() >= 1
    assert page.inner_text("#page") == "Page 1 of 10, 956 recipients"
    assert len(column(page, "recipients", 1)) == 100
    page.click("#pager >> text=Next")
    assert column(page, "recipients", 1)[0] == "380671000100"

    page.select_option("#status", "UNDELIV")
    page.click("#filter button")
    page.wait_for_url(f"{campaign_url}?status=UNDELIV")
    assert column(page, "recipients", 1) == ["380671000001"]
    assert column(page, "recipients", 2) == ["UNDELIV (Undeliverable)"]
    assert column(page, "recipients", 4) == ["Hi Name1"]

    # Ukrainian: the FAQ's words beside the stat codes
    page.click("#lang >> text=UK")
    assert column(page, "recipients", 2) == ["UNDELIV (НЕДОСТАВЛЮВАНЕ)"]
    names = dict(zip(column(page, "counts", 1), column(page, "counts", 2), strict=True))
    assert (names["ENROUTE"], names["DELIVRD"], names["EXPIRED"], names["UNDELIV"], names["UNKNOWN"],
            names["REJECTD"]) == ("ВІДПРАВЛЕНО", "ДОСТАВЛЕНО", "ЗАКІНЧИВСЯ ТЕРМІН", "НЕДОСТАВЛЮВАНЕ",
                                  "ОЧІКУВАННЯ ОТРИМАННЯ ВІДПОВІДІ", "ВІДХИЛЕНО")
    assert page.inner_text("header >> text=Звіти") == "Звіти"
    shot = tmp_path / "campaign.png"
    page.goto(campaign_url)
    page.screenshot(path=str(shot), full_page=True)
    check_png(shot)

    exported = page.context.request.get(campaign_url + "/export.csv")
    assert exported.status == 200 and exported.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(exported.text().lstrip("\ufeff"))))
    assert rows[0] == ["msisdn", "status", "status_name", "message_id", "text", "detail", "done_at", "name"]
    assert len(rows) == 957 and rows[2][:3] == ["380671000001", "UNDELIV", "НЕДОСТАВЛЮВАНЕ"]
    only = page.context.request.get(campaign_url + "/export.csv?status=REJECTD").text().lstrip("\ufeff")
    assert [r[0] for r in csv.reader(io.StringIO(only))][1:] == ["380671000002"]

    # FAQ 13: clean the base after the mailing; the report stays
    page.goto(base_url)
    page.select_option("#campaign", campaign_url.rsplit("/", 1)[1])
    page.click("#clean button")
    page.wait_for_url(base_url)
    assert page.inner_text("#flash") == "-2" and page.inner_text("#base-size") == "954"
    page.goto(campaign_url)
    assert page.inner_text("#c-recipients") == "956"

    # FAQ 5: a single SMS, then the message search
    page.click("header >> text=Головна")
    page.fill("#send [name=to]", "+38 067 555 44 33")
    page.fill("#send [name=text]", "Привіт")
    page.click("#send button")
    page.wait_for_url(base + "/cabinet/home")
    assert page.inner_text("#flash").startswith("Повідомлення прийнято: "), page.inner_text("#flash")
    page.fill("#apply [name=name]", "MyShop")
    page.click("#apply button")
    page.wait_for_url(base + "/cabinet/home")
    assert column(page, "applications", 1) == ["MyShop"]
    assert column(page, "applications", 2) == ["PENDING (НА РОЗГЛЯДІ)"]
    assert "MyShop" not in page.inner_text("#senders")
    page.click("header >> text=Повідомлення")
    page.fill("#number", "0675554433")
    page.click("#search button")
    assert column(page, "messages", 8) == ["Привіт"]

    # the SMPP client report: its own bind's finding, with the advice in Ukrainian
    page.click("header >> text=SMPP-клієнт")
    page.wait_for_url(base + "/cabinet/client")
    assert column(page, "findings", 1) == ["refused_ESME_RINVSRCTON", "wrong_source_ton"]
    assert column(page, "findings", 6)[1].startswith("Використовуйте TON 5")
    assert column(page, "binds", 2) == ["transceiver"]

    # another customer's data never appears
    page.click("header >> text=Бази номерів")
    assert column(page, "bases", 2) == ["clients"]
    page.click("header >> text=Звіти")
    assert column(page, "campaigns", 2) == ["clients"]
    for path in (f"/cabinet/bases/{their_base}", f"/cabinet/campaigns/{their_campaign}",
                 f"/cabinet/campaigns/{their_campaign}/export.csv"):
        r = page.goto(base + path)
        assert r.status == 404, path
        assert "Secret" not in page.content() and "their-" not in page.content()
    assert "data_coding_mismatch" not in page.goto(base + "/cabinet/client?since=0").text()
    page.goto(base + "/cabinet/messages?number=380509990001")
    assert column(page, "messages", 1) == ["немає даних"]
    assert base_id != their_base

    page.click("header >> text=Вийти")
    page.wait_for_url(base + "/cabinet/")
    page.goto(base + "/cabinet/home")
    assert page.url == base + "/cabinet/"
