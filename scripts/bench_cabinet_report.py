"""Benchmark (not a test): the cabinet's detailed report of a 100,000-number
campaign, what one page request costs: the store reads the handler makes
(one campaign's tally, one page of 100 lines by LIMIT/OFFSET, filtered or
not, the per-second timeline) and the HTML render, on a fresh SQLite store.

    .venv/bin/python scripts/bench_cabinet_report.py [N]

Prints the time of each part and of the whole page, best of 5.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from smsc.campaigns import store as campaigns
from smsc.records import Message
from smsc.store.port import SENT, Batch, NewCampaign, NewRecipient, Outcome
from smsc.store.sqlite import Store
from smsc.web import cabinet_pages as pages
from smsc.web.i18n import gettext_for


def build(store: Store, n: int) -> int:
    recipients = tuple(NewRecipient(f"38067{i:07d}", {"phone": f"38067{i:07d}", "name": f"Name{i}"}, i + 2,
                                    f"Hi Name{i}") for i in range(n))
    cid = store.create_campaign(NewCampaign(
        name="bench", system_id="shop", sender="Shop", template="Hi #name#", rate=100.0, phone_column="phone",
        columns=("phone", "name"), rows_in=n, invalid=0, duplicates=0, estimate_segments=n,
        estimate_kopecks=42 * n, recipients=recipients), time.time())
    ids = store.message_ids(time.time())
    batch = Batch()
    finishes: dict[tuple[int, str, int, float, int], list[int]] = {}
    outcomes = []
    for seq, (r, mid) in enumerate(zip(recipients, ids, strict=False), 1):
        batch.inserts.append(Message(mid, "shop", 5, 0, "Shop", 1, 1, r.msisdn, 0, 0, 0, r.text.encode(),
                                     1000.0 + seq / 100, r.msisdn, "kyivstar", 1, 42))
        stat = "UNDELIV" if seq % 50 == 0 else "REJECTD" if seq % 77 == 0 else "DELIVRD"
        finishes.setdefault((2 if stat == "DELIVRD" else 5, stat, 0, 1000.0 + seq / 100 + 3, 0), []).append(mid)
        outcomes.append(Outcome(cid, seq, SENT, mid, str(mid)))
    batch.size = len(batch.inserts)
    store.write_batch(batch)
    store.write_batch(Batch(finishes=finishes))
    store.record_outcomes(outcomes)
    return cid


def page(store: Store, cid: int, status: str, offset: int) -> tuple[int, dict[str, float]]:
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    c = store.get_campaign(cid)
    assert c is not None
    (s,) = campaigns.summaries([c], store.campaign_tally(cid))
    t["tally"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    where = campaigns.status_filter(status) if status else None
    rows = store.campaign_lines_page(cid, where, 100, offset)
    _, lines = campaigns.report(c, rows)
    t["page of 100"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    per: dict[int, int] = {}
    for second, _stat, n in store.campaign_timeline(cid, 1.0):
        per[second] = per.get(second, 0) + n
    t["timeline"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    _t = gettext_for("uk")
    total = s.counts.get(status, 0) if status else s.recipients
    body = pages.document(_t, "uk", f"/cabinet/campaigns/{cid}", "bench", pages.campaign_page(
        _t, c, s, lines, status, offset, total, 100, None, sorted(per.items()), "csrf"), csrf="csrf", who="shop")
    t["render"] = time.perf_counter() - t3
    t["whole page"] = time.perf_counter() - t0
    return len(body), t


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(str(Path(tmp) / "bench.db"))
        t0 = time.perf_counter()
        cid = build(store, n)
        print(f"{n} recipients stored in {time.perf_counter() - t0:.1f} s")
        for status, offset in (("", 0), ("", n // 2), ("UNDELIV", 0), ("DELIVRD", n // 2)):
            best: dict[str, float] = {}
            for _ in range(5):
                size, t = page(store, cid, status, offset)
                best = {k: min(v, best.get(k, v)) for k, v in t.items()}
            parts = ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in best.items())
            print(f"status={status or 'all'} offset={offset}: {size} bytes; {parts}")
        store.close()


if __name__ == "__main__":
    main()
