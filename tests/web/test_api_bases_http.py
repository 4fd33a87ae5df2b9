"""Number bases, campaigns and sender-name applications over the HTTP API
(JSON), against a real server: another account's data never shows."""
from __future__ import annotations

import time

from clients import PW, basic_auth, http_call, new_user
from test_api_http import ADMIN, api_server, assert_error


def faq_rows(kept: int = 956, duplicates: int = 44) -> str:
    rows = ["phone;name"] + [f"38067{2000000 + i};Name{i}" for i in range(kept)]
    rows += [f"067{2000000 + i};Again{i}" for i in range(duplicates)]
    return "\n".join(rows) + "\n"


def wait_sent(api: str, auth: dict, cid: int, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        c = http_call("GET", f"{api}/campaigns/{cid}", headers=auth).body
        if c["state"] == "sent" and not (c["counts"]["PENDING"] or c["counts"]["ENROUTE"]):
            return c
        assert time.monotonic() < deadline, c
        time.sleep(0.1)


def test_bases_campaigns_clean_and_senders(server_factory):
    srv, api = api_server(server_factory, rules=[
        {"suffix": "0001", "outcome": "UNDELIV"}, {"suffix": "0002", "outcome": "REJECTD"},
    ])
    sid, other = new_user(srv, balance="1000"), new_user(srv)
    auth, them = basic_auth(sid, PW), basic_auth(other, PW)

    r = http_call("POST", f"{api}/bases", {"name": "clients", "csv": faq_rows()}, auth)
    assert r.status == 201, r
    assert r.body["summary"] == "1000 in, 956 kept, 44 duplicates, 0 invalid"
    assert (r.body["size"], r.body["duplicates"], r.body["invalid_rows"]) == (956, 44, [])
    big = r.body["id"]
    assert_error(http_call("POST", f"{api}/bases", {"name": "x", "csv": "a;b\n1;2\n"}, auth), 400,
                 "invalid_field", "csv")

    small = http_call("POST", f"{api}/bases", {"name": "vip", "csv": (
        "phone,name\n380671110001,Ann\n380671110002,Bob\n380671110003,Cy\n")}, auth).body["id"]
    assert [b["name"] for b in http_call("GET", f"{api}/bases", headers=auth).body["bases"]] == ["vip", "clients"]
    # another account sees none of them, and cannot touch them
    assert http_call("GET", f"{api}/bases", headers=them).body == {"bases": []}
    for method, path, body in [("GET", f"/bases/{small}", None), ("DELETE", f"/bases/{small}", None),
                               ("PATCH", f"/bases/{small}", {"name": "mine"}),
                               ("POST", f"/bases/{small}/numbers", {"numbers": ["0501112233"]}),
                               ("POST", "/campaigns", {"base": small, "text": "x", "from": "SMSClub"})]:
        assert_error(http_call(method, api + path, body, them), 404, "not_found", "id")

    r = http_call("PATCH", f"{api}/bases/{big}", {"name": "spring"}, auth)
    assert (r.status, r.body["name"]) == (200, "spring")
    r = http_call("POST", f"{api}/bases/{big}/numbers", {"numbers": ["+380 50 111 22 33", "0672000000"]}, auth)
    assert (r.body["added"], r.body["base"]["size"]) == (1, 957)
    r = http_call("DELETE", f"{api}/bases/{big}/numbers", {"numbers": ["380501112233"]}, auth)
    assert (r.body["removed"], r.body["base"]["size"]) == (1, 956)
    assert_error(http_call("POST", f"{api}/bases/{big}/numbers", {"numbers": ["12"]}, auth), 400,
                 "invalid_field", "numbers")

    made = http_call("POST", f"{api}/campaigns", {"base": small, "text": "Hi #abonent_name#", "from": "SMSClub"},
                     auth)
    assert made.status == 201, made
    cid = made.body["id"]
    assert (made.body["estimate"]["recipients"], made.body["estimate"]["kopecks"], made.body["balance_covers"]) == (
        3, 126, True)
    assert_error(http_call("POST", f"{api}/campaigns", {"base": small, "text": "x", "from": "Nope"}, auth),
                 422, "invalid_campaign", "from")
    assert_error(http_call("GET", f"{api}/campaigns/{cid}", headers=them), 404, "not_found", "id")
    assert http_call("GET", f"{api}/campaigns", headers=them).body == {"campaigns": []}
    r = http_call("POST", f"{api}/campaigns/{cid}/start", headers=auth)
    assert (r.status, r.body["state"]) in ((200, "running"), (200, "sent")), r
    assert_error(http_call("POST", f"{api}/campaigns/{cid}/start", headers=auth), 409, "conflict")
    done = wait_sent(api, auth, cid)
    assert {k: v for k, v in done["counts"].items() if v} == {"DELIVRD": 1, "UNDELIV": 1, "REJECTD": 1}

    page = http_call("GET", f"{api}/campaigns/{cid}/recipients?status=UNDELIV", headers=auth).body
    assert (page["total"], [x["msisdn"] for x in page["recipients"]]) == (1, ["380671110001"])
    assert page["recipients"][0]["text"] == "Hi Ann"
    page = http_call("GET", f"{api}/campaigns/{cid}/recipients?offset=1&limit=1", headers=auth).body
    assert (page["total"], page["offset"], [x["msisdn"] for x in page["recipients"]]) == (3, 1, ["380671110002"])

    r = http_call("POST", f"{api}/bases/{small}/clean", {"campaign": cid}, auth)
    assert (r.status, r.body["removed"], r.body["base"]["size"]) == (200, 2, 1), r
    # the campaign's report is untouched
    assert http_call("GET", f"{api}/campaigns/{cid}/recipients", headers=auth).body["total"] == 3

    # a 1000-row campaign that the balance cannot cover is refused at start
    poor = new_user(srv, balance="1")
    pauth = basic_auth(poor, PW)
    b = http_call("POST", f"{api}/bases", {"name": "c", "csv": faq_rows(30, 0)}, pauth).body["id"]
    c = http_call("POST", f"{api}/campaigns", {"base": b, "text": "hello", "from": "SMSClub"}, pauth).body
    assert c["balance_covers"] is False and c["short_kopecks"] == 30 * 42 - 100
    assert_error(http_call("POST", f"{api}/campaigns/{c['id']}/start", headers=pauth), 402, "insufficient_funds")

    # sender names: pending is unusable until approved; a rejection says why
    r = http_call("POST", f"{api}/senders", {"name": "MyShop"}, auth)
    assert (r.status, r.body["state"], r.body["usable"]) == (201, "PENDING", False), r
    assert_error(http_call("POST", f"{api}/senders", {"name": "MyShop"}, auth), 409, "conflict", "name")
    send = {"from": "MyShop", "to": "380671234567", "text": "hi"}
    assert_error(http_call("POST", f"{api}/messages", send, auth), 422, "invalid_sender", "from", "ESME_RINVSRCADR")
    assert http_call("GET", f"{api}/senders", headers=them).body["applications"] == []
    pending = http_call("GET", f"{api}/admin/alpha-applications", headers=ADMIN).body
    assert [(a["system_id"], a["name"], a["state"]) for a in pending] == [(sid, "MyShop", "PENDING")]
    r = http_call("POST", f"{api}/admin/accounts/{sid}/alpha/MyShop/approve", headers=ADMIN)
    assert (r.status, r.body["state"]) == (200, "APPROVED"), r
    deadline = time.monotonic() + 5
    while (r := http_call("POST", f"{api}/messages", send, auth)).status != 201:
        assert time.monotonic() < deadline, r  # the engine reads the account back within a second
        time.sleep(0.2)
    http_call("POST", f"{api}/senders", {"name": "Spam"}, auth)
    r = http_call("POST", f"{api}/admin/accounts/{sid}/alpha/Spam/reject", {"reason": "looks like spam"}, ADMIN)
    assert (r.body["state"], r.body["reason"]) == ("REJECTED", "looks like spam")
    apps = {a["name"]: a for a in http_call("GET", f"{api}/senders", headers=auth).body["applications"]}
    assert (apps["Spam"]["state"], apps["Spam"]["reason"]) == ("REJECTED", "looks like spam")
