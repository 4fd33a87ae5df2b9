"""Campaign tables: claims, outcomes, the report statuses read from the
messages table, cleaning, and settling SENDING rows after a kill (SQLite, no server)."""
from __future__ import annotations

from collections.abc import Mapping

import pytest

from smsc.campaigns import store as campaigns
from smsc.campaigns.store import NewCampaign, NewRecipient, Outcome
from smsc.operators.spec import DEFAULT_ERRORS
from smsc.pdu.text import text_coding
from smsc.records import Account, Message
from smsc.store.port import Batch
from smsc.store.sqlite import Store

NUMBERS = ("380671000001", "380501000002", "380931000003", "380671000004")


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path / "s.db"))
    s.add_account(Account("shop", "hash", "user", 10_000))
    yield s
    s.close()


def new_campaign(store: Store, numbers=NUMBERS, blacklisted=(), name="spring") -> int:
    return campaigns.create_campaign(store, NewCampaign(
        name=name, system_id="shop", sender="Shop", template="Hi #name#", rate=10.0,
        phone_column="phone", columns=("phone", "name"), rows_in=len(numbers) + 2, invalid=1,
        duplicates=1, estimate_segments=len(numbers), estimate_kopecks=40 * len(numbers),
        recipients=tuple(
            NewRecipient(n, {"phone": n, "name": f"N{i}"}, i + 2, f"Hi N{i}", n in blacklisted)
            for i, n in enumerate(numbers)
        ),
    ), now=1000.0)


def message(n: int, msisdn: str, text: str, submit_time: float = 2000.0, cost: int = 40) -> Message:
    body, coding = text_coding(text)
    return Message(n, "shop", 5, 0, "Shop", 0, 1, msisdn, 0, coding, 0, body, submit_time, msisdn,
                   "kyivstar", 1, cost)


def store_messages(store: Store, *messages: Message, finals: Mapping[int, str] = {}) -> None:
    batch = Batch(inserts=list(messages))
    for n, stat in finals.items():
        batch.finishes.setdefault((5, stat, DEFAULT_ERRORS[stat], 2100.0, 0), []).append(n)
    store.write_batch(batch)


def statuses(store: Store, campaign_id: int) -> dict[str, str]:
    report = campaigns.campaign_report(store, campaign_id)
    assert report is not None
    return {line.msisdn: line.status for line in report[1]}


def test_a_draft_lists_with_every_status_counted(store):
    cid = new_campaign(store, blacklisted={NUMBERS[2]})
    [summary] = campaigns.list_campaigns(store)
    assert (summary.id, summary.name, summary.state, summary.recipients, summary.cost_kopecks) == (
        cid, "spring", "draft", 4, 0)
    assert list(summary.counts) == list(campaigns.STATUSES)
    assert {k: v for k, v in summary.counts.items() if v} == {"PENDING": 3, "SKIPPED": 1}
    c = campaigns.get_campaign(store, cid)
    assert (c.kept, c.blacklisted, c.columns, c.created_at) == (4, 1, ("phone", "name"), 1000.0)
    assert campaigns.campaign_report(store, cid + 1) is None


def test_list_is_newest_first(store):
    first, second = new_campaign(store, name="a"), new_campaign(store, name="b")
    assert [s.id for s in campaigns.list_campaigns(store)] == [second, first]


def test_start_and_pause_only_from_the_right_states(store):
    cid = new_campaign(store)
    assert not campaigns.set_state(store, cid, ("running",), "paused")
    assert campaigns.set_state(store, cid, ("draft", "paused"), "running", now=1500.0)
    assert campaigns.set_state(store, cid, ("running",), "paused", "by hand")
    c = campaigns.get_campaign(store, cid)
    assert (c.state, c.detail, c.started_at) == ("paused", "by hand", 1500.0)
    assert campaigns.set_state(store, cid, ("draft", "paused"), "running", now=1600.0)
    c = campaigns.get_campaign(store, cid)
    assert (c.state, c.detail, c.started_at) == ("running", "", 1500.0)  # the first start stays


def test_claims_go_in_upload_order_and_a_campaign_with_nothing_left_is_sent(store):
    cid = new_campaign(store, blacklisted={NUMBERS[1]})
    campaigns.set_state(store, cid, ("draft",), "running")
    first = store.claim_recipients({cid: 2}, 2000.0)
    assert [r.msisdn for r in first] == [NUMBERS[0], NUMBERS[2]]  # the blacklisted one is SKIPPED
    assert statuses(store, cid)[NUMBERS[0]] == "PENDING"  # SENDING reads as PENDING
    store.record_outcomes([Outcome(cid, first[0].seq, "SENT", 7, "7"),
                             Outcome(cid, first[1].seq, "PENDING")])
    second = store.claim_recipients({cid: 5}, 2001.0)
    assert [r.msisdn for r in second] == [NUMBERS[2], NUMBERS[3]]
    assert campaigns.get_campaign(store, cid).state == "running"
    store.record_outcomes([Outcome(cid, r.seq, "REFUSED", detail="ESME_RINVDSTADR") for r in second])
    assert store.claim_recipients({cid: 5}, 2002.0) == []
    c = campaigns.get_campaign(store, cid)
    assert c.state == "sent" and c.finished_at is not None


def test_report_reads_final_states_and_cost_from_the_messages_table(store):
    cid = new_campaign(store, blacklisted={NUMBERS[3]})
    campaigns.set_state(store, cid, ("draft",), "running")
    claimed = store.claim_recipients({cid: 3}, 2000.0)
    store_messages(store, message(101, NUMBERS[0], "Hi N0"), message(102, NUMBERS[1], "Hi N1", cost=80),
                   finals={101: "DELIVRD", 102: "FAILED"})
    store.record_outcomes([
        Outcome(cid, claimed[0].seq, "SENT", 101, "65"),
        Outcome(cid, claimed[1].seq, "SENT", 102, "66"),
        Outcome(cid, claimed[2].seq, "REFUSED", detail="ESME_RINVDSTADR"),
    ])
    summary, lines = campaigns.campaign_report(store, cid)
    assert [(x.msisdn, x.status, x.message_id, x.text, x.detail) for x in lines] == [
        (NUMBERS[0], "DELIVRD", "65", "Hi N0", ""),
        # the FAQ's FAILED is UNDELIV in a report; detail: its error code, as the receipt has it
        (NUMBERS[1], "UNDELIV", "66", "Hi N1", "err:034"),
        (NUMBERS[2], "REFUSED", None, "Hi N2", "ESME_RINVDSTADR"),
        (NUMBERS[3], "SKIPPED", None, "Hi N3", "blacklisted"),
    ]
    assert lines[0].done_at == 2100.0 and lines[2].done_at is not None
    assert summary.cost_kopecks == 120
    assert {k: v for k, v in summary.counts.items() if v} == {
        "DELIVRD": 1, "UNDELIV": 1, "REFUSED": 1, "SKIPPED": 1}
    _, only = campaigns.campaign_report(store, cid, "UNDELIV")
    assert [x.msisdn for x in only] == [NUMBERS[1]]
    assert campaigns.list_campaigns(store)[0].counts == summary.counts


def test_a_sent_message_without_a_final_state_is_enroute(store):
    cid = new_campaign(store, numbers=NUMBERS[:1])
    campaigns.set_state(store, cid, ("draft",), "running")
    [r] = store.claim_recipients({cid: 1}, 2000.0)
    store_messages(store, message(101, NUMBERS[0], "Hi N0"))
    store.record_outcomes([Outcome(cid, r.seq, "SENT", 101, "65")])
    assert statuses(store, cid) == {NUMBERS[0]: "ENROUTE"}


def test_clean_takes_only_rejectd_and_undeliv_out_of_the_base_and_keeps_the_report(store):
    cid = new_campaign(store)
    campaigns.set_state(store, cid, ("draft",), "running")
    claimed = store.claim_recipients({cid: 4}, 2000.0)
    store_messages(store, *(message(101 + i, n, f"Hi N{i}") for i, n in enumerate(NUMBERS[:3])),
                   finals={101: "UNDELIV", 102: "REJECTD", 103: "DELIVRD"})
    store.record_outcomes([Outcome(cid, r.seq, "SENT", 101 + i, str(101 + i)) for i, r in enumerate(claimed[:3])]
                     + [Outcome(cid, claimed[3].seq, "REFUSED", detail="x")])
    assert [(m, s, f["name"]) for m, s, f in campaigns.clean_lines(store, cid)] == [
        (NUMBERS[0], "UNDELIV", "N0"), (NUMBERS[1], "REJECTD", "N1")]
    before = campaigns.campaign_report(store, cid)
    assert campaigns.remove_recipients(store, cid, now=3000.0) == 2
    assert campaigns.campaign_report(store, cid) == before  # sent and paid: history stays
    assert campaigns.remove_recipients(store, cid) == 0
    assert [m for m, _, _ in campaigns.recipients_of(store, cid)] == [NUMBERS[2], NUMBERS[3]]
    assert [r.removed_at for r in store.campaign_base(cid)] == [3000.0, 3000.0, None, None]


def test_a_store_made_before_cleaning_kept_history_gets_the_column(tmp_path):
    import sqlite3

    path = str(tmp_path / "old.db")
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE campaign_recipients DROP COLUMN removed_at")
    db.commit()
    db.close()
    s = Store(path)
    try:
        s.add_account(Account("shop", "hash", "user", 10_000))
        cid = new_campaign(s)
        assert [r.removed_at for r in s.campaign_base(cid)] == [None] * 4
    finally:
        s.close()


def test_sending_rows_are_settled_after_a_kill_without_sending_twice(store):
    store.set_receipt_options("shop", "decimal", None, None, None)
    cid = new_campaign(store)
    campaigns.set_state(store, cid, ("draft",), "running")
    claimed = store.claim_recipients({cid: 3}, 2000.0)
    # committed before the kill: N0's message; N1 only has an older message
    # to the same number, and another text to it after the claim
    store_messages(store, message(101, NUMBERS[0], "Hi N0", 2000.5),
                   message(90, NUMBERS[1], "Hi N1", 1999.0), message(102, NUMBERS[1], "other", 2001.0))
    assert campaigns.recover_sending(store) == (1, 2)
    report = {x.msisdn: x for x in campaigns.campaign_report(store, cid)[1]}
    assert (report[NUMBERS[0]].status, report[NUMBERS[0]].message_id) == ("ENROUTE", "101")
    assert report[NUMBERS[1]].status == report[NUMBERS[2]].status == "PENDING"
    assert [r.msisdn for r in store.claim_recipients({cid: 5}, 2002.0)] == [NUMBERS[1], NUMBERS[2], NUMBERS[3]]
    assert claimed[0].msisdn == NUMBERS[0]
    assert campaigns.recover_sending(store) == (0, 3)


def test_the_tables_appear_for_a_reader_of_a_fresh_store(tmp_path):
    s = Store(str(tmp_path / "fresh.db"))
    try:
        assert campaigns.list_campaigns(s) == []
        assert s.running_campaigns() == []
    finally:
        s.close()


def test_the_campaigns_config_section():
    from smsc.config import ConfigError, parse

    assert parse({}, "x.toml").campaigns.rate == 50.0
    assert parse({"campaigns": {"rate": 5}}, "x.toml").campaigns.rate == 5.0
    with pytest.raises(ConfigError, match=r"x.toml: \[campaigns\].rate: must be above 0"):
        parse({"campaigns": {"rate": 0}}, "x.toml")
    with pytest.raises(ConfigError, match=r"\[campaigns\]: unknown key 'speed'"):
        parse({"campaigns": {"speed": 5}}, "x.toml")
