"""The XML API (``/xml``) over real HTTP: send, status, balance, bases and
campaigns with XML bodies, the JSON API's rules, statuses and errors, and
no entity expansion (defusedxml)."""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET

from clients import PW, basic_auth, http_call, new_user
from test_api_http import api_server

XML = {"Content-Type": "application/xml"}


def call(method: str, url: str, auth: dict, body: str | None = None):
    r = http_call(method, url, headers={**auth, **XML}, raw=None if body is None else body.encode())
    assert r.headers["content-type"] == "application/xml", r
    return r.status, ET.fromstring(r.body)


def text(root, path: str) -> str | None:
    e = root.find(path)
    assert e is not None, (path, ET.tostring(root))
    return e.text


def error(root) -> tuple[str | None, str | None]:
    return text(root, "error/code"), root.findtext("error/field")


def test_send_status_balance_and_errors(server_factory):
    srv, api = api_server(server_factory)
    xml = api.replace("/api/v1", "/xml/v1")
    sid, password = srv.first_account
    auth = basic_auth(sid, password)

    status, root = call("POST", f"{xml}/messages", auth,
                        "<request><from>SMSClub</from><to>+380671234567</to><text>hello</text>"
                        "<validity>3600</validity></request>")
    assert status == 201, ET.tostring(root)
    assert (root.tag, text(root, "segments"), text(root, "cost_kopecks"), text(root, "status")) == (
        "response", "1", "42", "ACCEPTED")
    message_id = text(root, "id")
    deadline = time.monotonic() + 10
    while True:
        status, root = call("GET", f"{xml}/messages/{message_id}", auth)
        if root.find("done_at").get("nil") != "true":
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert (status, text(root, "status"), text(root, "text")) == (200, "DELIVRD", "hello")
    assert [e.findtext("status") for e in root.find("history")] == ["ACCEPTED", "DELIVRD"]
    status, root = call("GET", f"{xml}/balance", auth)
    assert (status, text(root, "system_id"), text(root, "balance_kopecks")) == (200, sid, "158")

    # the JSON API's errors, in XML
    cases = [
        ("<request><from>SMSClub</from><to>12</to><text>x</text></request>", 422, ("invalid_destination", "to")),
        ("<request><from>Nope</from><to>380671234567</to><text>x</text></request>", 422, ("invalid_sender", "from")),
        ("<request><to>380671234567</to><text>x</text></request>", 400, ("missing_field", "from")),
        ("<request><from>SMSClub</from><to>380671234567</to><text>x</text><validity>soon</validity></request>",
         400, ("invalid_field", "validity")),
        ("not xml", 400, ("invalid_xml", None)),
        ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
         "<request><from>SMSClub</from><to>380671234567</to><text>&b;</text></request>", 400, ("invalid_xml", None)),
    ]
    for body, want_status, want in cases:
        status, root = call("POST", f"{xml}/messages", auth, body)
        assert (status, error(root)) == (want_status, want), body
    status, root = call("GET", f"{xml}/balance", {})
    assert (status, error(root)) == (401, ("unauthorized", None))
    status, root = call("GET", f"{xml}/admin/accounts", auth)  # not in the XML API
    assert (status, error(root)) == (404, ("not_found", None))


def test_bases_and_campaigns(server_factory):
    srv, api = api_server(server_factory, rules=[{"suffix": "0001", "outcome": "UNDELIV"}])
    xml = api.replace("/api/v1", "/xml/v1")
    sid, other = new_user(srv), new_user(srv)
    auth = basic_auth(sid, PW)
    rows = "phone;name\n380671110001;Ann\n380671110002;Bob\n0671110002;Bob again\n"
    status, root = call("POST", f"{xml}/bases", auth, f"<request><name>vip</name><csv>{rows}</csv></request>")
    assert (status, text(root, "summary")) == (201, "3 in, 2 kept, 1 duplicates, 0 invalid"), ET.tostring(root)
    base_id = text(root, "id")
    status, root = call("POST", f"{xml}/bases/{base_id}/numbers", auth,
                        "<request><numbers><number>0501112233</number></numbers></request>")
    assert (status, text(root, "added"), text(root, "base/size")) == (200, "1", "3")
    status, root = call("DELETE", f"{xml}/bases/{base_id}/numbers", auth,
                        "<request><numbers><number>380501112233</number></numbers></request>")
    assert (status, text(root, "removed")) == (200, "1")
    status, root = call("GET", f"{xml}/bases", auth)
    assert [b.findtext("name") for b in root.find("bases")] == ["vip"]
    status, root = call("GET", f"{xml}/bases", basic_auth(other, PW))
    assert list(root.find("bases")) == []
    status, root = call("GET", f"{xml}/bases/{base_id}", basic_auth(other, PW))
    assert (status, error(root)) == (404, ("not_found", "id"))

    status, root = call("POST", f"{xml}/campaigns", auth,
                        f"<request><base>{base_id}</base><text>Hi #abonent_name#</text><from>SMSClub</from></request>")
    assert (status, text(root, "estimate/recipients"), text(root, "balance_covers")) == (201, "2", "true")
    cid = text(root, "id")
    status, root = call("POST", f"{xml}/campaigns/{cid}/start", auth)
    assert status == 200, ET.tostring(root)
    deadline = time.monotonic() + 15
    while True:
        status, root = call("GET", f"{xml}/campaigns/{cid}", auth)
        waiting = (text(root, "counts/ENROUTE"), text(root, "counts/PENDING"))
        if text(root, "state") == "sent" and waiting == ("0", "0"):
            break
        assert time.monotonic() < deadline, ET.tostring(root)
        time.sleep(0.1)
    assert (text(root, "counts/DELIVRD"), text(root, "counts/UNDELIV")) == ("1", "1")
    status, root = call("GET", f"{xml}/campaigns/{cid}/recipients?status=UNDELIV", auth)
    assert [(r.findtext("msisdn"), r.findtext("text")) for r in root.find("recipients")] == [
        ("380671110001", "Hi Ann")]
    status, root = call("POST", f"{xml}/bases/{base_id}/clean", auth, f"<request><campaign>{cid}</campaign></request>")
    assert (status, text(root, "removed"), text(root, "base/size")) == (200, "1", "1")
    status, root = call("POST", f"{xml}/senders", auth, "<request><name>MyShop</name></request>")
    assert (status, text(root, "state"), text(root, "usable")) == (201, "PENDING", "false")
