"""/metrics and /health over real HTTP, scraped and parsed as Prometheus would."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from clients import Esme, http_base as _http


def _scrape(base: str) -> dict:
    text = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_health_and_metrics(server_factory):
    srv = server_factory(http={"enabled": True, "port": 0})
    base = _http(srv)
    health = json.loads(urllib.request.urlopen(base + "/health", timeout=5).read())
    assert health["status"] == "ok" and health["store_writable"] is True and health["smpp_listening"] is True

    system_id, password = srv.first_account
    esme = Esme(srv.port)
    esme.bind("transceiver", system_id, password)
    esme.submit(b"metrics please")
    esme.pump_until(lambda: len(esme.receipts) == 1)

    families = _scrape(base)
    binds = families["smsc_binds"]
    assert binds.type == "gauge"
    assert [(s.labels, s.value) for s in binds.samples] == [
        ({"account": system_id, "bind_type": "transceiver"}, 1.0)
    ]
    commit = families["smsc_store_commit_seconds"]
    assert commit.type == "histogram"
    count = next(s.value for s in commit.samples if s.name.endswith("_count"))
    assert count >= 1
    assert families["smsc_receipt_backlog"].type == "gauge"
    queue = {(s.labels["operator"], s.labels["where"]): s.value for s in families["smsc_operator_queue"].samples}
    assert ("kyivstar", "held") in queue

    def counter(name: str) -> dict:
        fam = families[name]
        assert fam.type == "counter", name
        return {tuple(sorted(s.labels.items())): s.value for s in fam.samples if s.name == name + "_total"}

    assert counter("smsc_submits") == {(("status", "ESME_ROK"),): 1.0}
    assert counter("smsc_bind_attempts") == {(("result", "ESME_ROK"),): 1.0}
    assert counter("smsc_segments") == {(("encoding", "gsm7"), ("operator", "kyivstar")): 1.0}
    assert counter("smsc_receipts") == {(("operator", "kyivstar"), ("stat", "DELIVRD")): 1.0}
    pdus = counter("smsc_pdus")
    assert pdus[(("command", "submit_sm"), ("direction", "in"), ("status", "ESME_ROK"))] == 1.0
    assert pdus[(("command", "deliver_sm"), ("direction", "out"), ("status", "ESME_ROK"))] == 1.0
    latency = families["smsc_submit_latency_seconds"]
    assert [s.value for s in latency.samples if s.name.endswith("_count")] == [1.0]
    esme.close()


def test_health_is_503_when_the_store_is_not_writable(server_factory, tmp_path):
    srv = server_factory(http={"enabled": True, "port": 0})
    base = _http(srv)
    # another process holds the write lock: the health check cannot write
    import sqlite3

    conn = sqlite3.connect(str(tmp_path / "smsc.db"), timeout=0.1, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        with urllib.request.urlopen(base + "/health", timeout=30) as r:
            status = r.status
    except urllib.error.HTTPError as exc:
        status = exc.code
        body = json.loads(exc.read())
        assert body["status"] == "failing" and body["store_writable"] is False
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    assert status == 503
