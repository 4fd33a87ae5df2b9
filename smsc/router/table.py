"""E.164 number -> operator name: ported-number overrides, longest prefix, default.

``RouteTable.build(prefixes, overrides, default, operators=...)`` checks a
table from config and raises ``ValueError`` whose message starts with the bad
key (``prefixes."38067": ...``, ``overrides."+38067...": ...``,
``default: ...``), so the config loader only prefixes file and section.

``RouteTable.lookup(number)`` takes a number already normalised by
``smsc.router.numbers`` and returns the operator name; it is on the hot path
(well under 1 µs): one dict probe for overrides, then one slice + dict probe
per distinct prefix length, longest first.

No route and no default is ``RoutingError(ESME_RINVDSTADR)``. The other
candidates are worse: ESME_RSUBMITFAIL is a generic failure that clients may
retry, ESME_RX_P_APPN is an ESME-side code for deliver_sm_resp, and
ESME_RDELIVERYFAILURE is for data_sm. RINVDSTADR tells the client, as a
permanent error, that this destination is not one we serve; the detail text
("no route for ...") says it was a routing refusal, not a malformed number.

The shipped Ukrainian table (``UKRAINE_PREFIXES``) comes from
libphonenumber's carrier data for +380 (``resources/carrier/en/380.txt``),
with 039 (Golden Telecom, absorbed by Kyivstar), 075 (Vodafone) and 077
(Kyivstar), which the older copies of that file lack. 071/072 (Phoenix, an
operator in occupied territory) are deliberately absent.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from smsc.pdu.constants import CommandStatus

from .numbers import E164_MAX_LENGTH, RoutingError, normalise_loose

# Operator keys: the names of the [operators.KEY] config sections (display
# names, prices and TTLs live there, in smsc.operators.spec).
KYIVSTAR: Final = "kyivstar"
VODAFONE: Final = "vodafone"
LIFECELL: Final = "lifecell"
INTERTELECOM: Final = "intertelecom"
PEOPLENET: Final = "peoplenet"
TRIMOB: Final = "3mob"

#: the Ukrainian operators of the shipped table
UKRAINE_OPERATORS: Final = frozenset({KYIVSTAR, VODAFONE, LIFECELL, INTERTELECOM, PEOPLENET, TRIMOB})


def _prefixes(**groups: tuple[str, ...]) -> Mapping[str, str]:
    names = {"kyivstar": KYIVSTAR, "vodafone": VODAFONE, "lifecell": LIFECELL,
             "intertelecom": INTERTELECOM, "peoplenet": PEOPLENET, "trimob": TRIMOB}
    return MappingProxyType({"380" + code: names[g] for g, codes in groups.items() for code in codes})


#: prefix (E.164 digits) -> operator, Ukrainian mobile codes
UKRAINE_PREFIXES: Final[Mapping[str, str]] = _prefixes(
    kyivstar=("39", "67", "68", "77", "96", "97", "98"),
    vodafone=("50", "66", "75", "95", "99"),
    lifecell=("63", "73", "93"),
    intertelecom=("94",),
    peoplenet=("92",),
    trimob=("91",),
)

#: brand name as people write it (lower case) -> operator of the shipped table
BRANDS: Final[Mapping[str, str]] = MappingProxyType({
    **{op.lower(): op for op in UKRAINE_OPERATORS},
    # legacy brands (SPEC.md section 4) and earlier names of the same networks
    "beeline": KYIVSTAR,
    "golden telecom": KYIVSTAR,
    "life": LIFECELL,
    "life:)": LIFECELL,
    "astelit": LIFECELL,
    "mts": VODAFONE,
    "umc": VODAFONE,
    "utel": TRIMOB,
    "trimob": TRIMOB,
    "3mob": TRIMOB,
    "peoplenet": PEOPLENET,
    "telesystems of ukraine": PEOPLENET,
})


def operator_for_brand(name: str) -> str:
    """The operator a brand name means: ``Beeline`` -> Kyivstar, ``Life:)`` -> lifecell.

    Case and surrounding spaces do not matter; an unknown brand is a
    ``ValueError``.
    """
    try:
        return BRANDS[" ".join(name.split()).lower()]
    except KeyError:
        raise ValueError(f"unknown operator or brand {name!r}") from None


@dataclass(frozen=True, slots=True)
class RouteTable:
    """Routes for normalised numbers. Build it with ``RouteTable.build``."""

    #: prefix (E.164 digits) -> operator; the longest matching prefix wins
    prefixes: Mapping[str, str]
    #: exact number (E.164 digits) -> operator, for ported numbers; beats prefixes
    overrides: Mapping[str, str] = field(default_factory=dict)
    #: operator for numbers no prefix matches; None refuses them
    default: str | None = None
    # what lookup probes: plain dicts (a mappingproxy's get costs a third more)
    # and the distinct prefix lengths, longest first
    _by_prefix: dict[str, str] = field(init=False, repr=False, compare=False)
    _exact: dict[str, str] = field(init=False, repr=False, compare=False)
    _lengths: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_prefix, exact = dict(self.prefixes), dict(self.overrides)
        set_ = object.__setattr__
        set_(self, "prefixes", MappingProxyType(by_prefix))
        set_(self, "overrides", MappingProxyType(exact))
        set_(self, "_by_prefix", by_prefix)
        set_(self, "_exact", exact)
        set_(self, "_lengths", tuple(sorted({len(p) for p in by_prefix}, reverse=True)))

    @classmethod
    def build(
        cls,
        prefixes: Mapping[str, str],
        overrides: Mapping[str, str] | None = None,
        default: str | None = None,
        *,
        operators: Collection[str] | None = None,
    ) -> RouteTable:
        """A checked table; ``ValueError`` names the first bad key.

        Prefixes are international digits (``38067``, not ``067``). Override
        keys may be written as people write numbers (``+380 67 123 45 67``)
        and are normalised. When ``operators`` is given, every operator named
        (and the default) must be one of them.
        """

        def check_operator(where: str, op: object) -> str:
            if not isinstance(op, str) or not op:
                raise ValueError(f"{where}: operator must be a non-empty string, got {op!r}")
            if operators is not None and op not in operators:
                known = ", ".join(sorted(operators)) or "none"
                raise ValueError(f"{where}: unknown operator {op!r} (known: {known})")
            return op

        checked: dict[str, str] = {}
        for prefix, op in prefixes.items():
            where = f'prefixes."{prefix}"'
            if not (isinstance(prefix, str) and prefix.isascii() and prefix.isdigit()):
                raise ValueError(f"{where}: a prefix is digits only")
            if prefix[0] == "0":
                raise ValueError(f"{where}: write the international form (38067), not the national 0...")
            if len(prefix) > E164_MAX_LENGTH:
                raise ValueError(f"{where}: longer than a number ({E164_MAX_LENGTH} digits)")
            checked[prefix] = check_operator(where, op)

        exact: dict[str, str] = {}
        for number, op in (overrides or {}).items():
            where = f'overrides."{number}"'
            if not isinstance(number, str):
                raise ValueError(f"{where}: a number must be a string")
            try:
                e164 = normalise_loose(number)
            except RoutingError as exc:
                raise ValueError(f"{where}: {exc.detail}") from None
            op = check_operator(where, op)
            if exact.get(e164, op) != op:
                raise ValueError(f"{where}: {e164} is already routed to {exact[e164]!r}")
            exact[e164] = op

        if default is not None:
            check_operator("default", default)
        return cls(prefixes=checked, overrides=exact, default=default)

    def lookup(self, number: str) -> str:
        """The operator for ``number`` (E.164 digits, as ``normalise`` returns).

        ``RoutingError(ESME_RINVDSTADR)`` when nothing matches and there is no
        default route.
        """
        op = self._exact.get(number)
        if op is not None:
            return op
        prefixes = self._by_prefix
        for n in self._lengths:
            op = prefixes.get(number[:n])
            if op is not None:
                return op
        if self.default is None:
            raise RoutingError(CommandStatus.ESME_RINVDSTADR, f"no route for {number}")
        return self.default


#: the shipped table: Ukrainian mobile prefixes, no overrides, no default route
UKRAINE_ROUTES: Final = RouteTable.build(UKRAINE_PREFIXES, operators=UKRAINE_OPERATORS)
