"""The HTTP API over real HTTP against a real server process: sending,
status, balance, authentication, the refusals and the admin routes."""
from __future__ import annotations

import hashlib
import time

from clients import PW, balance, basic_auth, http_base, http_call

TOKEN = "admin-token-for-the-tests"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def api_server(server_factory, **sections):
    http = {"enabled": True, "port": 0, "admin_token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest()}
    srv = server_factory(http={**http, **sections.pop("http", {})}, **sections)
    return srv, http_base(srv) + "/api/v1"


def wait_final(api: str, auth: dict, message_id: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        r = http_call("GET", f"{api}/messages/{message_id}", headers=auth)
        assert r.status == 200, r
        if r.body["done_at"] is not None:
            return r.body
        assert time.monotonic() < deadline, r.body
        time.sleep(0.05)


def assert_error(r, status: int, code: str, field: str | None = None, smpp: str | None = None) -> None:
    assert r.status == status, r
    assert r.headers["content-type"] == "application/json"
    error = r.body["error"]
    assert error["code"] == code, r.body
    assert error.get("field") == field, r.body
    assert error.get("smpp_status") == smpp, r.body
    assert error["message"]


def test_send_poll_and_balance(server_factory):
    srv, api = api_server(server_factory)
    system_id, password = srv.first_account
    auth = basic_auth(system_id, password)

    r = http_call("POST", f"{api}/messages", {"from": "SMSClub", "to": "+380671234567", "text": "hello"}, auth)
    assert r.status == 201, r
    assert r.body == {"id": r.body["id"], "segments": 1, "cost_kopecks": 42, "status": "ACCEPTED"}
    # the same engine as SMPP: 42 kopecks (Kyivstar) charged in the store
    assert balance(srv, system_id) == 200 - 42

    done = wait_final(api, auth, r.body["id"])
    assert done["status"] == "DELIVRD" and done["error"] == 0
    assert (done["id"], done["from"], done["to"], done["text"]) == (r.body["id"], "SMSClub", "380671234567", "hello")
    assert (done["segments"], done["cost_kopecks"]) == (1, 42)
    assert [h["status"] for h in done["history"]] == ["ACCEPTED", "DELIVRD"]
    assert done["history"][0]["at"] == done["submitted_at"] and done["history"][1]["at"] == done["done_at"]
    assert done["submitted_at"].endswith("Z") and done["done_at"] >= done["submitted_at"]

    # UCS-2 and two segments: 2 x 42
    text = "Привіт " * 11
    r = http_call("POST", f"{api}/messages", {"from": "SMSClub", "to": "0671234567", "text": text,
                                              "validity": 3600}, auth)
    assert r.status == 201 and (r.body["segments"], r.body["cost_kopecks"]) == (2, 84), r
    b = http_call("GET", f"{api}/balance", headers=auth)
    assert b.status == 200
    assert b.body == {"system_id": system_id, "mode": "test", "balance_kopecks": 200 - 42 - 84, "balance_uah": "0.74"}

    # the balance does not cover 42 more: 402, nothing charged
    r = http_call("POST", f"{api}/messages", {"from": "SMSClub", "to": "380671234567", "text": "x" * 300}, auth)
    assert_error(r, 402, "insufficient_funds", None, "ESME_RSUBMITFAIL")
    assert balance(srv, system_id) == 74
    assert http_call("GET", f"{api}/balance", headers=auth).body["balance_kopecks"] == 74


def test_refusals_name_the_field(server_factory):
    srv, api = api_server(server_factory)
    auth = basic_auth(*srv.first_account)
    ok = {"from": "SMSClub", "to": "380671234567", "text": "hi"}
    cases = [
        (dict(ok, to="12345"), 422, "invalid_destination", "to", "ESME_RINVDSTADR"),
        (dict(ok, to="380441234567"), 422, "invalid_destination", "to", "ESME_RINVDSTADR"),  # no route
        (dict(ok, **{"from": "NotMine"}), 422, "invalid_sender", "from", "ESME_RINVSRCADR"),
        (dict(ok, text="x" * 613), 422, "text_too_long", "text", "ESME_RINVMSGLEN"),
        ({"to": "380671234567", "text": "hi"}, 400, "missing_field", "from", None),
        (dict(ok, text=5), 400, "invalid_field", "text", None),
        (dict(ok, text=""), 400, "invalid_field", "text", None),
        (dict(ok, validity=0), 400, "invalid_field", "validity", None),
        (dict(ok, validity="60"), 400, "invalid_field", "validity", None),
        (dict(ok, validity=True), 400, "invalid_field", "validity", None),
        (dict(ok, dlr_url="ftp://example.com/x"), 400, "invalid_field", "dlr_url", None),
        (dict(ok, dlr_url="http://"), 400, "invalid_field", "dlr_url", None),
        ([ok], 400, "invalid_json", None, None),
    ]
    for body, status, code, field, smpp in cases:
        assert_error(http_call("POST", f"{api}/messages", body, auth), status, code, field, smpp)
    assert_error(http_call("POST", f"{api}/messages", raw=b"{not json", headers=auth), 400, "invalid_json")
    assert_error(http_call("POST", f"{api}/messages", raw=b"", headers=auth), 400, "invalid_json")
    # nothing of that was charged
    assert balance(srv, srv.first_account[0]) == 200

    # unknown ids and routes
    assert_error(http_call("GET", f"{api}/messages/zzz", headers=auth), 404, "not_found", "id")
    assert_error(http_call("GET", f"{api}/messages/ffffffff", headers=auth), 404, "not_found", "id")
    assert_error(http_call("GET", f"{api}/nothing", headers=auth), 404, "not_found")
    r = http_call("DELETE", f"{api}/balance", headers=auth)
    assert_error(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "GET"


def test_credentials(server_factory):
    # a dozen failed logins on purpose: more than the default throttle allows
    srv, api = api_server(server_factory, accounts={"max_bind_failures": 100})
    system_id, password = srv.first_account
    body = {"from": "SMSClub", "to": "380671234567", "text": "hi"}
    for headers in ({}, basic_auth(system_id, "wrong"), basic_auth("ghost", password),
                    {"Authorization": "Basic !!!"}, {"X-API-Key": "nope"}, ADMIN):
        for method, path, data in (("POST", "/messages", body), ("GET", "/balance", None)):
            r = http_call(method, api + path, data, headers)
            assert_error(r, 401, "unauthorized")
            assert r.headers["www-authenticate"] == 'Basic realm="smsc"'
    assert balance(srv, system_id) == 200

    # an API key: made by the admin route or the CLI; a new one replaces the old
    r = http_call("POST", f"{api}/admin/accounts/{system_id}/apikey", headers=ADMIN)
    assert r.status == 201 and len(r.body["api_key"]) >= 22, r
    key = {"X-API-Key": r.body["api_key"]}
    sent = http_call("POST", f"{api}/messages", body, key)
    assert sent.status == 201, sent
    assert http_call("GET", f"{api}/messages/{sent.body['id']}", headers=key).status == 200
    out = srv.cli("account", "apikey", system_id).stdout
    new_key = {"X-API-Key": out.split("api key: ")[1].strip()}
    assert_error(http_call("GET", f"{api}/balance", headers=key), 401, "unauthorized")
    assert http_call("GET", f"{api}/balance", headers=new_key).body["balance_kopecks"] == 200 - 42

    # another account's message is as unknown as a missing one
    other = http_call("POST", f"{api}/admin/accounts", {"system_id": "other", "password": PW,
                                                        "mode": "user", "balance_uah": "5"}, ADMIN)
    assert other.status == 201, other
    assert_error(http_call("GET", f"{api}/messages/{sent.body['id']}", headers=basic_auth("other", PW)),
                 404, "not_found", "id")
    # a test account's rate: the second send within the second is throttled
    srv.cli("account", "topup", system_id, "10")  # money is not what stops these
    srv.cli("account", "limits", system_id, "--rate", "1")
    deadline = time.monotonic() + 10
    while True:  # the server rereads accounts about every second
        time.sleep(1.1)  # a full token
        statuses = [http_call("POST", f"{api}/messages", body, new_key).status for _ in range(3)]
        if 429 in statuses or time.monotonic() > deadline:
            break
    assert statuses[0] == 201 and 429 in statuses[1:], statuses
    r = http_call("POST", f"{api}/messages", body, new_key)
    if r.status == 429:
        assert_error(r, 429, "throttled", None, "ESME_RTHROTTLED")


def test_failed_logins_are_throttled_with_smpp_binds(server_factory):
    """HTTP Basic failures count in the same per-address throttle as SMPP
    bind failures: past [accounts] max_bind_failures both are refused."""
    from clients import RawConn

    srv, api = api_server(server_factory, accounts={"max_bind_failures": 3, "bind_failure_window": 60})
    system_id, password = srv.first_account
    for _ in range(2):
        assert_error(http_call("GET", f"{api}/balance", headers=basic_auth(system_id, "wrong")),
                     401, "unauthorized")
    # a success does not forgive the address (it would make guessing free)
    assert http_call("GET", f"{api}/balance", headers=basic_auth(system_id, password)).status == 200
    assert_error(http_call("GET", f"{api}/balance", headers=basic_auth("ghost", password)), 401, "unauthorized")
    # now even the right password is refused from this address, over HTTP and SMPP
    assert_error(http_call("GET", f"{api}/balance", headers=basic_auth(system_id, password)), 429, "throttled")
    c = RawConn(srv.connect_raw())
    assert c.bind(0x00000009, system_id, password).status == 0x0000000D  # ESME_RBINDFAIL


def test_admin_routes(server_factory):
    srv, api = api_server(server_factory, mo={"numbers": {"7090": "shop"}})
    for headers in ({}, {"Authorization": "Bearer wrong"}, basic_auth(*srv.first_account)):
        r = http_call("GET", f"{api}/admin/accounts", headers=headers)
        assert_error(r, 401, "unauthorized")

    r = http_call("POST", f"{api}/admin/accounts", {"system_id": "shop", "mode": "user", "balance_uah": "12.34",
                                                    "alpha_names": ["MyShop"]}, ADMIN)
    assert r.status == 201, r
    password = r.body.pop("password")
    assert len(password) == 8
    assert r.body == {"system_id": "shop", "mode": "user", "balance_kopecks": 1234, "balance_uah": "12.34",
                      "alpha_names": ["MyShop"], "rate": None, "max_binds": None, "id_format": "hex",
                      "id_width": 0, "receipt_seconds": False, "receipt_tz": "UTC", "allowlist": []}
    # the password works (HTTP Basic), and the CLI sees the same account
    assert http_call("GET", f"{api}/balance", headers=basic_auth("shop", password)).status == 200
    assert balance(srv, "shop") == 1234

    for body, status, code, field in [
        ({"system_id": "shop"}, 409, "conflict", "system_id"),
        ({"system_id": "bad id!"}, 400, "invalid_field", "system_id"),
        ({"system_id": "x", "mode": "boss"}, 400, "invalid_field", "mode"),
        ({"system_id": "x", "password": "waytoolongpw"}, 400, "invalid_field", "password"),
        ({"system_id": "x", "balance_uah": "1.234"}, 400, "invalid_field", "balance_uah"),
        ({"system_id": "x", "alpha_names": ["Way2LongAlphaName"]}, 400, "invalid_field", "alpha"),
        ({"mode": "user"}, 400, "missing_field", "system_id"),
        ({"system_id": 7}, 400, "invalid_field", "system_id"),
    ]:
        assert_error(http_call("POST", f"{api}/admin/accounts", body, ADMIN), status, code, field)

    acc = f"{api}/admin/accounts/shop"
    assert http_call("GET", acc, headers=ADMIN).body["balance_kopecks"] == 1234
    assert_error(http_call("GET", f"{api}/admin/accounts/ghost", headers=ADMIN), 404, "not_found", "system_id")
    assert http_call("POST", f"{acc}/topup", {"amount_uah": 1.5}, ADMIN).body["balance_kopecks"] == 1384
    assert http_call("POST", f"{acc}/topup", {"amount_uah": "0.16"}, ADMIN).body["balance_uah"] == "14.00"
    for amount in (0, -1, "abc", 0.001, True):
        r = http_call("POST", f"{acc}/topup", {"amount_uah": amount}, ADMIN)
        assert_error(r, 400, "invalid_field", "amount_uah")
    assert_error(http_call("POST", f"{api}/admin/accounts/ghost/topup", {"amount_uah": 1}, ADMIN),
                 404, "not_found", "system_id")
    assert balance(srv, "shop") == 1400

    trial = http_call("POST", f"{api}/admin/accounts", {"system_id": "trial"}, ADMIN).body
    assert (trial["mode"], trial["balance_kopecks"]) == ("test", 200)
    assert http_call("POST", f"{api}/admin/accounts/trial/promote", headers=ADMIN).body["mode"] == "user"

    r = http_call("POST", f"{acc}/alpha", {"name": "Second"}, ADMIN)
    assert r.body == {"system_id": "shop", "alpha_names": ["MyShop", "Second"]}
    assert_error(http_call("POST", f"{acc}/alpha", {"name": "bad name"}, ADMIN), 400, "invalid_field", "name")
    assert http_call("DELETE", f"{acc}/alpha/MyShop", headers=ADMIN).body["alpha_names"] == ["Second"]
    assert_error(http_call("DELETE", f"{acc}/alpha/MyShop", headers=ADMIN), 404, "not_found", "name")

    r = http_call("POST", f"{acc}/blacklist", {"numbers": ["+380 67 111 22 33", "0501112233"]}, ADMIN)
    assert r.body == {"system_id": "shop", "numbers": ["380501112233", "380671112233"], "added": 2}
    assert_error(http_call("POST", f"{acc}/blacklist", {"numbers": ["hello"]}, ADMIN), 400, "invalid_field", "numbers")
    assert_error(http_call("POST", f"{acc}/blacklist", {"numbers": []}, ADMIN), 400, "invalid_field", "numbers")
    assert_error(http_call("DELETE", f"{acc}/blacklist", {"numbers": ["380671112233", "380990000000"]}, ADMIN),
                 404, "not_found", "numbers")
    assert http_call("GET", f"{acc}/blacklist", headers=ADMIN).body["numbers"] == ["380501112233", "380671112233"]
    assert http_call("DELETE", f"{acc}/blacklist", {"numbers": ["0671112233"]}, ADMIN).body["numbers"] == [
        "380501112233"]
    assert srv.cli("account", "blacklist", "list", "shop", "--json").stdout.strip() == '["380501112233"]'

    r = http_call("POST", f"{api}/admin/mo", {"to": "7090", "from": "+380671112233", "text": "STOP"}, ADMIN)
    assert r.status == 202 and r.body["system_id"] == "shop" and r.body["from"] == "380671112233", r
    assert_error(http_call("POST", f"{api}/admin/mo", {"to": "9999", "from": "380671112233", "text": "x"}, ADMIN),
                 400, "invalid_field", "to")
    assert_error(http_call("POST", f"{api}/admin/mo", {"to": "7090", "from": "12345", "text": "x"}, ADMIN),
                 400, "invalid_field", "from")
    listed = http_call("GET", f"{api}/admin/accounts", headers=ADMIN).body
    assert [a["system_id"] for a in listed] == ["shop", srv.first_account[0], "trial"]


def test_admin_routes_are_off_without_a_token(server_factory):
    srv = server_factory(http={"enabled": True, "port": 0})
    api = http_base(srv) + "/api/v1"
    r = http_call("GET", f"{api}/admin/accounts", headers=ADMIN)
    assert_error(r, 403, "admin_disabled")
    assert "admin_token_sha256" in r.body["error"]["message"]
    doc = http_call("GET", f"{api}/openapi.json")
    assert doc.status == 200 and doc.body["openapi"].startswith("3.")


def test_admin_token_and_api_key_guesses_share_the_login_throttle(server_factory):
    srv, api = api_server(server_factory, accounts={"max_bind_failures": 3, "bind_failure_window": 60})
    wrong = {"Authorization": "Bearer not-the-token"}
    for _ in range(2):
        assert_error(http_call("GET", f"{api}/admin/accounts", headers=wrong), 401, "unauthorized")
    assert_error(http_call("GET", f"{api}/balance", headers={"X-API-Key": "guess"}), 401, "unauthorized")
    # three failures from this address: the right token is refused too, for now
    assert_error(http_call("GET", f"{api}/admin/accounts", headers=ADMIN), 429, "throttled")
    assert_error(http_call("GET", f"{api}/balance", headers={"X-API-Key": "guess"}), 429, "throttled")


def raw_post(api: str, path: str, body: dict, headers: dict) -> tuple[int, str, dict]:
    """(status, reason phrase, JSON body) as sent: urllib hides the phrase."""
    import http.client
    import json
    import urllib.parse

    u = urllib.parse.urlsplit(api)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        conn.request("POST", u.path + path, body=json.dumps(body),
                     headers={**headers, "Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, r.reason, json.loads(r.read())
    finally:
        conn.close()


def test_a_refusal_says_why_in_a_sentence_with_its_reason_phrase(server_factory):
    """``422 Unknown Status`` with "message": "ESME_RINVSRCADR" said too little."""
    srv, api = api_server(server_factory)
    system_id = "shop"
    srv.cli("account", "add", system_id, "--password", PW, "--mode", "user", "--balance", "10",
            "--alpha", "SMSClub")
    auth = basic_auth(system_id, PW)
    ok = {"from": "SMSClub", "to": "380671234567", "text": "hi"}
    cases = [
        (dict(ok, **{"from": "MyShop"}), 422, "Unprocessable Entity", "invalid_sender", "from", "ESME_RINVSRCADR",
         "sender MyShop is not registered for this account"),
        (dict(ok, to="380441234567"), 422, "Unprocessable Entity", "invalid_destination", "to", "ESME_RINVDSTADR",
         "no route for 380441234567"),
        (dict(ok, text="x" * 613), 422, "Unprocessable Entity", "text_too_long", "text", "ESME_RINVMSGLEN", None),
        ({"to": "380671234567", "text": "hi"}, 400, "Bad Request", "missing_field", "from", None,
         "from is required"),
    ]
    for body, status, phrase, code, field, smpp, message in cases:
        got, reason, answer = raw_post(api, "/messages", body, auth)
        error = answer["error"]
        assert (got, reason, error["code"], error.get("field"), error.get("smpp_status")) == (
            status, phrase, code, field, smpp), answer
        if message is not None:
            assert error["message"] == message, error
        assert not error["message"].startswith("ESME_"), error
    assert raw_post(api, "/messages", ok, auth)[:2] == (201, "Created")


def test_a_polled_message_has_the_status_its_history_ends_with(server_factory):
    """While polled, ``status`` said ENROUTE and ``history`` had only ACCEPTED."""
    srv, api = api_server(server_factory, rules=[{"suffix": "0009", "outcome": "DELIVRD", "delay": 1.5}])
    auth = basic_auth(*srv.first_account)
    sent = http_call("POST", f"{api}/messages", {"from": "SMSClub", "to": "380671000009", "text": "hi"}, auth)
    assert sent.status == 201, sent
    polled = http_call("GET", f"{api}/messages/{sent.body['id']}", headers=auth).body
    assert polled["status"] == "ENROUTE", polled
    assert [h["status"] for h in polled["history"]] == ["ACCEPTED", "ENROUTE"]
    assert polled["history"][1]["at"] == polled["submitted_at"]
    done = wait_final(api, auth, sent.body["id"])
    assert [h["status"] for h in done["history"]] == ["ACCEPTED", "DELIVRD"] and done["status"] == "DELIVRD"
