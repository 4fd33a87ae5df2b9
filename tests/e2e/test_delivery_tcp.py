"""SPEC sections 4-7 over TCP: routing, blacklist, receipt statuses,
registered_delivery, query_sm, cancel_sm, TTL, schedule_delivery_time.

One server for most tests (module scope): every operator has its own price,
a power of ten, so a balance spells out how many messages each operator got
(digit by digit), and ``[[rules]]`` give each status a number suffix. A
second server runs simulated time fast (a day per second) for the TTLs.
"""
from __future__ import annotations

import calendar
import itertools
import time

import pytest

from clients import (
    balance, bound, new_user,
    RawConn, cancel_body, parse_deliver_sm, parse_query_resp, query_body,
)
from smsc.pdu.constants import CommandId as C
from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.constants import MessageState as MS
from smsc.pdu.constants import Tag
from smsc.pdu.receipt import parse_receipt_text


#: kopecks per segment: the balance's digits count messages per operator
PRICES = {"kyivstar": 1, "vodafone": 10, "lifecell": 100, "intertelecom": 1000,
          "peoplenet": 10000, "3mob": 100000}
#: SPEC section 4: the Ukrainian mobile codes of each operator (Beeline and
#: Golden Telecom numbers are Kyivstar's, Life's lifecell's)
GROUPS = {
    "kyivstar": ("039", "067", "068", "077", "096", "097", "098"),
    "vodafone": ("050", "066", "075", "095", "099"),
    "lifecell": ("063", "073", "093"),
    "intertelecom": ("094",),
    "peoplenet": ("092",),
    "3mob": ("091",),
}
#: a Kyivstar number ported to Vodafone
PORTED = "380671110000"

# destination suffix -> outcome (Kyivstar numbers: 1 kopeck a segment)
DELIVRD, UNDELIV, REJECTD, PHONE_OFF, FAILED, NOREPORT = (
    "380671231001", "380671231002", "380671231003", "380671231004", "380671231005", "380671231006",
)
RULES = [
    {"suffix": "1001", "outcome": "DELIVRD", "delay": 0.0},
    {"suffix": "1002", "outcome": "UNDELIV", "delay": 0.0},
    {"suffix": "1003", "outcome": "REJECTD", "delay": 0.0},
    {"suffix": "1004", "phone_off": True},
    {"suffix": "1005", "outcome": "FAILED", "delay": 0.0},
    {"suffix": "1006", "outcome": "NOREPORT", "delay": 0.0},
]

#: relative SMPP times
ONE_MINUTE = "000000000100000R"
ONE_SECOND = "000000000001000R"


def _start(tmp_path_factory, name: str, **sections):
    from server_process import ServerProcess, write_config

    d = tmp_path_factory.mktemp(name)
    return ServerProcess(write_config(d / "c.toml", d / "s.db", **sections)).start()


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = _start(
        tmp_path_factory, "delivery", rules=RULES, routing={"ported": {PORTED: "vodafone"}},
        **{f"operators_{key}": {"price": price} for key, price in PRICES.items()},
    )
    yield s
    s.kill()


@pytest.fixture(scope="module")
def fast(tmp_path_factory):
    """A simulated day per second; unknown prefixes go to Kyivstar (42 kopecks)."""
    s = _start(
        tmp_path_factory, "ttl", simulation={"time_scale": 86400}, routing={"default": "kyivstar"},
        rules=[{"suffix": "9999", "phone_off": True}],
        operators_kyivstar={"price": 42},
    )
    yield s
    s.kill()


_seq = itertools.count(2)


@pytest.fixture(scope="module")
def shared(srv) -> str:
    """An account for tests that don't look at its balance."""
    return new_user(srv)








def submit(c: RawConn, dst: str, rd: int = 1, text: bytes = b"hello receipts", **kw) -> str:
    status, mid = c.submit(next(_seq), dst=dst, rd=rd, text=text, **kw)
    assert status == S.ESME_ROK, S(status).name
    return mid


def query(c: RawConn, mid: str, src: str = "") -> tuple[int, str, int, int]:
    """-> (command_status, final_date, message_state, error_code)"""
    r = c.call(C.QUERY_SM, next(_seq), query_body(mid, src))
    if r.status:
        return r.status, "", 0, 0
    got_id, final_date, state, error = parse_query_resp(r.body)
    assert got_id == mid
    return r.status, final_date, state, error


def cancel(c: RawConn, mid: str, src: str = "", dst: str = "") -> int:
    return c.call(C.CANCEL_SM, next(_seq), cancel_body(mid, src, dst)).status


def receipts(c: RawConn) -> list:
    return [parse_deliver_sm(p.body) for p in c.delivered]


def receipt_for(c: RawConn, mid: str, timeout: float = 10.0, esm: int = 0x04):
    """Wait for the deliver_sm (receipt, or with esm 0x20 the intermediate
    notification) of ``mid``."""
    def find():
        for d in receipts(c):
            if d.tlvs.get(Tag.RECEIPTED_MESSAGE_ID) == mid.encode() + b"\0" and d.esm_class == esm:
                return d
        return None

    c.wait_delivered(lambda _: find() is not None, timeout)
    return find()


def smpp_minutes(date: str) -> int:
    """A receipt's YYMMDDhhmm as minutes since the epoch."""
    t = time.strptime(date, "%y%m%d%H%M")
    return calendar.timegm(t) // 60


# --- section 4: routing -------------------------------------------------------

def test_each_prefix_group_and_a_ported_number_route_to_their_operator(srv):
    sid = new_user(srv, "2000")
    c = bound(srv, sid)
    counts = {key: len(codes) for key, codes in GROUPS.items()}
    for codes in GROUPS.values():
        for code in codes:
            submit(c, "380" + code[1:] + "2345678", rd=0)
    submit(c, PORTED, rd=0)
    counts["vodafone"] += 1
    charged = 200000 - balance(srv, sid)
    by_operator = {key: charged // PRICES[key] % 10 for key in PRICES}
    assert by_operator == counts


def test_unknown_prefix_is_refused_without_a_default_route(srv):
    sid = new_user(srv)
    c = bound(srv, sid)
    for dst in ("380441234567", "4915112345678"):  # Kyiv landline; Germany
        status, mid = c.submit(next(_seq), dst=dst)
        assert (S(status).name, mid) == ("ESME_RINVDSTADR", "")
    assert balance(srv, sid) == 10000


def test_unknown_prefix_takes_the_default_route(fast):
    sid = new_user(fast)
    c = bound(fast, sid)
    submit(c, "380441234567", rd=0)
    assert balance(fast, sid) == 10000 - 42


# --- section 6: every receipt status -----------------------------------------

@pytest.mark.parametrize(
    "dst, validity, word, err, state, dlvrd",
    [
        (DELIVRD, "", "DELIVRD", 0, MS.DELIVERED, "001"),
        (UNDELIV, "", "UNDELIV", 1, MS.UNDELIVERABLE, "000"),
        (REJECTD, "", "REJECTD", 13, MS.REJECTED, "000"),
        (PHONE_OFF, ONE_SECOND, "EXPIRED", 27, MS.EXPIRED, "000"),
        # the FAQ's FAILED and NOREPORT in the standard words, the FAQ meaning in err:
        (FAILED, "", "UNDELIV", 34, MS.UNDELIVERABLE, "000"),
        (NOREPORT, "", "UNKNOWN", 0, MS.UNKNOWN, "000"),
    ],
    ids=["DELIVRD", "UNDELIV", "REJECTD", "EXPIRED", "FAILED", "NOREPORT"],
)
def test_receipt_status(srv, shared, dst, validity, word, err, state, dlvrd):
    c = bound(srv, shared)
    mid = submit(c, dst, text=b"status check, twenty+ chars", validity=validity)
    r = receipt_for(c, mid)
    f = parse_receipt_text(r.short_message)
    assert f is not None, r.short_message
    assert (f["id"], f["sub"], f["dlvrd"], f["stat"], f["err"], f["text"]) == (
        mid, "001", dlvrd, word, f"{err:03d}", "status check, twenty")
    assert len(f["submit_date"]) == len(f["done_date"]) == 10
    assert r.tlvs[Tag.MESSAGE_STATE] == bytes([state]), MS(r.tlvs[Tag.MESSAGE_STATE][0]).name
    if err:
        assert r.tlvs[Tag.NETWORK_ERROR_CODE] == bytes([3, 0, err])
    else:
        assert Tag.NETWORK_ERROR_CODE not in r.tlvs
    assert (r.source_addr, r.destination_addr, r.esm_class) == (dst, "SMSClub", 0x04)


# --- registered_delivery -------------------------------------------------------

def test_registered_delivery_is_honoured_exactly(srv):
    sid = new_user(srv)
    c = bound(srv, sid)
    none = submit(c, DELIVRD, rd=0)
    final_ok = submit(c, DELIVRD, rd=1)
    failure_ok = submit(c, DELIVRD, rd=2)  # delivered: no receipt
    failure_bad = submit(c, UNDELIV, rd=2)
    enroute_only = submit(c, DELIVRD, rd=0x10)
    both = submit(c, UNDELIV, rd=0x11)
    last = submit(c, DELIVRD, rd=1)  # rules without delay: final in submit order
    receipt_for(c, last)
    c.drain(0.3)  # anything else would show up now
    got = [(d.tlvs[Tag.RECEIPTED_MESSAGE_ID][:-1].decode(), d.esm_class,
            parse_receipt_text(d.short_message)["stat"], d.tlvs[Tag.MESSAGE_STATE][0])
           for d in receipts(c)]
    finals = [
        (final_ok, 0x04, "DELIVRD", MS.DELIVERED),
        (failure_bad, 0x04, "UNDELIV", MS.UNDELIVERABLE),
        (both, 0x04, "UNDELIV", MS.UNDELIVERABLE),
        (last, 0x04, "DELIVRD", MS.DELIVERED),
    ]
    notifications = [
        (enroute_only, 0x20, "ENROUTE", MS.ENROUTE),
        (both, 0x20, "ENROUTE", MS.ENROUTE),
    ]
    assert sorted(got) == sorted(finals + notifications), got
    assert [g for g in got if g[1] == 0x04] == finals  # in the order they became final
    # a notification goes out at hand-off, before its message's final receipt
    assert got.index(notifications[1]) < got.index(finals[2])
    assert {none, failure_ok}.isdisjoint(g[0] for g in got)
    enroute = receipt_for(c, enroute_only, esm=0x20)
    f = parse_receipt_text(enroute.short_message)
    assert (f["id"], f["sub"], f["dlvrd"], f["err"], f["text"]) == (
        enroute_only, "001", "000", "000", "hello receipts")
    assert (enroute.source_addr, enroute.destination_addr) == (DELIVRD, "SMSClub")


def test_enroute_notifications_go_only_to_a_receiver_bound_at_hand_off(srv):
    sid = new_user(srv)
    tx = bound(srv, sid, C.BIND_TRANSMITTER)
    unseen = submit(tx, DELIVRD, rd=0x11)  # no receiver yet: its notification is dropped
    time.sleep(0.2)
    rx = bound(srv, sid, C.BIND_RECEIVER)
    seen = submit(tx, DELIVRD, rd=0x11)
    receipt_for(rx, seen)
    rx.drain(0.2)
    got = [(d.tlvs[Tag.RECEIPTED_MESSAGE_ID][:-1].decode(), d.esm_class) for d in receipts(rx)]
    assert got == [(unseen, 0x04), (seen, 0x20), (seen, 0x04)]


# --- blacklist ---------------------------------------------------------------------

def test_blacklisted_destination_is_receipted_undeliv_and_not_charged(srv):
    sid = new_user(srv)
    r = srv.cli("account", "blacklist", "add", sid, "+38 (067) 123-10-01")
    assert "380671231001" in r.stdout
    assert srv.cli("account", "blacklist", "list", sid).stdout.split() == ["380671231001"]
    c = bound(srv, sid)
    # the rule would deliver it; the blacklist wins, in any address form
    blocked = submit(c, "+380671231001")
    r = receipt_for(c, blocked)
    f = parse_receipt_text(r.short_message)
    assert (f["stat"], f["err"], f["dlvrd"]) == ("UNDELIV", "001", "000")
    assert r.tlvs[Tag.MESSAGE_STATE] == bytes([MS.UNDELIVERABLE])
    assert balance(srv, sid) == 10000
    sent = submit(c, UNDELIV)
    receipt_for(c, sent)
    assert balance(srv, sid) == 10000 - 1

    # changes reach a bound session without a new bind
    srv.cli("account", "blacklist", "remove", sid, "380671231001")
    deadline = time.monotonic() + 5
    while parse_receipt_text(receipt_for(c, submit(c, DELIVRD)).short_message)["stat"] != "DELIVRD":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    srv.cli("account", "blacklist", "add", sid, REJECTD)
    deadline = time.monotonic() + 5
    while parse_receipt_text(receipt_for(c, submit(c, REJECTD)).short_message)["stat"] != "UNDELIV":
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_blacklist_cli_errors(srv):
    sid = new_user(srv)
    for args, words in (
        (("add", sid, "not-a-number"), "not a phone number"),
        (("add", "ghost", "0671234567"), "no account ghost"),
        (("remove", sid, "0671234567"), "has not blacklisted 380671234567"),
        (("add", sid), "at least one NUMBER"),
    ):
        r = srv.cli("account", "blacklist", *args, check=False)
        assert r.returncode == 1, args
        assert words in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert srv.cli("account", "blacklist", "list", sid, "--json").stdout.strip() == "[]"


# --- query_sm and cancel_sm ------------------------------------------------------

def test_query_before_and_after_final(srv):
    sid = new_user(srv)
    c = bound(srv, sid)
    waiting = submit(c, DELIVRD, schedule=ONE_MINUTE)
    assert query(c, waiting) == (S.ESME_ROK, "", MS.ENROUTE, 0)

    delivered = submit(c, DELIVRD)
    rejected = submit(c, REJECTD)
    failed = submit(c, FAILED)
    for mid in (delivered, rejected, failed):
        receipt_for(c, mid)
    status, final_date, state, error = query(c, delivered)
    assert (S(status).name, MS(state).name, error) == ("ESME_ROK", "DELIVERED", 0)
    assert len(final_date) == 16 and final_date.endswith("00+")
    assert query(c, rejected)[2:] == (MS.REJECTED, 13)
    assert query(c, failed)[2:] == (MS.UNDELIVERABLE, 34)
    # the source address must match when given
    assert query(c, delivered, src="SMSClub")[0] == S.ESME_ROK
    assert S(query(c, delivered, src="Other")[0]).name == "ESME_RQUERYFAIL"


def test_query_and_cancel_refuse_unknown_and_other_accounts_ids(srv):
    mine, other = new_user(srv), new_user(srv)
    c, o = bound(srv, mine), bound(srv, other)
    theirs = submit(o, DELIVRD, schedule=ONE_MINUTE)
    for mid in (theirs, "ffffffffffffffff", "not-hex", ""):
        assert S(query(c, mid)[0]).name == "ESME_RQUERYFAIL", mid
        assert S(cancel(c, mid)).name == "ESME_RCANCELFAIL", mid
    # still there for its owner
    assert query(o, theirs) == (S.ESME_ROK, "", MS.ENROUTE, 0)


def test_cancel_scheduled_message_refunds_and_is_deleted(srv):
    sid = new_user(srv)
    c = bound(srv, sid)
    mid = submit(c, DELIVRD, text=b"x" * 161, schedule=ONE_MINUTE)  # 2 segments
    assert balance(srv, sid) == 10000 - 2
    assert S(cancel(c, mid, src="Other")).name == "ESME_RCANCELFAIL"
    assert S(cancel(c, mid, dst="380501112233")).name == "ESME_RCANCELFAIL"
    assert S(cancel(c, mid, src="SMSClub", dst=DELIVRD)).name == "ESME_ROK"
    r = receipt_for(c, mid)  # registered_delivery 1: a DELETED receipt
    f = parse_receipt_text(r.short_message)
    assert (f["stat"], f["err"]) == ("DELETED", "000")
    assert r.tlvs[Tag.MESSAGE_STATE] == bytes([MS.DELETED])
    status, final_date, state, error = query(c, mid)
    assert (S(status).name, MS(state).name, error) == ("ESME_ROK", "DELETED", 0)
    assert len(final_date) == 16
    assert S(cancel(c, mid)).name == "ESME_RCANCELFAIL"  # only once
    assert balance(srv, sid) == 10000


def test_cancel_by_destination_withdraws_every_held_message_to_it(srv):
    """cancel_sm with no message_id (SMPP 3.4 4.9): all the account's
    messages to that destination still held, and only those."""
    sid = new_user(srv)
    srv.cli("account", "alpha", "add", sid, "OtherName")
    c = bound(srv, sid)
    mine = [submit(c, DELIVRD, schedule=ONE_MINUTE) for _ in range(3)]
    other_sender = submit(c, DELIVRD, schedule=ONE_MINUTE, src="OtherName")
    elsewhere = submit(c, UNDELIV, schedule=ONE_MINUTE)
    assert balance(srv, sid) == 10000 - 5
    assert S(cancel(c, "", src="SMSClub", dst="+" + UNDELIV[:-1] + "9")).name == "ESME_RCANCELFAIL"
    assert S(cancel(c, "", src="SMSClub")).name == "ESME_RCANCELFAIL"  # no destination
    assert S(cancel(c, "", src="SMSClub", dst="0" + DELIVRD[3:])).name == "ESME_ROK"  # national form
    for mid in mine:
        assert query(c, mid)[2] == MS.DELETED, mid
        assert parse_receipt_text(receipt_for(c, mid).short_message)["stat"] == "DELETED"
    for mid in (other_sender, elsewhere):
        assert query(c, mid)[:3] == (S.ESME_ROK, "", MS.ENROUTE), mid
    assert balance(srv, sid) == 10000 - 2
    assert S(cancel(c, "", src="SMSClub", dst=DELIVRD)).name == "ESME_RCANCELFAIL"  # none left
    assert S(cancel(c, "", dst=DELIVRD)).name == "ESME_ROK"  # any sender: OtherName's
    assert query(c, other_sender)[2] == MS.DELETED


def test_replace_if_present_withdraws_the_held_messages_it_replaces(srv):
    """submit_sm with replace_if_present_flag 1 (SMPP 3.4 5.2.18): the
    account's held messages from that source to that destination end
    DELETED and are refunded; the new one is a message of its own."""
    sid = new_user(srv)
    srv.cli("account", "alpha", "add", sid, "OtherName")
    c = bound(srv, sid)
    old = [submit(c, DELIVRD, schedule=ONE_MINUTE) for _ in range(2)]
    other_sender = submit(c, DELIVRD, schedule=ONE_MINUTE, src="OtherName")
    elsewhere = submit(c, UNDELIV, schedule=ONE_MINUTE)
    new = submit(c, "+" + DELIVRD, replace=1)  # the same number, written with a +
    assert new not in old
    for mid in old:
        assert parse_receipt_text(receipt_for(c, mid).short_message)["stat"] == "DELETED"
        assert query(c, mid)[2] == MS.DELETED
    assert parse_receipt_text(receipt_for(c, new).short_message)["stat"] == "DELIVRD"
    for mid in (other_sender, elsewhere):
        assert query(c, mid)[:3] == (S.ESME_ROK, "", MS.ENROUTE), mid
    assert balance(srv, sid) == 10000 - 3  # the two replaced are refunded
    # without the flag nothing is replaced
    plain = submit(c, DELIVRD, schedule=ONE_MINUTE)
    submit(c, DELIVRD, schedule=ONE_MINUTE)
    assert query(c, plain)[2] == MS.ENROUTE


def test_cancel_of_a_delivered_message_fails(srv):
    sid = new_user(srv)
    c = bound(srv, sid)
    mid = submit(c, DELIVRD)
    receipt_for(c, mid)
    assert S(cancel(c, mid)).name == "ESME_RCANCELFAIL"
    assert S(cancel(c, "", dst=DELIVRD)).name == "ESME_RCANCELFAIL"  # by destination: none held
    assert query(c, mid)[2] == MS.DELIVERED
    assert balance(srv, sid) == 10000 - 1


# --- section 5: TTL with a scaled clock ------------------------------------------

def test_ttl_and_shorter_validity_expire_in_scaled_time(fast):
    sid = new_user(fast)
    c = bound(fast, sid)
    cases = {
        submit(c, "380679999999"): 72 * 60,  # Kyivstar TTL 72 h
        submit(c, "380639999999"): 24 * 60,  # lifecell TTL 24 h
        submit(c, "380679999999", validity="000000060000000R"): 6 * 60,  # 6 h < TTL
        submit(c, "380679999999", validity="000005000000000R"): 72 * 60,  # 5 days > TTL
    }
    started = time.monotonic()
    for mid, minutes in cases.items():
        r = receipt_for(c, mid, timeout=15)
        f = parse_receipt_text(r.short_message)
        assert (f["stat"], f["err"]) == ("EXPIRED", "027")
        assert r.tlvs[Tag.MESSAGE_STATE] == bytes([MS.EXPIRED])
        assert smpp_minutes(f["done_date"]) - smpp_minutes(f["submit_date"]) == minutes, mid
    assert time.monotonic() - started < 10  # 72 simulated hours in ~3 s


def test_scheduled_delivery_waits_for_its_time_in_scaled_time(fast):
    """schedule_delivery_time holds a message until then (a day per second
    here, so 2 h pass in ~0.1 s); a schedule past the validity ends EXPIRED
    at the validity, never sent."""
    sid = new_user(fast)
    c = bound(fast, sid)
    later = submit(c, "380671230000", schedule="000000020000000R")  # in 2 h
    too_late = submit(c, "380671230001", schedule="000000100000000R", validity="000000060000000R")
    f = parse_receipt_text(receipt_for(c, later, timeout=15).short_message)
    waited = smpp_minutes(f["done_date"]) - smpp_minutes(f["submit_date"])
    # never before its schedule; after it, real milliseconds are simulated
    # minutes at this scale (1 ms = 1.44 min: the commit before the hand-off,
    # a 5 ms scheduler bucket for the wake-up and another for the outcome)
    assert f["stat"] == "DELIVRD" and 120 <= waited < 180, (f["stat"], waited)
    f = parse_receipt_text(receipt_for(c, too_late, timeout=15).short_message)
    assert (f["stat"], f["err"]) == ("EXPIRED", "027")
    assert smpp_minutes(f["done_date"]) - smpp_minutes(f["submit_date"]) == 6 * 60


@pytest.fixture(scope="module")
def even(tmp_path_factory):
    """Kyivstar delivers half its parts and rejects the other half (seeded)."""
    s = _start(
        tmp_path_factory, "even", simulation={"seed": 5},
        operators_kyivstar={"outcomes": {"DELIVRD": 1, "REJECTD": 1}, "price": 1},
    )
    yield s
    s.kill()


def test_a_message_split_in_two_gets_one_receipt_with_its_worst_segment(even):
    """Each part of a 2-segment message has its own outcome: DELIVRD only
    when both parts are (1 in 4 at even odds), else REJECTD; still one
    receipt per message."""
    sid = new_user(even)
    c = bound(even, sid)
    n = 200
    single = [submit(c, "380671230002", text=b"one segment") for _ in range(n)]
    split = [submit(c, "380671230002", text=b"x" * 161) for _ in range(n)]
    c.wait_delivered(lambda got: len(got) >= 2 * n, timeout=30)
    c.drain(0.3)  # a second receipt of any message would arrive now
    stats = {}
    for d in receipts(c):
        f = parse_receipt_text(d.short_message)
        assert f["id"] not in stats, f"two receipts for {f['id']}"
        stats[f["id"]] = f["stat"]
    assert set(stats) == set(single) | set(split)
    delivered = {kind: sum(stats[mid] == "DELIVRD" for mid in ids)
                 for kind, ids in (("single", single), ("split", split))}
    assert {stats[mid] for mid in split + single} == {"DELIVRD", "REJECTD"}
    # binomial, 4 sigma: 100 +- 28 of the single ones, 50 +- 24 of the split
    assert abs(delivered["single"] - n / 2) < 28 and abs(delivered["split"] - n / 4) < 24, delivered
