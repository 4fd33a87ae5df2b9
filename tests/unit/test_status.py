"""The status vocabulary (smsc/status.py): the one derivation of a message's
status, the receipt words, severity, message_state, and its place in the layers."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from smsc import status
from smsc.campaigns.store import report_status
from smsc.pdu.constants import MessageState
from smsc.status import (
    ACCEPTED, DELETED, DELIVRD, ENROUTE, FAILED, NOREPORT, REJECTD, SCHEDULED, UNDELIV, UNKNOWN,
    message_history, message_status, receipt_word,
)

SMSC = Path(status.__file__).parent


def test_a_final_message_is_its_stat():
    assert message_status(DELIVRD, 160.0) == DELIVRD
    assert message_status(FAILED, 160.0) == FAILED  # the stored word; receipts choose theirs
    # final wins over everything said about before it
    assert message_status(DELETED, 160.0, not_before=500.0, now=100.0, held=True) == DELETED


def test_before_its_final_state_a_message_is_enroute_unless_more_is_known():
    assert message_status(None, None) == ENROUTE
    assert message_status(None, None, held=True) == ACCEPTED
    assert message_status(None, None, not_before=500.0, now=100.0) == SCHEDULED
    assert message_status(None, None, not_before=500.0, now=100.0, held=True) == SCHEDULED
    assert message_status(None, None, not_before=100.0, now=100.0, held=True) == ACCEPTED  # its time came
    assert message_status(None, None, not_before=500.0) == ENROUTE  # no clock given: no schedule known


@pytest.mark.parametrize("facts,history", [
    (dict(stat=DELIVRD, done_time=160.0), [(ACCEPTED, 100.0), (DELIVRD, 160.0)]),
    (dict(stat=None, done_time=None), [(ACCEPTED, 100.0), (ENROUTE, 100.0)]),
    (dict(stat=None, done_time=None, held=True), [(ACCEPTED, 100.0)]),
    (dict(stat=None, done_time=None, not_before=500.0, now=200.0), [(ACCEPTED, 100.0), (SCHEDULED, 100.0)]),
    (dict(stat=None, done_time=None, not_before=150.0, now=200.0), [(ACCEPTED, 100.0), (ENROUTE, 150.0)]),
    (dict(stat=DELIVRD, done_time=None), [(ACCEPTED, 100.0), (ENROUTE, 100.0)]),  # not final: half of it
])
def test_a_history_ends_with_the_status_of_the_same_facts(facts, history):
    assert message_history(100.0, **facts) == history
    assert history[-1][0] == message_status(facts.pop("stat"), facts.pop("done_time"), **facts)


def test_a_stat_without_its_done_time_is_not_final():
    # stat and done time are committed together; half of them is no final state
    assert message_status(DELIVRD, None) == ENROUTE


def test_receipt_words_and_the_faq_switch():
    assert receipt_word(FAILED) == UNDELIV and receipt_word(NOREPORT) == UNKNOWN
    assert receipt_word(FAILED, faq_words=True) == FAILED
    assert receipt_word(NOREPORT, faq_words=True) == NOREPORT
    assert receipt_word(REJECTD) == REJECTD == receipt_word(REJECTD, faq_words=True)
    assert receipt_word(ENROUTE) == ENROUTE


def test_message_state_of_every_stat():
    assert set(status.STAT_STATE) == set(status.STATS)
    assert status.STAT_STATE[DELIVRD] == MessageState.DELIVERED
    assert status.STAT_STATE[ENROUTE] == MessageState.ENROUTE
    # the FAQ's words are the SMPP states of the words a receipt shows for them
    for faq in (FAILED, NOREPORT):
        assert status.STAT_STATE[faq] == status.STAT_STATE[receipt_word(faq)]


def test_severity_ranks_every_operator_stat_worst_first():
    assert set(status.WORST_FIRST) == set(status.OPERATOR_STATS)
    assert status.SEVERITY[REJECTD] == 0 and status.SEVERITY[DELIVRD] == len(status.WORST_FIRST) - 1
    assert status.SEVERITY[FAILED] < status.SEVERITY[UNDELIV] < status.SEVERITY[NOREPORT]


@pytest.mark.parametrize(("stored", "stat", "done_time", "shown"), [
    ("PENDING", None, None, "PENDING"),
    ("SENDING", None, None, "PENDING"),
    ("SKIPPED", None, None, "SKIPPED"),
    ("REFUSED", None, None, "REFUSED"),
    ("SENT", None, None, ENROUTE),
    ("SENT", DELIVRD, 160.0, DELIVRD),
    ("SENT", FAILED, 160.0, UNDELIV),
    ("SENT", NOREPORT, 160.0, UNKNOWN),
])
def test_a_campaign_report_shows_the_message_status_in_receipt_words(stored, stat, done_time, shown):
    assert report_status(stored, stat, done_time) == shown


def _imports(path: Path) -> set[str]:
    """Modules ``path`` imports, absolute (``smsc.pdu.constants``)."""
    package = ".".join(path.relative_to(SMSC.parent).with_suffix("").parts[:-1])
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            out.add(base)
    return out


def test_status_imports_only_the_standard_library_and_pdu_constants():
    ours = {m for m in _imports(SMSC / "status.py") if m.split(".")[0] not in sys.stdlib_module_names}
    assert ours <= {"smsc.pdu.constants"}, ours


def test_pdu_never_imports_status():
    for path in (SMSC / "pdu").glob("*.py"):
        assert not any(m == "smsc.status" or m.startswith("smsc.status.") for m in _imports(path)), path


def test_dlr_imports_nothing_from_web():
    for path in (SMSC / "dlr").glob("*.py"):
        assert not any(m == "smsc.web" or m.startswith("smsc.web.") for m in _imports(path)), path
