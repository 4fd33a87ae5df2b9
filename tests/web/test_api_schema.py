"""The OpenAPI document against the server that serves it: every route is
described, and schemathesis (generated good and bad requests, few and
derandomized so the run is short and the same every time) finds no 5xx,
no undocumented status and no response off its schema."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from clients import http_base, http_call
from server_process import ServerProcess, write_config
from smsc.web.api_root import ROUTES
from smsc.web.openapi import document

TOKEN = "schema-test-admin-token"


def test_every_route_is_described():
    doc = document()
    described = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    served = {(r.method, "/api/" + "/".join(r.path)) for r in ROUTES}
    assert described == served
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op.get("security") is not None, (method, path)
            for status, response in op["responses"].items():
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.rsplit("/", 1)[1] in doc["components"]["schemas"], (method, path, status)


@dataclass
class LiveApi:
    base: str
    headers: dict[str, str]


@pytest.fixture(scope="module")
def live_api(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("schema")
    cfg = write_config(tmp / "smsc.toml", tmp / "smsc.db", http={
        "enabled": True, "port": 0, "admin_token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest()},
        mo={"numbers": {"7090": "test"}})
    srv = ServerProcess(cfg).start()
    try:
        base = http_base(srv)
        admin = {"Authorization": f"Bearer {TOKEN}"}
        system_id = srv.first_account[0]
        key = http_call("POST", f"{base}/api/v1/admin/accounts/{system_id}/apikey", headers=admin).body["api_key"]
        # account routes take the API key, admin routes the bearer token
        yield LiveApi(base, {**admin, "X-API-Key": key})
    finally:
        srv.kill()


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode), ids=lambda m: m.value)
def test_api_conforms_to_its_schema(live_api, mode):
    """Every operation with generated requests: valid ones (positive) and
    ones that break the schema (negative, which must get a 4xx)."""
    api = schemathesis.openapi.from_url(f"{live_api.base}/api/v1/openapi.json")
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance, negative_data_rejection]
    operations = [result.ok() for result in api.get_all_operations()]
    # all but the document itself, which schemathesis leaves out
    assert len(operations) == len(ROUTES) - 1
    for operation in operations:
        @given(operation.as_strategy(generation_mode=mode))
        @settings(max_examples=6, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(base_url=live_api.base, headers=live_api.headers, checks=checks)

        check()
