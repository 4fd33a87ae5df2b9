"""Per-account IP allowlists against the real server: SMPP binds from
127.0.0.1 and 127.0.0.2 (both loopback), HTTP Basic and API keys, the CLI
and the admin API (issue 14 item 6)."""
from __future__ import annotations

import hashlib
import http.client
import json
import socket

from clients import PW, Esme, RawConn, basic_auth, http_base, http_call, new_user
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S

TOKEN = "admin-token-for-the-tests"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def bind_from(srv, source: str, system_id: str, password: str = PW) -> int:
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5, source_address=(source, 0))
    try:
        return RawConn(sock).bind(C.BIND_TRANSCEIVER, system_id, password).status
    finally:
        sock.close()


def http_from(base: str, source: str, path: str, headers: dict[str, str]) -> tuple[int, dict]:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10, source_address=(source, 0))
    try:
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        return r.status, json.loads(r.read())
    finally:
        conn.close()


def test_binds_from_outside_the_allowlist_are_refused(server):
    sid = new_user(server)
    assert bind_from(server, "127.0.0.2", sid) == S.ESME_ROK  # no list: any address
    out = server.cli("account", "allowlist", "add", sid, "127.0.0.1", "10.0.0.0/8", "2001:db8::/32").stdout
    assert "127.0.0.1/32, 10.0.0.0/8, 2001:db8::/32 (3 new)" in out
    # the running server sees it on the very next bind: binds read the account
    assert bind_from(server, "127.0.0.2", sid) == S.ESME_RBINDFAIL
    assert bind_from(server, "127.0.0.2", sid, "wrong") == S.ESME_RBINDFAIL  # before the password
    assert bind_from(server, "127.0.0.1", sid) == S.ESME_ROK
    esme = Esme(server.port)  # python-smpplib, from 127.0.0.1: inside the list
    assert esme.bind("transceiver", sid, PW).status == S.ESME_ROK
    esme.close()
    log = "".join(server.output)
    assert f"login as {sid} from 127.0.0.2 refused: the address is not in its allowlist" in log
    assert server.cli("account", "allowlist", "list", sid, "--json").stdout.strip() == \
        '["10.0.0.0/8", "127.0.0.1/32", "2001:db8::/32"]'
    shown = json.loads(server.cli("account", "show", sid, "--json").stdout)
    assert shown["allowlist"] == ["10.0.0.0/8", "127.0.0.1/32", "2001:db8::/32"]
    # other accounts are untouched
    assert bind_from(server, "127.0.0.2", new_user(server)) == S.ESME_ROK

    bad = server.cli("account", "allowlist", "add", sid, "127.0.0.1/8", check=False)
    assert bad.returncode == 1 and "host bits set; the network is 127.0.0.0/8" in bad.stderr
    bad = server.cli("account", "allowlist", "remove", sid, "127.0.0.1", "192.0.2.0/24", check=False)
    assert bad.returncode == 1 and "nothing removed" in bad.stderr
    out = server.cli("account", "allowlist", "remove", sid, "127.0.0.1", "10.0.0.0/8", "2001:db8::/32").stdout
    assert "now empty: binds from any address" in out
    assert bind_from(server, "127.0.0.2", sid) == S.ESME_ROK


def test_http_logins_and_the_admin_api(server_factory):
    srv = server_factory(http={"enabled": True, "port": 0,
                               "admin_token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest()})
    base = http_base(srv)
    api = base + "/api/v1"
    sid = new_user(srv)
    acc = f"{api}/admin/accounts/{sid}"
    key = srv.cli("account", "apikey", sid).stdout.split("api key: ")[1].strip()

    r = http_call("POST", f"{acc}/allowlist", {"networks": ["127.0.0.1", "::1"]}, ADMIN)
    assert r.status == 200 and r.body == {"system_id": sid, "networks": ["127.0.0.1/32", "::1/128"], "added": 2}
    r = http_call("POST", f"{acc}/allowlist", {"networks": ["127.0.0.1/8"]}, ADMIN)
    assert (r.status, r.body["error"]["code"], r.body["error"]["field"]) == (400, "invalid_field", "networks")
    r = http_call("DELETE", f"{acc}/allowlist", {"networks": ["192.0.2.1"]}, ADMIN)
    assert (r.status, r.body["error"]["code"]) == (404, "not_found")
    assert http_call("GET", f"{acc}/allowlist", headers=ADMIN).body["networks"] == ["127.0.0.1/32", "::1/128"]
    assert http_call("GET", acc, headers=ADMIN).body["allowlist"] == ["127.0.0.1/32", "::1/128"]
    assert http_call("GET", f"{api}/admin/accounts/ghost/allowlist", headers=ADMIN).status == 404

    for auth in (basic_auth(sid, PW), {"X-API-Key": key}):
        assert http_from(base, "127.0.0.1", "/api/v1/balance", auth)[0] == 200
        status, body = http_from(base, "127.0.0.2", "/api/v1/balance", auth)
        assert (status, body["error"]["code"]) == (403, "address_not_allowed"), body
    assert bind_from(srv, "127.0.0.2", sid) == S.ESME_RBINDFAIL

    r = http_call("DELETE", f"{acc}/allowlist", {"networks": ["127.0.0.1", "::1"]}, ADMIN)
    assert r.body["networks"] == []
    assert http_from(base, "127.0.0.2", "/api/v1/balance", basic_auth(sid, PW))[0] == 200
