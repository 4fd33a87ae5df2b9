"""The HTTP side gets a WebDeps, not the composition root: no module under
smsc/web imports smsc.app, and the tree works from parts built here."""
from __future__ import annotations

import ast
import json
from dataclasses import replace
from pathlib import Path

from twisted.internet.defer import succeed
from twisted.web.resource import getChildForRequest
from twisted.web.test.requesthelper import DummyRequest

import smsc
from smsc.config import Config, HttpConfig
from smsc.metrics import Metrics
from smsc.web.deps import WebDeps
from smsc.web.root import http_root

WEB = Path(smsc.__file__).parent / "web"


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved (those
    under ``if TYPE_CHECKING:`` too)."""
    root = Path(smsc.__file__).parent.parent
    package = list(path.relative_to(root).parent.parts)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_no_web_module_imports_the_composition_root():
    offenders = {p.name: sorted(m for m in _imports(p) if m == "smsc.app" or m.startswith("smsc.app."))
                 for p in sorted(WEB.glob("*.py"))}
    assert {k: v for k, v in offenders.items() if v} == {}
    assert "smsc.app" in _imports(Path(smsc.__file__).parent / "cli.py")  # the check sees relative imports


def _deps(config: Config | None = None, health=None) -> WebDeps:
    config = config or Config()
    unused = object()  # nothing these routes may touch
    return WebDeps(
        engine=unused, store=unused, config=config, metrics=Metrics(),  # type: ignore[arg-type]
        health=health or (lambda: succeed({"store_writable": True})),
        watch_dlr=lambda n, public_id, url: None, sim_now=lambda: 0.0,
    )


class _Request(DummyRequest):
    def getCookie(self, name: bytes) -> bytes | None:
        return None


def _get(deps: WebDeps, *path: bytes) -> DummyRequest:
    request = _Request(list(path))
    resource = getChildForRequest(http_root(deps), request)
    body = resource.render(request)
    if isinstance(body, bytes):
        request.write(body)
    return request


def test_health_answers_from_the_check_it_was_given():
    ok = _get(_deps(), b"health")
    assert ok.responseCode in (None, 200)
    assert json.loads(b"".join(ok.written)) == {"status": "ok", "store_writable": True}
    failing = _get(_deps(health=lambda: succeed({"store_writable": False})), b"health")
    assert failing.responseCode == 503


def test_metrics_and_reports_from_deps_alone():
    assert b"smsc_" in b"".join(_get(_deps(), b"metrics").written)
    off = _get(_deps(), b"reports", b"accounts")  # no admin token configured
    assert off.responseCode == 403 and b"Reports are off" in b"".join(off.written)
    on = _get(_deps(replace(Config(), http=replace(HttpConfig(), admin_token_sha256="ab" * 32))),
              b"reports", b"accounts")
    assert on.responseCode == 303  # no token sent: to the login form
