"""Personalised texts: ``#column#`` placeholders filled per recipient (SPEC 4).

Pure: no I/O, no Twisted.

The FAQ tells customers to write ``#abonent_name#`` for the name column of
their CSV, whatever that column is called. So ``#abonent_name#``
(:data:`FAQ_NAME`) is a column called ``abonent_name`` when there is one,
else the *name column*: the one the caller names (``--name-column``), or the
one column whose header is a usual word for a name (:data:`NAME_COLUMNS`,
any case). With no such column, or several, it is an unknown placeholder
whose error says so: guessing between ``name`` and ``ім'я`` could greet
every customer by the wrong one.

The rule for ``#``:

* A *candidate* is ``#X#`` where X is one or more characters, none of them
  whitespace or ``#``. Text is scanned left to right; the ``#`` closing a
  placeholder cannot open another (``#a#b#`` is ``#a#`` then ``b#``).
* A candidate whose X equals a column name, ignoring case, is a placeholder.
  (So a column whose name has a space can't be used: rename it.)
* A candidate that names no column is an error if X has a letter or ``_``
  in it: it looks like a placeholder, most likely a typo (``#abonent_nmae#``)
  that would otherwise go out verbatim to every recipient.
  :meth:`Template.parse` lists all of them with the columns there are, and
  for each the nearest column (``difflib``, or a column whose name it
  contains: ``#client_name#`` -> ``#name#``), when one is near.
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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from .group import Group, Recipient

__all__ = ["FAQ_NAME", "NAME_COLUMNS", "Template", "TemplateError", "TemplateProblem"]

#: the FAQ's placeholder for the recipient's name (SPEC 4)
FAQ_NAME: Final = "abonent_name"
#: header names taken as the name column, compared case-insensitively (the
#: Ukrainian word with each apostrophe people type, and without one)
NAME_COLUMNS: Final = ("name", "abonent_name", "ім'я", "ім’я", "імʼя", "імя", "имя", "піб")
#: difflib's similarity from which a column is offered as "did you mean"
_NEAR: Final = 0.6

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
    def parse(cls, text: str, columns: Iterable[str] = (), name_column: str | None = None) -> Template:
        """``TemplateError`` listing every ``#word#`` that names none of ``columns``.

        ``name_column``: the column ``#abonent_name#`` stands for (any case);
        None finds it by name (:data:`NAME_COLUMNS`).
        """
        by_key: dict[str, str] = {}
        for name in columns:
            by_key.setdefault(name.casefold(), name)
        faq_name = _name_column(by_key, name_column)
        if isinstance(faq_name, str) and FAQ_NAME not in by_key:
            by_key[FAQ_NAME] = faq_name
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
            shown = list(dict.fromkeys(columns))
            raise TemplateError(_unknown_message(unknown, shown, faq_name), unknown=tuple(unknown))
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


def _name_column(by_key: Mapping[str, str], wanted: str | None) -> str | tuple[str, ...]:
    """The column ``#abonent_name#`` stands for, or the name-looking columns
    (none, or several) when that is not one. ``TemplateError`` when
    ``wanted`` is not a column."""
    if wanted is not None:
        column = by_key.get(wanted.strip().casefold())
        if column is None:
            shown = ", ".join(by_key.values()) or "none"
            raise TemplateError(f"name column {wanted!r}: no such column (columns: {shown})")
        return column
    found = tuple(column for key, column in by_key.items() if key in NAME_COLUMNS)
    return found[0] if len(found) == 1 else found


def _nearest(word: str, candidates: Sequence[str]) -> str | None:
    """The candidate a mistyped ``word`` most likely meant, if one is near."""
    folded = [c.casefold() for c in candidates]
    key = word.casefold()
    close = difflib.get_close_matches(key, folded, n=1, cutoff=_NEAR)
    if close:
        return candidates[folded.index(close[0])]
    inside = [c for c, f in zip(candidates, folded, strict=True) if len(f) >= 3 and (f in key or key in f)]
    return max(inside, key=len) if inside else None


def _unknown_message(unknown: Sequence[str], columns: list[str], faq_name: str | tuple[str, ...]) -> str:
    parts = []
    for word in unknown:
        if word.casefold() == FAQ_NAME:
            if faq_name:
                which = ", ".join(map(repr, faq_name))
                hint = f" (several name columns ({which}): say which with --name-column)"
            else:
                hint = " (the FAQ's name placeholder: no name column here; say which with --name-column)"
        else:
            near = _nearest(word, columns)
            if near is None and isinstance(faq_name, str):  # offered only where it would work
                near = _nearest(word, [FAQ_NAME])
            hint = f" (did you mean #{near}#?)" if near else ""
        parts.append(f"#{word}#{hint}")
    shown = ", ".join(columns) or "none"
    return f"unknown placeholder(s) {', '.join(parts)}: no such column (columns: {shown})"
