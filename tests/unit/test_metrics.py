from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from smsc.metrics import Metrics
from smsc.pdu.constants import CommandId, CommandStatus


def scrape(m: Metrics) -> dict:
    text = generate_latest(m.registry).decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_counters_and_histograms_follow_prometheus_conventions():
    m = Metrics()
    m.pdu("in", CommandId.SUBMIT_SM, 0)
    m.pdu("in", CommandId.SUBMIT_SM, 0)
    m.pdu("out", CommandId.SUBMIT_SM_RESP, CommandStatus.ESME_RTHROTTLED)
    m.submit(CommandStatus.ESME_ROK)
    m.submit(0x401)
    m.segment("kyivstar", "gsm7", 3)
    m.final("kyivstar", "DELIVRD")
    m.balance_refusals += 2
    m.submit_latency.observe(0.004)
    m.submit_latency.observe(7.0)
    f = scrape(m)
    pdus = {(s.labels["direction"], s.labels["command"], s.labels["status"]): s.value
            for s in f["smsc_pdus"].samples if s.name == "smsc_pdus_total"}
    # a request has no status of its own: the answer's is on its _resp
    assert pdus == {("in", "submit_sm", ""): 2, ("out", "submit_sm_resp", "ESME_RTHROTTLED"): 1}
    assert f["smsc_pdus"].type == "counter"
    submits = {(s.labels["door"], s.labels["status"]): s.value
               for s in f["smsc_submits"].samples if s.name.endswith("_total")}
    assert submits == {("smpp", "ESME_ROK"): 1, ("smpp", "0x00000401"): 1}
    seg = [s for s in f["smsc_segments"].samples if s.name.endswith("_total")]
    assert [(s.labels, s.value) for s in seg] == [({"operator": "kyivstar", "encoding": "gsm7"}, 3)]
    assert [s.value for s in f["smsc_balance_refusals"].samples if s.name.endswith("_total")] == [2]
    hist = f["smsc_submit_latency_seconds"]
    assert hist.type == "histogram"
    buckets = {s.labels["le"]: s.value for s in hist.samples if s.name.endswith("_bucket")}
    assert buckets["0.0025"] == 0 and buckets["0.005"] == 1 and buckets["2.5"] == 1 and buckets["+Inf"] == 2
    assert [s.value for s in hist.samples if s.name.endswith("_count")] == [2]


def test_submits_by_door_and_the_process_collectors():
    m = Metrics()
    m.submit(CommandStatus.ESME_ROK)
    m.door_submit("http", CommandStatus.ESME_RINVSRCADR)
    m.door_submit("campaign", CommandStatus.ESME_ROK)
    m.door_submit("campaign", CommandStatus.ESME_ROK)
    f = scrape(m)
    submits = {(s.labels["door"], s.labels["status"]): s.value
               for s in f["smsc_submits"].samples if s.name.endswith("_total")}
    assert submits == {("smpp", "ESME_ROK"): 1, ("http", "ESME_RINVSRCADR"): 1, ("campaign", "ESME_ROK"): 2}
    assert f["process_cpu_seconds"].type == "counter" and "process_resident_memory_bytes" in f
    assert f["python_info"].samples[0].labels["implementation"] == "CPython"
