"""A number list (group) from an uploaded CSV: normalised, de-duplicated (SPEC 4).

Pure: bytes in, a frozen :class:`Group` out; no I/O, no Twisted.

The file:

* UTF-8, with or without a BOM. Anything else (an Excel "CSV" saved as
  Windows-1251, say) is a :class:`GroupError` naming the line of the first bad
  byte: guessing a code page would put wrong names into personalised texts.
* A header row is required: the first line with text on it (lines of only
  blanks, delimiters and quotes above it are skipped). The delimiter is the
  one of ``;`` and ``,`` that occurs more often in it, outside quotes (``;``
  on a tie, which only a one-column header gives, where it does not matter):
  Ukrainian-locale Excel writes ``;``, most other tools ``,``.
* Standard CSV quoting (``"a;b"``, ``""`` for a quote); a quoted field may
  span lines. Line endings ``\\n``, ``\\r\\n`` or ``\\r``.
* The phone column is named ``phone``, ``number``, ``msisdn``, ``телефон`` or
  ``номер`` (any case, surrounding spaces ignored), or named by the caller.

Decisions:

* Line numbers are the file's own, 1-based, header = line 1 when the file
  starts with it; a record spanning lines is reported at its first line.
* Blank lines, and lines whose cells are all blank (``;;;``, what
  spreadsheets leave below a table), are skipped and not counted.
* Each counted data row ends up as exactly one of: kept, duplicate, invalid.
  ``total_rows == len(rows) + duplicates + len(invalid)``.
* A row is invalid when: its cell count differs from the header's (extra
  cells are tolerated only when blank: a trailing delimiter), its phone cell
  is empty or not a number by ``normalise_loose`` (the reason is that
  function's detail), or its quoting is broken (``"x"y``; the csv reader
  resumes at the next line).
* A quote that is never closed is a :class:`GroupError`, not an invalid row:
  it swallows the rest of the file, so no later row could be trusted.
* Duplicates are judged on the normalised number (``+380 67 123-45-67`` and
  ``0671234567`` are one subscriber): the first occurrence is kept, with its
  own fields; later ones are only counted.
* Cells are kept with surrounding whitespace stripped (spreadsheets pad;
  ``str.strip`` also removes the no-break space). Columns with an empty
  header cell are dropped: nothing could refer to them. Two columns whose
  names differ only in case are a :class:`GroupError` (templates match names
  case-insensitively). Several phone-looking columns are a
  :class:`GroupError` too: the caller must name one.
* ``Recipient.fields`` keeps every named column, the phone column too, as the
  file had it (stripped); ``Recipient.msisdn`` is the normalised number.
"""
from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from smsc.router.numbers import RoutingError, normalise_loose

__all__ = [
    "PHONE_COLUMNS", "Group", "GroupError", "InvalidRow", "Recipient", "parse_group",
]

#: header names taken as the phone column, compared case-insensitively
PHONE_COLUMNS: Final = ("phone", "number", "msisdn", "телефон", "номер")

_DELIMITERS: Final = (";", ",")


class GroupError(ValueError):
    """The file cannot be read as a group at all; ``str()`` says why."""


@dataclass(frozen=True, slots=True)
class Recipient:
    """One kept row: the normalised number and all its cells by column name."""

    msisdn: str
    fields: Mapping[str, str]
    #: the file line the row starts on (0 when not from a file)
    line: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))

    def __str__(self) -> str:
        return f"line {self.line} ({self.msisdn})" if self.line else self.msisdn


@dataclass(frozen=True, slots=True)
class InvalidRow:
    """A data row that was not kept, and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Group:
    """An uploaded number list, after normalisation and de-duplication."""

    #: the named columns, in file order, as the header spells them
    columns: tuple[str, ...]
    #: kept rows, in file order, one per subscriber
    rows: tuple[Recipient, ...]
    #: data rows read (blank lines not counted)
    total_rows: int
    invalid: tuple[InvalidRow, ...]
    #: rows dropped because an earlier row had the same number
    duplicates: int
    #: which column held the numbers
    phone_column: str = ""

    @property
    def msisdns(self) -> tuple[str, ...]:
        return tuple(r.msisdn for r in self.rows)

    def summary(self) -> str:
        """E.g. ``1000 in, 956 kept (40 duplicates, 4 invalid)``."""
        return (
            f"{self.total_rows} in, {len(self.rows)} kept "
            f"({self.duplicates} duplicates, {len(self.invalid)} invalid)"
        )


def parse_group(data: bytes, phone_column: str | None = None) -> Group:
    """Read an uploaded CSV; ``phone_column`` overrides the search by name.

    ``GroupError`` when the file as a whole is unusable: not UTF-8, no header,
    no (or more than one) phone column, duplicate column names, a quote never
    closed. Faults of single rows are reported in ``Group.invalid``.
    """
    text = _decode(data)
    records = _records(text, _delimiter(text))
    header_line, header = next(records, (0, None))
    while isinstance(header, list) and not any(map(_has_text, header)):
        header_line, header = next(records, (0, None))  # ",,," above a ";" header
    if header is None:
        raise GroupError("the file is empty: a header row naming the phone column is required")
    if isinstance(header, str):
        raise GroupError(f"line {header_line}: the header row has {header}")
    names = [cell.strip() for cell in header]
    columns = _columns(names)
    phone = _phone_index(names, phone_column)
    width = len(names)
    named = [(i, name) for i, name in enumerate(names) if name]

    kept: list[Recipient] = []
    invalid: list[InvalidRow] = []
    seen: set[str] = set()
    duplicates = total = 0
    for line, cells in records:
        total += 1
        if isinstance(cells, str):  # the reader's complaint about this line
            invalid.append(InvalidRow(line, cells))
            continue
        if len(cells) != width and not (
            len(cells) > width and not any(c.strip() for c in cells[width:])
        ):
            invalid.append(InvalidRow(line, f"{len(cells)} cells, the header has {width}"))
            continue
        number = cells[phone].strip()
        if not number:
            invalid.append(InvalidRow(line, f"no number in column {names[phone]!r}"))
            continue
        try:
            msisdn = normalise_loose(number)
        except RoutingError as exc:
            invalid.append(InvalidRow(line, exc.detail))
            continue
        if msisdn in seen:
            duplicates += 1
            continue
        seen.add(msisdn)
        kept.append(Recipient(msisdn, {name: cells[i].strip() for i, name in named}, line))
    return Group(
        columns=columns,
        rows=tuple(kept),
        total_rows=total,
        invalid=tuple(invalid),
        duplicates=duplicates,
        phone_column=names[phone],
    )


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise GroupError(
            f"line {line}: not UTF-8 (byte 0x{data[exc.start]:02X}); save the file as "
            f"'CSV UTF-8' (a Windows-1251 export is the usual cause)"
        ) from None


def _delimiter(text: str) -> str:
    """``;`` or ``,``: whichever the header line has more of, outside quotes.

    The header line is the first with anything but blanks, delimiters and
    quotes on it (the line ``_records`` takes as the header).
    """
    for line in io.StringIO(text, newline=""):
        if _has_text(line):
            break
    else:
        return _DELIMITERS[0]
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch in counts and not quoted:
            counts[ch] += 1
    return max(_DELIMITERS, key=lambda d: counts[d])  # the first (";") on a tie


def _has_text(cell: str) -> bool:
    """Anything but blanks, delimiters and quotes: what makes a line the header."""
    return any(not (ch.isspace() or ch in ';,"') for ch in cell)


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str] | str]]:
    """(first line, cells) per non-blank record; a str instead of cells for a broken one."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    end = 0  # the last line consumed so far
    while True:
        start = end + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "end of data" in str(exc):  # strict mode: only inside an open quote
                raise GroupError(
                    f"line {start}: a quote opened here is never closed (the field would run to "
                    f"the end of the file)"
                ) from None
            end = reader.line_num
            yield start, f"broken quoting: {exc}"
            continue
        end = reader.line_num
        if any(c.strip() for c in cells):
            yield start, cells


def _columns(names: list[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for name in names:
        if not name:
            continue
        key = name.casefold()
        if key in seen:
            raise GroupError(
                f"columns {seen[key]!r} and {name!r}: names must differ (not only in case), "
                f"placeholders find columns by name"
            )
        seen[key] = name
    return tuple(seen.values())


def _phone_index(names: list[str], wanted: str | None) -> int:
    folded = [n.casefold() for n in names]
    shown = ", ".join(repr(n) for n in names if n) or "none"
    if wanted is not None:
        key = wanted.strip().casefold()
        if not key or key not in folded:
            raise GroupError(f"no column {wanted!r} in the header (columns: {shown})")
        return folded.index(key)
    hits = [i for i, n in enumerate(folded) if n in PHONE_COLUMNS]
    if len(hits) > 1:
        which = ", ".join(repr(names[i]) for i in hits)
        raise GroupError(f"several phone columns ({which}): name the one to use")
    if not hits:
        looked = ", ".join(PHONE_COLUMNS)
        hint = ""
        if any(_is_number(n) for n in names):
            hint = "; the first line looks like data: a header row is required"
        raise GroupError(f"no phone column: looked for a column named {looked} (columns: {shown}){hint}")
    return hits[0]


def _is_number(cell: str) -> bool:
    try:
        normalise_loose(cell)
    except RoutingError:
        return False
    return True
