"""smsc.campaigns: the pure building blocks of a mass mailing (SPEC 4).

``group``: an uploaded CSV -> normalised, de-duplicated recipients;
``template``: ``#column#`` personalisation, checked before sending;
``estimate``: segments and cost per recipient, blacklist and routes applied.

No Twisted, no I/O: the engine, the web layer and the CLI read the upload
and feed the bytes in. The parts with I/O are modules of their own, not
imported here: ``store`` (the campaign tables and the reports' API),
``runner`` (sends running campaigns, inside the server) and ``cli``
(``smsc campaign``).
"""
from __future__ import annotations

from .estimate import Estimate, estimate, priced_by, segments_of, text_coding
from .group import PHONE_COLUMNS, Group, GroupError, InvalidRow, Recipient, parse_group
from .template import Template, TemplateError, TemplateProblem

__all__ = [
    "PHONE_COLUMNS", "Estimate", "Group", "GroupError", "InvalidRow", "Recipient", "Template",
    "TemplateError", "TemplateProblem", "estimate", "parse_group", "priced_by", "segments_of",
    "text_coding",
]
