"""smsc.router: number normalisation and the prefix route table (pure, no I/O)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsc.pdu.constants import CommandStatus
from smsc.router.numbers import RoutingError, normalise, normalise_loose
from smsc.router.table import (
    INTERTELECOM,
    KYIVSTAR,
    LIFECELL,
    PEOPLENET,
    TRIMOB,
    UKRAINE_OPERATORS,
    UKRAINE_PREFIXES,
    UKRAINE_ROUTES,
    VODAFONE,
    RouteTable,
    operator_for_brand,
)

UA = "380671234567"
NSN = st.from_regex(r"\A[1-9][0-9]{8}\Z")


# --- normalise: accepted forms ------------------------------------------------


@pytest.mark.parametrize(
    "addr,ton,npi",
    [
        ("+380671234567", 1, 1),
        ("+380671234567", 0, 0),
        ("380671234567", 1, 1),
        ("380671234567", 0, 0),
        ("380671234567", 0, 1),
        ("380671234567", 2, 1),  # national TON with the full number: length tells
        ("0671234567", 2, 1),
        ("0671234567", 0, 0),
        ("80671234567", 0, 0),  # pre-2010 trunk 8
        ("80671234567", 2, 1),
        ("671234567", 2, 1),  # GSM national number: no trunk prefix
        ("671234567", 0, 0),  # what a spreadsheet leaves of 0671234567
    ],
)
def test_every_accepted_form_gives_the_same_e164(addr, ton, npi):
    assert normalise(addr, ton, npi) == UA


@pytest.mark.parametrize(
    "addr,ton,expected",
    [
        ("4915112345678", 1, "4915112345678"),
        ("+4915112345678", 1, "4915112345678"),
        ("+4915112345678", 0, "4915112345678"),
        ("4915112345678", 0, "4915112345678"),
        ("12025550123", 1, "12025550123"),
        ("671234567", 1, "671234567"),  # ton 1: taken as international, no guessing
        ("12345678", 1, "12345678"),  # 8 digits: shortest accepted
        ("123456789012345", 1, "123456789012345"),  # 15: longest
    ],
)
def test_other_countries_are_valid_numbers(addr, ton, expected):
    assert normalise(addr, ton, 1) == expected


@pytest.mark.parametrize(
    "text",
    [
        "+38 (067) 123-45-67",
        "+380 67 123 45 67",
        "067-123-45-67",
        "(067) 1234567",
        "8 067 123 45 67",
        " 380671234567 ",
        "380\u00a0671\u00a0234\u00a0567",  # no-break spaces, as spreadsheets write them
        "671234567",
    ],
)
def test_loose_tolerates_human_formatting(text):
    assert normalise_loose(text) == UA


# --- normalise: refusals --------------------------------------------------------


@pytest.mark.parametrize(
    "addr,ton",
    [
        ("", 0),
        ("+", 1),
        ("abc", 0),
        ("38067123456a", 1),
        ("+380 67 123 45 67", 1),  # spaces: SMPP clients send digits
        ("067-123-45-67", 0),
        ("(067)1234567", 2),
        ("38067123456\u0663", 1),  # an Arabic-Indic digit is not 0-9
        ("38067123456", 1),  # Ukrainian, one digit short
        ("3806712345678", 1),  # one too many
        ("380071234567", 1),  # subscriber part starting with 0
        ("0071234567", 0),
        ("00380671234567", 0),  # international call prefix is not an address
        ("0671234567", 1),  # ton 1 says international: 0... is no country code
        ("067123456", 0),  # national, one digit short
        ("06712345678", 2),
        ("1234567", 1),  # too short for E.164
        ("1234567890123456", 1),  # too long
        ("4915112345678", 2),  # national TON, not a Ukrainian number
        ("++380671234567", 0),
        ("380671234567+", 0),
    ],
)
def test_bad_destination_is_rinvdstadr(addr, ton):
    with pytest.raises(RoutingError) as err:
        normalise(addr, ton, 1)
    assert err.value.status == CommandStatus.ESME_RINVDSTADR


@pytest.mark.parametrize(
    "text", ["", "   ", "abc", "067 123 45 6", "+38 (067) 123-45-67 ext 2", "067.123.45.67"]
)
def test_loose_refusals_are_rinvdstadr(text):
    with pytest.raises(RoutingError) as err:
        normalise_loose(text)
    assert err.value.status == CommandStatus.ESME_RINVDSTADR


@pytest.mark.parametrize("ton", [3, 4, 5, 6, 7])
def test_unsupported_ton_names_the_ton(ton):
    with pytest.raises(RoutingError) as err:
        normalise(UA, ton, 1)
    assert err.value.status == CommandStatus.ESME_RINVDSTTON


@pytest.mark.parametrize("npi", [3, 8, 9, 18])
def test_unsupported_npi_names_the_npi(npi):
    with pytest.raises(RoutingError) as err:
        normalise(UA, 1, npi)
    assert err.value.status == CommandStatus.ESME_RINVDSTNPI


@given(NSN)
def test_national_and_international_forms_agree(nsn):
    expected = "380" + nsn
    assert normalise("0" + nsn, 0, 0) == expected
    assert normalise("0" + nsn, 2, 1) == expected
    assert normalise("380" + nsn, 0, 0) == expected
    assert normalise("380" + nsn, 1, 1) == expected
    assert normalise("+380" + nsn, 1, 1) == expected
    assert normalise("+380" + nsn, 0, 0) == expected
    assert normalise("8" + "0" + nsn, 0, 0) == expected
    assert normalise_loose(f"+38 (0{nsn[:2]}) {nsn[2:5]}-{nsn[5:7]}-{nsn[7:]}") == expected


@given(st.from_regex(r"\A0[0-9]{8}\Z"))
def test_subscriber_part_starting_with_0_is_refused_in_every_form(nsn):
    for addr, ton in (("0" + nsn, 0), ("380" + nsn, 1), ("+380" + nsn, 0), ("80" + nsn, 2)):
        with pytest.raises(RoutingError) as err:
            normalise(addr, ton, 1)
        assert err.value.status == CommandStatus.ESME_RINVDSTADR


# --- the route table ---------------------------------------------------------------

UKRAINE_GROUPS = {
    KYIVSTAR: ("039", "067", "068", "077", "096", "097", "098"),
    VODAFONE: ("050", "066", "075", "095", "099"),
    LIFECELL: ("063", "073", "093"),
    INTERTELECOM: ("094",),
    PEOPLENET: ("092",),
    TRIMOB: ("091",),
}


@pytest.mark.parametrize(
    "code,operator", [(code, op) for op, codes in UKRAINE_GROUPS.items() for code in codes]
)
def test_every_ukrainian_prefix_routes_to_its_operator(code, operator):
    assert UKRAINE_ROUTES.lookup(normalise(code + "1234567")) == operator


def test_shipped_table_is_exactly_the_documented_groups():
    expected = {"38" + code: op for op, codes in UKRAINE_GROUPS.items() for code in codes}
    assert dict(UKRAINE_PREFIXES) == expected
    assert set(UKRAINE_PREFIXES.values()) == UKRAINE_OPERATORS


def test_unknown_prefix_is_refused_without_a_default():
    with pytest.raises(RoutingError) as err:
        UKRAINE_ROUTES.lookup("380441234567")  # Kyiv landline
    assert err.value.status == CommandStatus.ESME_RINVDSTADR
    assert "380441234567" in err.value.detail
    with pytest.raises(RoutingError):
        UKRAINE_ROUTES.lookup("4915112345678")


def test_unknown_prefix_takes_the_default_route():
    table = RouteTable.build(UKRAINE_PREFIXES, default="intl", operators=UKRAINE_OPERATORS | {"intl"})
    assert table.lookup("380441234567") == "intl"
    assert table.lookup("4915112345678") == "intl"
    assert table.lookup(UA) == KYIVSTAR


def test_longest_prefix_wins():
    table = RouteTable.build({"380": "ua", "38067": "ks", "3806712": "special", "38067123": "narrow"})
    assert table.lookup("380671234567") == "narrow"
    assert table.lookup("380671299999") == "special"
    assert table.lookup("380679999999") == "ks"
    assert table.lookup("380501234567") == "ua"
    with pytest.raises(RoutingError):
        table.lookup("4915112345678")


def test_ported_number_override_beats_every_prefix():
    table = RouteTable.build(
        UKRAINE_PREFIXES, overrides={"+380 67 123 45 67": VODAFONE}, operators=UKRAINE_OPERATORS
    )
    assert table.lookup(UA) == VODAFONE
    assert table.lookup("380671234568") == KYIVSTAR  # the neighbour is not ported
    assert dict(table.overrides) == {UA: VODAFONE}


def test_table_is_frozen_and_copies_its_input():
    source = {"38067": "a"}
    table = RouteTable.build(source)
    source["38050"] = "b"
    with pytest.raises(RoutingError):
        table.lookup("380501234567")
    with pytest.raises(AttributeError):
        table.default = "a"  # type: ignore[misc]
    with pytest.raises(TypeError):
        table.prefixes["38050"] = "b"  # type: ignore[index]
    assert table == RouteTable.build({"38067": "a"})


@pytest.mark.parametrize(
    "kwargs,key",
    [
        ({"prefixes": {"38O67": "a"}}, 'prefixes."38O67"'),
        ({"prefixes": {"": "a"}}, 'prefixes.""'),
        ({"prefixes": {"067": "a"}}, 'prefixes."067"'),
        ({"prefixes": {"1" * 16: "a"}}, f'prefixes."{"1" * 16}"'),
        ({"prefixes": {"38067": "nobody"}}, 'prefixes."38067"'),
        ({"prefixes": {"38067": ""}}, 'prefixes."38067"'),
        ({"prefixes": {}, "overrides": {"12ab": "a"}}, 'overrides."12ab"'),
        ({"prefixes": {}, "overrides": {UA: "nobody"}}, f'overrides."{UA}"'),
        ({"prefixes": {}, "overrides": {UA: "a", "+" + UA: "b"}}, f'overrides."+{UA}"'),
        ({"prefixes": {}, "default": "nobody"}, "default"),
    ],
)
def test_build_names_the_bad_key(kwargs, key):
    with pytest.raises(ValueError) as err:
        RouteTable.build(**kwargs, operators={"a", "b"})
    assert str(err.value).startswith(key + ":")


def test_build_without_an_operator_set_accepts_any_name():
    assert RouteTable.build({"38067": "anything"}).lookup(UA) == "anything"


@pytest.mark.parametrize(
    "brand,operator",
    [
        ("Beeline", KYIVSTAR),
        ("Kyivstar", KYIVSTAR),
        ("Life", LIFECELL),
        ("Life:)", LIFECELL),
        ("Astelit", LIFECELL),
        ("lifecell", LIFECELL),
        ("  ASTELIT ", LIFECELL),
        ("MTS", VODAFONE),
        ("Utel", TRIMOB),
        ("3Mob", TRIMOB),
        ("PeopleNET", PEOPLENET),
        ("Intertelecom", INTERTELECOM),
    ],
)
def test_brand_aliases(brand, operator):
    assert operator_for_brand(brand) == operator


def test_unknown_brand_is_a_value_error():
    with pytest.raises(ValueError, match="Orange"):
        operator_for_brand("Orange")
