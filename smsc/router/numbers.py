"""Destination numbers -> E.164 digits (no ``+``), Ukraine as the home country.

Two entry points:

``normalise(destination_addr, dest_addr_ton, dest_addr_npi)``
    what an SMPP client sent. Clients are programs, so the address must be
    digits, with at most a leading ``+``: spaces, dashes, parentheses or dots
    are refused (``ESME_RINVDSTADR``) rather than guessed at.

``normalise_loose(text)``
    a number typed by a person (CSV upload, HTTP form): spaces (any
    whitespace, including the no-break space spreadsheets emit), dashes and
    parentheses are dropped first, then the ``dest_addr_ton`` 0 rules apply.

Accepted forms, for subscriber number ``NSN`` = 9 digits not starting with 0
(the Ukrainian national significant number, e.g. ``671234567``):

===============================  =================  ============================
sent                             dest_addr_ton      result
===============================  =================  ============================
``+380NSN``                      0, 1 or 2          ``380NSN``
``+CC...`` (another country)     0, 1 or 2          the digits, 8-15 of them
``380NSN``                       0, 1 or 2          ``380NSN``
``CC...`` (another country)      1, or 0            the digits, 8-15 of them
``0NSN`` (national, trunk 0)     0 or 2             ``380NSN``
``80NSN`` (pre-2010 trunk 8)     0 or 2             ``380NSN``
``NSN`` (9 digits)               0 or 2             ``380NSN``
===============================  =================  ============================

Decisions:

* A leading ``+`` means international whatever the TON says: it is
  unambiguous, and clients that prepend it often leave ton at 0.
* ``80NSN`` is accepted: the old Soviet/Ukrainian trunk form ``8 0XX ...``
  still sits in address books and CRMs that feed SMPP clients. With ton 0 it
  wins over the (11-digit) +800 international freephone reading, which never
  takes SMS.
* A bare 9-digit ``NSN`` (ton 0 or 2) is Ukrainian: it is what a spreadsheet
  leaves of ``0671234567`` after eating the leading zero, and the correct
  GSM "national number" form (no trunk prefix). A foreign number of 9 digits
  must therefore come with ton 1 or a ``+``.
* ton 2 (national) must give a Ukrainian number; ``380NSN`` with ton 2 is
  tolerated since its length tells it apart from an NSN.
* ton 1 (international) takes the digits as they are: ``0671234567`` with
  ton 1 is refused (no country code starts with 0), not silently re-read.
* A Ukrainian number (``380`` first) has exactly 9 more digits, the first not
  0; other countries' numbers are 8-15 digits not starting with 0. Whether
  there is a route for them is the route table's business.
* ``00`` (international call prefix) is not accepted: it is a dialling
  artefact, never an address.
* Other TONs (3 network specific, 4 subscriber, 5 alphanumeric,
  6 abbreviated) give ``ESME_RINVDSTTON``; NPIs other than 0 (unknown) and
  1 (ISDN/E.164) give ``ESME_RINVDSTNPI``: the specific statuses SMPP 3.4
  has for them, so a client sees which field is wrong. Every fault in the
  address itself is ``ESME_RINVDSTADR``.
"""
from __future__ import annotations

from typing import Final

from smsc.pdu.constants import CommandStatus
from smsc.pdu.errors import SmppError

TON_UNKNOWN: Final = 0
TON_INTERNATIONAL: Final = 1
TON_NATIONAL: Final = 2
NPI_UNKNOWN: Final = 0
NPI_ISDN: Final = 1

#: Ukraine's country code, and the length of its national significant number
UA_COUNTRY_CODE: Final = "380"
UA_NSN_LENGTH: Final = 9
#: lengths of an E.164 number (country code included) we accept
E164_MIN_LENGTH: Final = 8
E164_MAX_LENGTH: Final = 15

_TONS: Final = frozenset({TON_UNKNOWN, TON_INTERNATIONAL, TON_NATIONAL})
_NPIS: Final = frozenset({NPI_UNKNOWN, NPI_ISDN})
_LOOSE_DROP: Final = str.maketrans("", "", "-()")


class RoutingError(SmppError):
    """The destination cannot be used or has no route; ``status`` says why.

    Raised by ``normalise`` (bad address, TON or NPI) and by the route table
    (no route); the engine answers it as the submit status, and the HTTP
    front door maps the same status.
    """


def normalise(
    destination_addr: str, dest_addr_ton: int = TON_UNKNOWN, dest_addr_npi: int = NPI_UNKNOWN
) -> str:
    """E.164 digits (no ``+``) of an SMPP destination; ``RoutingError`` if unusable."""
    if dest_addr_ton not in _TONS:
        raise RoutingError(
            CommandStatus.ESME_RINVDSTTON,
            f"dest_addr_ton {dest_addr_ton} not supported (0 unknown, 1 international, 2 national)",
        )
    if dest_addr_npi not in _NPIS:
        raise RoutingError(
            CommandStatus.ESME_RINVDSTNPI,
            f"dest_addr_npi {dest_addr_npi} not supported (0 unknown, 1 ISDN/E.164)",
        )
    return _normalise(destination_addr, destination_addr, dest_addr_ton)


def normalise_loose(text: str) -> str:
    """E.164 digits of a number typed by a person, e.g. ``+38 (067) 123-45-67``.

    Whitespace, dashes and parentheses are dropped, then the rules of
    ``normalise`` with dest_addr_ton 0 apply. ``RoutingError`` (status
    ``ESME_RINVDSTADR``) if it is still not a number.
    """
    return _normalise("".join(text.split()).translate(_LOOSE_DROP), text, TON_UNKNOWN)


def _normalise(addr: str, shown: str, ton: int) -> str:
    international = addr.startswith("+")
    digits = addr[1:] if international else addr
    if not (digits.isascii() and digits.isdigit()):
        what = "empty" if not digits else "not digits (send only 0-9, with at most a leading +)"
        raise RoutingError(CommandStatus.ESME_RINVDSTADR, f"destination {shown!r}: {what}")
    if international or ton == TON_INTERNATIONAL:
        return _e164(digits, shown)
    n = len(digits)
    if digits[0] == "0":
        if n != UA_NSN_LENGTH + 1:
            raise RoutingError(
                CommandStatus.ESME_RINVDSTADR,
                f"destination {shown!r}: {n} digits, a national number is 0 and 9 digits",
            )
        return _ukrainian(digits[1:], shown)
    if n == UA_NSN_LENGTH + 2 and digits.startswith("80"):
        return _ukrainian(digits[2:], shown)
    if n == UA_NSN_LENGTH:
        return _ukrainian(digits, shown)
    if ton == TON_NATIONAL and not digits.startswith(UA_COUNTRY_CODE):
        raise RoutingError(
            CommandStatus.ESME_RINVDSTADR,
            f"destination {shown!r}: dest_addr_ton 2 (national) takes 0XXXXXXXXX, 80XXXXXXXXX or 9 digits",
        )
    return _e164(digits, shown)


def _ukrainian(nsn: str, shown: str) -> str:
    if nsn[0] == "0":
        raise RoutingError(
            CommandStatus.ESME_RINVDSTADR,
            f"destination {shown!r}: a Ukrainian subscriber number cannot start with 0",
        )
    return UA_COUNTRY_CODE + nsn


def _e164(digits: str, shown: str) -> str:
    if digits[0] == "0":
        raise RoutingError(
            CommandStatus.ESME_RINVDSTADR,
            f"destination {shown!r}: an international number cannot start with 0",
        )
    if digits.startswith(UA_COUNTRY_CODE):
        if len(digits) != len(UA_COUNTRY_CODE) + UA_NSN_LENGTH or digits[3] == "0":
            raise RoutingError(
                CommandStatus.ESME_RINVDSTADR,
                f"destination {shown!r}: a Ukrainian number is 380 and 9 digits, not starting with 0",
            )
        return digits
    if not E164_MIN_LENGTH <= len(digits) <= E164_MAX_LENGTH:
        raise RoutingError(
            CommandStatus.ESME_RINVDSTADR,
            f"destination {shown!r}: {len(digits)} digits, an international number has "
            f"{E164_MIN_LENGTH}-{E164_MAX_LENGTH}",
        )
    return digits
