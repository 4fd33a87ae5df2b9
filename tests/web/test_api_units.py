"""Pure pieces of the HTTP API: the status view, URL checks, credentials,
the refusal table."""
from __future__ import annotations

import base64

import pytest

from smsc.dlr.callbacks import check_url, loggable
from smsc.dlr.view import callback_payload, message_view
from smsc.pdu.constants import CommandStatus
from smsc.pdu.errors import SmppError
from smsc.records import Message
from smsc.web.api_auth import basic_credentials
from smsc.web.api_messages import refusal_error

T0 = 1_780_000_000.0  # 2026-05-28T20:26:40Z


def row(done_time=None, stat=None, not_before=None):
    m = Message(0x1F, "shop", 5, 0, "SMSClub", 1, 1, "+380671234567", 0, 0, 0, b"hi", T0,
                "380671234567", "kyivstar", 1, 42, None, not_before)
    return (m, 2 if done_time else 1, stat, 0 if done_time else None, done_time)


def test_status_before_and_after_the_final_state():
    assert message_view(row(), "1f", T0 + 1)["status"] == "ENROUTE"
    assert message_view(row(), "1f", T0 + 1, held=True)["status"] == "ACCEPTED"
    assert message_view(row(not_before=T0 + 60), "1f", T0 + 1, held=True)["status"] == "SCHEDULED"
    view = message_view(row(T0 + 3, "DELIVRD"), "1f", T0 + 5)
    assert view == {
        "id": "1f", "from": "SMSClub", "to": "380671234567", "text": "hi", "segments": 1, "cost_kopecks": 42,
        "status": "DELIVRD", "error": 0, "submitted_at": "2026-05-28T20:26:40Z", "scheduled_for": None,
        "done_at": "2026-05-28T20:26:43Z",
        "history": [{"status": "ACCEPTED", "at": "2026-05-28T20:26:40Z"},
                    {"status": "DELIVRD", "at": "2026-05-28T20:26:43Z"}],
    }
    assert callback_payload(view) == {"id": "1f", "status": "DELIVRD", "error": 0, "to": "380671234567",
                                      "done_at": "2026-05-28T20:26:43Z"}


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/dlr?x=1", "https://example.com/"])
def test_good_urls(url):
    assert check_url(url) == url


@pytest.mark.parametrize("url", ["ftp://h/x", "http://", "example.com/x", "http://h:99999/", "http://a b/",
                                 "http://h/" + "x" * 2048, "http://ü.example/"])
def test_bad_urls(url):
    with pytest.raises(ValueError):
        check_url(url)


def test_loggable_url_drops_secrets():
    assert loggable("https://user:pw@h.example:8443/cb?token=s3cr3t#f") == "https://h.example:8443/cb"


def test_basic_credentials():
    good = "Basic " + base64.b64encode(b"shop:p:w").decode()
    assert basic_credentials(good) == ("shop", "p:w")
    for bad in (None, "", "Bearer x", "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode()):
        assert basic_credentials(bad) is None


def test_refusal_table():
    funds = 0x45
    e = refusal_error(SmppError(CommandStatus.ESME_RSUBMITFAIL), funds)
    assert (e.status, e.code, e.smpp_status) == (402, "insufficient_funds", "ESME_RSUBMITFAIL")
    e = refusal_error(SmppError(CommandStatus.ESME_RSUBMITFAIL), 0x401)  # a vendor funds status
    assert (e.status, e.code, e.field) == (422, "invalid_text", "text")
    e = refusal_error(SmppError(0x401, "short"), 0x401)
    assert (e.status, e.code, e.smpp_status) == (402, "insufficient_funds", "0x00000401")
    e = refusal_error(SmppError(CommandStatus.ESME_RINVDSTADR, "no route"), funds)
    assert (e.status, e.code, e.field, e.message) == (422, "invalid_destination", "to", "no route")
    assert refusal_error(SmppError(CommandStatus.ESME_RTHROTTLED), funds).status == 429
    assert refusal_error(SmppError(CommandStatus.ESME_RSYSERR), funds).status == 503
    assert refusal_error(SmppError(CommandStatus.ESME_RINVREGDLVFLG), funds).code == "refused"
