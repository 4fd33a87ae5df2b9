"""The cabinet's pure parts: catalogs, the status filter, the XML body
spelling, the SVG pictures."""
from __future__ import annotations

from decimal import Decimal

import pytest

from smsc.campaigns import store as campaigns
from smsc.campaigns.store import STATUSES, report_status, status_filter
from smsc.status import DELETED, FAILED, NOREPORT, OPERATOR_STATS, UNKNOWN
from smsc.store.port import PENDING, REFUSED, SENDING, SENT, SKIPPED
from smsc.web import svg, xml_api
from smsc.web.i18n import LANGUAGES, gettext_for, status_name

FAQ = {"ENROUTE": "ВІДПРАВЛЕНО", "DELIVRD": "ДОСТАВЛЕНО", "FAILED": "ПОМИЛКА", "EXPIRED": "ЗАКІНЧИВСЯ ТЕРМІН",
       "UNDELIV": "НЕДОСТАВЛЮВАНЕ", "NOREPORT": "ОЧІКУВАННЯ ОТРИМАННЯ ВІДПОВІДІ", "REJECTD": "ВІДХИЛЕНО"}


def test_the_faq_words_and_a_name_for_every_status_in_both_languages():
    uk = gettext_for("uk")
    assert {w: status_name(uk, w) for w in FAQ} == FAQ
    for lang in LANGUAGES:
        _ = gettext_for(lang)
        for word in (*STATUSES, FAILED, NOREPORT):
            assert status_name(_, word) != word, (lang, word)
    assert gettext_for("en")("Balance") == "Balance" and uk("Balance") == "Баланс"
    assert gettext_for("xx")("Balance") == "Баланс"  # an unknown language is the default


#: the stats a final message is stored with: an operator's, a cancel's, and UNKNOWN
FINAL = (*OPERATOR_STATS, DELETED, UNKNOWN)


@pytest.mark.parametrize("want", STATUSES)
def test_status_filter_is_report_status_backwards(want):
    """Every stored combination the filter picks reads as ``want``, and every
    one that reads as ``want`` is picked."""
    f = status_filter(want)
    for stored in (PENDING, SENDING, SKIPPED, REFUSED, SENT):
        for stat in (None, *FINAL):
            for done in (None, 5.0):
                picked = stored in f.stored and (
                    f.final is None or (f.final and done is not None and stat in f.stats)
                    or (f.final is False and (done is None or stat is None)))
                assert picked == (report_status(stored, stat, done) == want), (stored, stat, done)
    assert campaigns.clean_numbers([]) == []


def test_xml_bodies_both_ways():
    body = xml_api.parse(b"<request><from>Shop</from><to> 380671234567 </to><numbers><number>1</number></numbers>"
                         b"<validity>60</validity><x nil='true'/></request>")
    assert body == {"from": "Shop", "to": "380671234567", "numbers": ["1"], "validity": "60", "x": None}
    assert xml_api.coerce("60", (int,)) == 60 and xml_api.coerce("60", (int, str)) == "60"
    assert xml_api.coerce("true", (bool,)) is True and xml_api.coerce("1.5", (int, Decimal)) == Decimal("1.5")
    for bad in (b"<r>", b"<!DOCTYPE r [<!ENTITY a 'x'>]><r><a>&a;</a></r>", b"<r>text</r>", b"<r><a/><b/><a/></r>"):
        with pytest.raises(xml_api.XmlBodyError):
            xml_api.parse(bad)
    out = xml_api.render({"bases": [{"id": 1, "ok": True}], "n": None, "2x": "y"})
    assert out.endswith(b"<response><bases><base><id>1</id><ok>true</ok></base></bases><n nil=\"true\" />"
                        b"<field name=\"2x\">y</field></response>")


def test_svg_pictures():
    share = svg.status_share({"DELIVRD": 3, "UNDELIV": 1, "PENDING": 0}, lambda w: f"<{w}>")
    assert share.count("<rect") == 4 and "&lt;DELIVRD&gt;" in share and "(75.0%)" in share and "<script" not in share
    step, bars = svg.rebucket([(100, 1), (101, 2), (250, 3)], max_bars=10)
    assert step == 16 and bars == [(100, 3), (244, 3)]
    assert svg.deliveries([]).count("<rect") == 0 and svg.deliveries([(1, 5), (2, 1)]).count("<rect") == 2


def test_sessions_end_when_unused():
    from smsc.web.cabinet import SESSION_IDLE, Sessions

    now = [1000.0]
    sessions = Sessions(lambda: now[0])
    token, s = sessions.new("shop")
    assert sessions.get(token) is s and sessions.get("nope") is None and sessions.get(None) is None
    now[0] += SESSION_IDLE - 1
    assert sessions.get(token) is s  # used: the idle time starts again
    now[0] += SESSION_IDLE + 1
    assert sessions.get(token) is None
    other, _ = sessions.new("shop")
    assert other != token and len(sessions._by_token) == 1
    sessions.drop(other)
    assert sessions.get(other) is None


def test_every_conformance_advice_reads_in_ukrainian_in_the_cabinet():
    from smsc.server.conformance import ADVICE, _REFUSED_ADVICE, advice

    uk, en = gettext_for("uk"), gettext_for("en")
    for sentence in [*ADVICE.values(), *_REFUSED_ADVICE.values()]:
        assert en(sentence) == sentence
        assert uk(sentence) != sentence, sentence  # a translation, not the msgid
    assert advice("wrong_source_ton") == ADVICE["wrong_source_ton"]
    assert advice("refused_ESME_RINVEXPIRY").startswith("validity_period must be")
    assert advice("refused_ESME_RX_T_APPN") == (
        "Submits were refused with ESME_RX_T_APPN: check the PDU against SMPP 3.4.")
    assert advice("made_up") == ""
