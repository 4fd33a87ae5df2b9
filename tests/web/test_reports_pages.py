"""The reports page's pure parts: escaping, the documents, message texts."""
from __future__ import annotations

from types import MappingProxyType

from smsc.campaigns.store import STATUSES, CampaignSummary, RecipientLine
from smsc.pdu.text import encode
from smsc.web.html import Html, esc, select, table, tag, void
from smsc.web.reports_data import MessageRow, message_text
from smsc.web.reports_pages import MESSAGE_LIMIT, campaign_page, counts_text, messages_page

EVIL = '<script>alert("x")</script>'


def test_everything_shown_is_escaped_once():
    assert esc(EVIL) == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
    assert esc(None) == "" and esc(5) == "5"
    safe = tag("b", "a&b")
    assert esc(safe) is safe and safe == "<b>a&amp;b</b>"
    # Html + str escapes the str, whichever side it is on
    assert Html("<i>") + "<" == "<i>&lt;" and "<" + Html("<i>") == "&lt;<i>"
    assert isinstance(Html("") + "x", Html) and isinstance("x" + Html(""), Html)
    assert void("input", value='"><b>', required=True, hidden=False, title=None) == (
        '<input value="&quot;&gt;&lt;b&gt;" required>'
    )
    assert table(("a",), [(EVIL,)]).count("<script>") == 0
    assert table(("a", "b"), [], empty="none") == (
        '<table><thead><tr><th>a</th><th>b</th></tr></thead>'
        '<tbody><tr><td colspan="2" class="empty">none</td></tr></tbody></table>'
    )
    assert '<option value="B" selected>' in select("s", [("A", "A"), ("B", "B")], "B", "S")


def summary(**kw) -> CampaignSummary:
    counts = {s: 0 for s in STATUSES} | {"DELIVRD": 2, "UNDELIV": 1}
    base = dict(
        id=7, name=EVIL, system_id="shop", sender="Shop", template="Hi #name# <3", state="sent",
        created_at=0.0, recipients=3, counts=MappingProxyType(counts), cost_kopecks=126,
    )
    return CampaignSummary(**(base | kw))


def test_campaign_page():
    lines = [RecipientLine("380671110001", "UNDELIV", "1a", "Hi <Ann>", "err 001", 86400.0)]
    doc = campaign_page(summary(), lines, "UNDELIV").decode()
    assert "<script>" not in doc and "Hi &lt;Ann&gt;" in doc and "Hi #name# &lt;3" in doc
    assert '<option value="UNDELIV" selected>UNDELIV</option>' in doc
    assert '<option value="">All</option>' in doc
    assert "<td>380671110001</td><td>UNDELIV</td><td>1a</td><td>Hi &lt;Ann&gt;</td><td>err 001</td>" \
           "<td>1970-01-02 00:00:00</td>" in doc
    assert "1 recipients with status UNDELIV" in doc and "<dd>1.26</dd>" in doc
    doc = campaign_page(summary(), [], "", error="status: 'X' is bad").decode()
    assert 'class="error" role="alert">status: &#x27;X&#x27; is bad' in doc
    assert '<option value="" selected>All</option>' in doc


def test_counts_text_keeps_the_report_order_and_unknown_words():
    assert counts_text({"UNDELIV": 1, "DELIVRD": 5, "PENDING": 0, "ENROUTE": 2}) == "ENROUTE 2, DELIVRD 5, UNDELIV 1"
    assert counts_text({"NEWWORD": 1, "DELIVRD": 1}) == "DELIVRD 1, NEWWORD 1"
    assert counts_text({}) == ""


def test_messages_page_says_when_capped():
    row = MessageRow("ff", "shop", "Shop", "ENROUTE", 0.0, None, 1, 42, "hi")
    doc = messages_page("067", "380670000000", [row] * MESSAGE_LIMIT).decode()
    assert f"{MESSAGE_LIMIT} messages to +380670000000 (the newest {MESSAGE_LIMIT} shown)" in doc
    doc = messages_page("067", "380670000000", [row]).decode()
    assert "1 messages to +380670000000<" in doc
    assert "<td>ff</td><td>shop</td><td>Shop</td><td>ENROUTE</td><td>1970-01-01 00:00:00</td><td></td>" in doc
    doc = messages_page(EVIL, error="number: bad").decode()
    assert "<script>" not in doc and 'id="messages"' not in doc


def test_message_text():
    """A stored body is the network payload (no UDH: the engine keeps a
    client's UDH for the operator leg only), read by its data_coding alone."""
    assert message_text(encode("Hi {€}", 0), 0) == "Hi {€}"
    assert message_text("Привіт".encode("utf-16-be"), 8) == "Привіт"
    assert message_text(b"\x01\xff", 4) == "(binary: 01ff)"
    assert message_text(b"\xd8\x00", 8) == "(undecodable, data_coding 8: d800)"


def test_a_clients_report_page_escapes_what_the_client_sent_and_reads_its_window():
    import pytest

    from smsc.server.conformance import Conformance, summary as report_of
    from smsc.web.client_pages import client_report, window
    from smsc.pdu.pdus import SubmitSm

    c = Conformance(1, "shop", "transceiver", "10.0.0.1", 86400.0, 10)
    c.submit(SubmitSm(sequence_number=2, source_addr="<script>", source_addr_ton=1,
                      destination_addr="380671234567", short_message=b"x"), 86401.0)
    c.ended_at = 86500.0
    doc = client_report(lambda s: s, report_of("shop", [c.json()]), "600", "/reports/clients/shop")
    assert "<script>" not in doc and "&lt;script&gt;" in doc
    assert "1970-01-02 00:00:01" in doc and '<option value="600" selected>600 s</option>' in doc
    assert "wrong_source_ton ×1" in doc and "<code>" in doc
    assert window("", now=100000.0) == ("86400", 13600.0)
    assert window("0", now=5.0) == ("0", 0.0) and window("60", now=100.0) == ("60", 40.0)
    for bad in ("-1", "nan", "soon"):
        with pytest.raises(ValueError):
            window(bad)
