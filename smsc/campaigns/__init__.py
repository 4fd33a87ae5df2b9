"""smsc.campaigns: the pure building blocks of a mass mailing (SPEC 4).

``group``: an uploaded CSV -> normalised, de-duplicated recipients;
``template``: ``#column#`` personalisation, checked before sending;
``estimate``: segments and cost per recipient, blacklist and routes applied.

No Twisted, no I/O: the engine, the web layer and the CLI read the upload
and feed the bytes in.
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
