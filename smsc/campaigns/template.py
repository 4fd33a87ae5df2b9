"""Personalised texts: ``#column#`` placeholders filled per recipient (SPEC 4).

Pure: no I/O, no Twisted. ``#abonent_name#`` of the FAQ is nothing special,
just a CSV column called ``abonent_name``.

The rule for ``#``:

* A *candidate* is ``#X#`` where X is one or more characters, none of them
  whitespace or ``#``. Text is scanned left to right; the ``#`` closing a
  placeholder cannot open another (``#a#b#`` is ``#a#`` then ``b#``).
* A candidate whose X equals a column name, ignoring case, is a placeholder.
  (So a column whose name has a space can't be used: rename it.)
* A candidate that names no column is an error if X has a letter or ``_``
  in it: it looks like a placeholder, most likely a typo (``#abonent_nmae#``)
  that would otherwise go out verbatim to every recipient.
  :meth:`Template.parse` lists all of them, with close column names.
* Everything else is literal text, so ``order #15``, ``#15#``, ``C#``,
  ``# of items``, ``#1#2`` and a lone ``#`` survive as written. After a
  literal candidate the scan resumes at its closing ``#`` (``#15#name#`` is
  ``#15`` then the placeholder ``#name#``).
* There is no escape: a literal ``#word#`` that is not a column is written
  differently (``#word #``). An escape such as ``##`` would change texts
  that already contain ``##``.
* Values are inserted as they are, never scanned again: a name containing
  ``#x#`` is printed, not substituted.
* An empty (or whitespace-only) or missing value for a used placeholder is
  an error, not an empty string: "Dear , ..." to a customer is the mistake
  the check exists for. :meth:`Template.check` finds all of them before
  anything is sent; :meth:`Template.render` raises on the first.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from .group import Group, Recipient

__all__ = ["Template", "TemplateError", "TemplateProblem"]

# the opening "#" of a candidate; the lookahead keeps X and the closing "#"
# unconsumed, so a literal candidate's closing "#" can open the next one
_CANDIDATE: Final = re.compile(r"#(?=([^\s#]+)#)")


class TemplateError(ValueError):
    """A template that can't be used as it is; ``str()`` says why.

    ``unknown``: placeholders naming no column (from ``parse``);
    ``problems``: recipients without a value (from ``render``).
    """

    def __init__(
        self,
        message: str,
        *,
        unknown: tuple[str, ...] = (),
        problems: tuple[TemplateProblem, ...] = (),
    ) -> None:
        super().__init__(message)
        self.unknown = unknown
        self.problems = problems


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """A recipient whose text can't be made: no value for ``column``."""

    line: int
    msisdn: str
    column: str

    def __str__(self) -> str:
        where = f"line {self.line} ({self.msisdn})" if self.line else self.msisdn
        return f"{where}: no value for #{self.column}#"


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed text. Build it with :meth:`parse`."""

    text: str
    #: the columns used, spelled as in the group, in order of first use
    placeholders: tuple[str, ...]
    # literal, column, literal, column, ..., literal: len(_literals) == len(_fields) + 1
    _literals: tuple[str, ...] = field(repr=False, compare=False)
    _fields: tuple[str, ...] = field(repr=False, compare=False)

    @classmethod
    def parse(cls, text: str, columns: Iterable[str] = ()) -> Template:
        """``TemplateError`` listing every ``#word#`` that names none of ``columns``."""
        by_key: dict[str, str] = {}
        for name in columns:
            by_key.setdefault(name.casefold(), name)
        literals: list[str] = []
        fields: list[str] = []
        unknown: list[str] = []
        start = pos = 0
        while (m := _CANDIDATE.search(text, pos)) is not None:
            word = m.group(1)
            end = m.end() + len(word) + 1
            column = by_key.get(word.casefold())
            if column is not None:
                literals.append(text[start:m.start()])
                fields.append(column)
                start = pos = end
            elif any(ch.isalpha() or ch == "_" for ch in word):
                if word not in unknown:
                    unknown.append(word)
                pos = end
            else:  # literal: resume at the closing "#"
                pos = end - 1
        literals.append(text[start:])
        if unknown:
            raise TemplateError(_unknown_message(unknown, list(by_key.values())), unknown=tuple(unknown))
        return cls(text, tuple(dict.fromkeys(fields)), tuple(literals), tuple(fields))

    @property
    def personalised(self) -> bool:
        return bool(self._fields)

    def render(self, recipient: Recipient) -> str:
        """The text for one recipient; ``TemplateError`` if a value is missing."""
        if not self._fields:
            return self._literals[0]
        lits = self._literals
        out = [lits[0]]
        for i, column in enumerate(self._fields, 1):
            value = _value(recipient, column)
            if value is None:
                problem = TemplateProblem(recipient.line, recipient.msisdn, column)
                raise TemplateError(str(problem), problems=(problem,))
            out.append(value)
            out.append(lits[i])
        return "".join(out)

    def check(self, recipients: Group | Iterable[Recipient]) -> list[TemplateProblem]:
        """Every (recipient, column) with no value, in file order; [] when all can be sent."""
        rows = recipients.rows if isinstance(recipients, Group) else recipients
        if not self.placeholders:
            return []
        return [
            TemplateProblem(r.line, r.msisdn, column)
            for r in rows
            for column in self.placeholders
            if _value(r, column) is None
        ]


def _value(recipient: Recipient, column: str) -> str | None:
    """The recipient's non-blank value for ``column`` (any case), or None."""
    fields = recipient.fields
    value = fields.get(column)
    if value is None:
        key = column.casefold()
        value = next((v for k, v in fields.items() if k.casefold() == key), None)
    if value is None or not value.strip():
        return None
    return value


def _unknown_message(unknown: Sequence[str], columns: list[str]) -> str:
    parts = []
    for word in unknown:
        close = difflib.get_close_matches(word.casefold(), [c.casefold() for c in columns], n=1)
        hint = ""
        if close:
            hint = f" (did you mean #{next(c for c in columns if c.casefold() == close[0])}#?)"
        parts.append(f"#{word}#{hint}")
    shown = ", ".join(columns) or "none"
    return f"unknown placeholder(s) {', '.join(parts)}: no such column (columns: {shown})"
