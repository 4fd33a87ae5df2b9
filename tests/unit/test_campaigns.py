"""smsc.campaigns: CSV groups, #column# templates, cost estimates (pure, no I/O)."""
from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsc.campaigns import (
    PHONE_COLUMNS,
    Estimate,
    GroupError,
    Recipient,
    Template,
    TemplateError,
    TemplateProblem,
    estimate,
    parse_group,
    priced_by,
    segments_of,
    text_coding,
)
from smsc.campaigns.estimate import Shortfall, shortfall
from smsc.operators.spec import DEFAULT_OPERATORS
from smsc.pdu.text import TextError
from smsc.router.table import UKRAINE_ROUTES

BOM = b"\xef\xbb\xbf"


def csv_bytes(*lines: str, eol: str = "\n") -> bytes:
    return (eol.join(lines) + eol).encode("utf-8")


# every way the FAQ's customers write one Kyivstar number, 380671234567
FORMS = (
    "+380{nsn}",
    "380{nsn}",
    "0{nsn}",
    "80{nsn}",
    "{nsn}",
    "+38 (0{a}) {b}-{c}-{d}",
    "0{a} {b} {c} {d}",
    "0{a}-{b}-{c}-{d}",
    "+380\u00a0{a}\u00a0{b}\u00a0{c}\u00a0{d}",  # spreadsheet no-break spaces
)


def written(nsn: str, form: int) -> str:
    return FORMS[form % len(FORMS)].format(nsn=nsn, a=nsn[:2], b=nsn[2:5], c=nsn[5:7], d=nsn[7:])


def faq_upload(invalid: int = 0) -> tuple[bytes, list[str]]:
    """1000 rows, 956 subscribers; one of them 23 times (the FAQ's words).

    44 rows, spread through the file, repeat numbers first seen earlier, in
    other forms and with other names (22 of them the 23-times number),
    except ``invalid`` of them which are garbage instead. Returns the file
    and the expected kept msisdns.
    """
    prefixes = ("67", "50", "63", "93", "97", "68", "66", "73")
    nsns = [f"{prefixes[i % len(prefixes)]}{1000000 + i * 7919 % 9000000:07d}" for i in range(956)]
    assert len(set(nsns)) == 956
    rows = [(written(n, i), f"Абонент {i}") for i, n in enumerate(nsns)]
    extra = [(written(nsns[5], k + 1), f"again {k}") for k in range(22)]
    extra += [(written(nsns[3 * k], k + 2), f"again {k}") for k in range(22)]
    for k in range(invalid):
        extra[k] = (f"067 12{k}", "typo")
    # spread the repeats through the file rather than at its end
    for k, row in enumerate(extra):
        rows.insert(50 + k * 20, row)
    assert len(rows) == 1000
    lines = ["phone;name"] + [f"{p};{n}" for p, n in rows]
    return csv_bytes(*lines), ["380" + n for n in nsns]


# --- group: the FAQ example -----------------------------------------------------


def test_faq_1000_numbers_in_956_kept():
    data, expected = faq_upload()
    g = parse_group(data)
    assert g.msisdns == tuple(expected)  # first occurrences, in file order
    assert (g.total_rows, len(g.rows), g.duplicates, g.invalid) == (1000, 956, 44, ())
    assert g.summary() == "1000 in, 956 kept (44 duplicates, 0 invalid)"


def test_first_occurrence_wins_with_its_own_fields():
    g = parse_group(faq_upload()[0])
    r = g.rows[5]
    assert r.fields["name"] == "Абонент 5"
    assert all(not r.fields["name"].startswith("again") for r in g.rows)


def test_summary_counts_invalid_apart_from_duplicates():
    g = parse_group(faq_upload(invalid=4)[0])
    assert g.summary() == "1000 in, 956 kept (40 duplicates, 4 invalid)"
    assert g.total_rows == len(g.rows) + g.duplicates + len(g.invalid)


# --- group: file format -----------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";", ","])
def test_delimiter_is_detected_from_the_header(delimiter):
    d = delimiter
    g = parse_group(csv_bytes(f"name{d}phone{d}city", f"Олена{d}0501234567{d}Київ"))
    assert g.columns == ("name", "phone", "city")
    assert g.rows == (Recipient("380501234567", {"name": "Олена", "phone": "0501234567", "city": "Київ"}, 2),)


def test_delimiters_inside_quotes_do_not_count():
    # three commas inside the quoted header cell, two semicolons outside
    g = parse_group(csv_bytes('"name, surname, patronymic";phone;note', '"Шевченко, Тарас";0671234567;"a,b"'))
    assert g.columns == ("name, surname, patronymic", "phone", "note")
    assert g.rows[0].fields["name, surname, patronymic"] == "Шевченко, Тарас"
    assert g.rows[0].fields["note"] == "a,b"


def test_bom_is_not_part_of_the_first_column_name():
    g = parse_group(BOM + csv_bytes("phone,name", "0671234567,Ivan"))
    assert g.columns == ("phone", "name")
    assert g.phone_column == "phone"
    assert g.msisdns == ("380671234567",)


@pytest.mark.parametrize("header", ["Phone", " PHONE ", "number", "MSISDN", "Телефон", "НОМЕР"])
def test_phone_column_is_found_by_name_in_any_case(header):
    g = parse_group(csv_bytes(f"id;{header}", "1;0931234567"))
    assert g.msisdns == ("380931234567",)
    assert g.phone_column == header.strip()


def test_phone_column_may_be_named_explicitly():
    data = csv_bytes("tel;name", "0671234567;A")
    assert parse_group(data, phone_column="TEL").msisdns == ("380671234567",)
    with pytest.raises(GroupError, match=r"no column 'mobile'.*'tel', 'name'"):
        parse_group(data, phone_column="mobile")


def test_no_phone_column_names_what_was_looked_for():
    with pytest.raises(GroupError) as e:
        parse_group(csv_bytes("tel;name", "0671234567;A"))
    for name in PHONE_COLUMNS:
        assert name in str(e.value)
    assert "'tel', 'name'" in str(e.value)


def test_a_file_without_header_is_refused_with_a_hint():
    with pytest.raises(GroupError, match="looks like data: a header row is required"):
        parse_group(csv_bytes("0671234567;Ivan", "0501234567;Petro"))


def test_two_phone_looking_columns_must_be_chosen_between():
    data = csv_bytes("number;phone", "15;0671234567")
    with pytest.raises(GroupError, match="several phone columns"):
        parse_group(data)
    assert parse_group(data, phone_column="phone").msisdns == ("380671234567",)


def test_column_names_differing_only_in_case_are_refused():
    with pytest.raises(GroupError, match="'Name' and 'NAME'"):
        parse_group(csv_bytes("phone;Name;NAME", "0671234567;a;b"))


@pytest.mark.parametrize("data", [b"", b"\n\n", BOM, b";;\n  \n"])
def test_an_empty_file_is_refused(data):
    with pytest.raises(GroupError, match="header row"):
        parse_group(data)


def test_not_utf8_names_the_line():
    data = "phone;name\n0671234567;Ivan\n0501234567;Олена\n".encode("cp1251")
    with pytest.raises(GroupError, match=r"line 3: not UTF-8 \(byte 0xCE\).*CSV UTF-8"):
        parse_group(data)
    with pytest.raises(GroupError, match=r"line 3: not UTF-8 \(byte 0xCE\)"):
        parse_group(BOM + data)


# --- group: bad rows --------------------------------------------------------------


def test_invalid_rows_are_reported_with_file_line_numbers():
    data = csv_bytes(
        "phone;name",          # 1
        "0671234567;A",        # 2
        "",                    # 3 blank: skipped, still a line
        "067123;B",            # 4 too short
        ";C",                  # 5 no number
        "+49 30;D",            # 6 too short for anywhere
        "abc;E",               # 7
        ";;",                  # 8 blank cells: skipped
        "0000000000;F",        # 9 subscriber number starting with 0
        "0501234567;G",        # 10
        eol="\r\n",
    )
    g = parse_group(data)
    assert g.msisdns == ("380671234567", "380501234567")
    assert [r.line for r in g.rows] == [2, 10]
    assert [i.line for i in g.invalid] == [4, 5, 6, 7, 9]
    assert g.invalid[1].reason == "no number in column 'phone'"
    assert "'067123'" in g.invalid[0].reason and "digits" in g.invalid[0].reason
    assert "cannot start with 0" in g.invalid[4].reason
    assert str(g.invalid[3]).startswith("line 7: ")
    assert g.total_rows == 7  # blank lines are not rows
    assert g.summary() == "7 in, 2 kept (0 duplicates, 5 invalid)"


def test_ragged_rows_are_invalid_but_a_trailing_empty_cell_is_not():
    g = parse_group(csv_bytes(
        "phone;name;city",
        "0671234567;A",              # 2 cells
        "0501234567;B;Lviv;extra",   # 4 cells, the 4th not empty
        "0631234567;C;Kyiv;",        # a trailing delimiter: fine
        "0931234567;D;Odesa",
    ))
    assert g.msisdns == ("380631234567", "380931234567")
    assert [(i.line, i.reason) for i in g.invalid] == [
        (2, "2 cells, the header has 3"),
        (3, "4 cells, the header has 3"),
    ]
    assert dict(g.rows[0].fields) == {"phone": "0631234567", "name": "C", "city": "Kyiv"}


def test_unnamed_columns_are_dropped():
    g = parse_group(csv_bytes("phone;;name;", "0671234567;x;A;y"))
    assert g.columns == ("phone", "name")
    assert dict(g.rows[0].fields) == {"phone": "0671234567", "name": "A"}


def test_broken_quoting_is_one_invalid_row_and_reading_goes_on():
    g = parse_group(csv_bytes('phone;name', '"067"1234567;A', "0501234567;B"))
    assert g.msisdns == ("380501234567",)
    assert [i.line for i in g.invalid] == [2]
    assert g.invalid[0].reason.startswith("broken quoting")


def test_a_quote_never_closed_refuses_the_file():
    with pytest.raises(GroupError, match="line 3: a quote opened here is never closed"):
        parse_group(csv_bytes("phone;name", "0671234567;A", '0501234567;"B', "0631234567;C"))


def test_a_quoted_field_over_two_lines_counts_from_its_first_line():
    g = parse_group(csv_bytes("phone;address", '0671234567;"Kyiv,\nKhreshchatyk 1"', "bad;x"))
    assert g.rows[0].fields["address"] == "Kyiv,\nKhreshchatyk 1"
    assert g.rows[0].line == 2
    assert [i.line for i in g.invalid] == [4]


def test_recipient_fields_are_read_only_and_cells_stripped():
    source = {"phone": "0671234567", "name": "Ivan"}
    r = Recipient("380671234567", source)
    source["name"] = "changed"
    assert r.fields["name"] == "Ivan"
    with pytest.raises(TypeError):
        r.fields["name"] = "x"  # type: ignore[index]
    g = parse_group(csv_bytes("phone;name", " 0671234567 ;  Ivan\u00a0"))
    assert g.rows[0].fields == {"phone": "0671234567", "name": "Ivan"}


# --- group: de-duplication properties ------------------------------------------------

NSN = st.sampled_from(["671234567", "501234567", "931112233", "631000001", "975554433", "681234500"])
WRITTEN = st.builds(written, NSN, st.integers(0, len(FORMS) - 1))


def to_csv(rows: list[dict[str, str]], columns: tuple[str, ...]) -> bytes:
    out = io.StringIO()
    w = csv.DictWriter(out, columns, delimiter=";")
    w.writeheader()
    w.writerows(rows)
    return out.getvalue().encode("utf-8")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(WRITTEN, st.text("abcабв ", max_size=5)), max_size=30))
def test_dedup_keeps_first_occurrences_in_order_and_is_idempotent(rows):
    data = to_csv([{"phone": p, "name": n} for p, n in rows], ("phone", "name"))
    g = parse_group(data)
    normalised = ["380" + "".join(ch for ch in p if ch.isdigit())[-9:] for p, _ in rows]
    assert list(g.msisdns) == list(dict.fromkeys(normalised))
    assert g.duplicates == len(rows) - len(set(normalised))
    assert [r.fields["name"] for r in g.rows] == [rows[normalised.index(m)][1].strip() for m in g.msisdns]
    again = parse_group(to_csv([dict(r.fields) for r in g.rows], g.columns))
    assert [(r.msisdn, dict(r.fields)) for r in again.rows] == [(r.msisdn, dict(r.fields)) for r in g.rows]
    assert again.duplicates == 0 and again.invalid == ()


# --- template ---------------------------------------------------------------------


def group_of(*lines: str):
    return parse_group(csv_bytes(*lines))


def test_faq_placeholder_is_just_a_column():
    g = group_of("phone;abonent_name", "0671234567;Олена", "0501234567;Ivan")
    t = Template.parse("Шановна(ий) #abonent_name#, знижка 10%!", g.columns)
    assert t.placeholders == ("abonent_name",)
    assert [t.render(r) for r in g.rows] == [
        "Шановна(ий) Олена, знижка 10%!",
        "Шановна(ий) Ivan, знижка 10%!",
    ]


def test_placeholders_match_columns_in_any_case_and_repeat():
    g = group_of("Phone;Name;Discount", "0671234567;Ivan;15")
    t = Template.parse("#NAME#: -#discount#%. #name#, #PHONE#", g.columns)
    assert t.placeholders == ("Name", "Discount", "Phone")
    assert t.render(g.rows[0]) == "Ivan: -15%. Ivan, 0671234567"


def test_unknown_placeholders_are_all_listed_with_suggestions():
    with pytest.raises(TemplateError) as e:
        Template.parse("Hi #abonent_nmae#, #city# #abonent_nmae#", ("phone", "abonent_name"))
    assert e.value.unknown == ("abonent_nmae", "city")
    assert "#abonent_nmae# (did you mean #abonent_name#?)" in str(e.value)
    assert "#city#" in str(e.value) and "phone, abonent_name" in str(e.value)


@pytest.mark.parametrize("name_header", ["name", "Name", "ім'я", "ІМ’Я", "імя", "Имя"])
def test_the_faqs_abonent_name_is_the_name_column(name_header):
    g = group_of(f"phone;{name_header};city", "0671234567;Олена;Kyiv")
    t = Template.parse("Шановна(ий) #abonent_name# з міста #city#", g.columns)
    assert t.placeholders == (name_header, "city")
    assert t.render(g.rows[0]) == "Шановна(ий) Олена з міста Kyiv"


def test_the_name_column_may_be_named_and_a_real_abonent_name_column_wins():
    g = group_of("phone;client;name", "0671234567;Ivan;Petro")
    assert Template.parse("#abonent_name#", g.columns, name_column="CLIENT").render(g.rows[0]) == "Ivan"
    assert Template.parse("#abonent_name#", g.columns).render(g.rows[0]) == "Petro"
    g = group_of("phone;name;abonent_name", "0671234567;Ivan;Petro")
    assert Template.parse("#abonent_name#", g.columns, name_column="name").render(g.rows[0]) == "Petro"
    with pytest.raises(TemplateError, match=r"name column 'nope': no such column \(columns: phone, name"):
        Template.parse("Hi", g.columns, name_column="nope")


def test_abonent_name_without_one_name_column_says_what_to_do():
    with pytest.raises(TemplateError) as e:
        Template.parse("Hi #abonent_name#", ("phone", "city"))
    message = str(e.value)
    assert e.value.unknown == ("abonent_name",)
    assert "#abonent_name#" in message and "--name-column" in message
    assert "(columns: phone, city)" in message
    with pytest.raises(TemplateError, match=r"several name columns \('name', 'імя'\).*--name-column"):
        Template.parse("Hi #abonent_name#", ("phone", "name", "імя"))


@pytest.mark.parametrize("word,columns,nearest", [
    ("nmae", ("phone", "name"), "name"),
    ("client_name", ("phone", "name"), "name"),   # too far for difflib, but it holds the column's name
    ("імя", ("phone", "ім'я"), "ім'я"),
    ("abonent_nmae", ("phone", "name"), "abonent_name"),  # the FAQ's code, for the name column
])
def test_an_unknown_placeholder_gets_the_nearest_column(word, columns, nearest):
    with pytest.raises(TemplateError) as e:
        Template.parse(f"Hi #{word}#", columns)
    assert f"#{word}# (did you mean #{nearest}#?)" in str(e.value)
    assert f"(columns: {', '.join(columns)})" in str(e.value)


def test_no_suggestion_when_nothing_is_near():
    with pytest.raises(TemplateError) as e:
        Template.parse("Hi #city#", ("phone", "name"))
    assert "did you mean" not in str(e.value) and "(columns: phone, name)" in str(e.value)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("order #15", "order #15"),
        ("order #15#", "order #15#"),
        ("C# and F#", "C# and F#"),
        ("# of items: 3", "# of items: 3"),
        ("#", "#"),
        ("##", "##"),
        ("#1#2#", "#1#2#"),
        ("order #15#name#", "order #15Ivan"),
        ("#name##name#", "IvanIvan"),
        ("#name#name#", "Ivanname#"),
        ("#name # and # name#", "#name # and # name#"),
        ("100% #1 for #name#!", "100% #1 for Ivan!"),
    ],
)
def test_a_literal_hash_survives(text, expected):
    g = group_of("phone;name", "0671234567;Ivan")
    assert Template.parse(text, g.columns).render(g.rows[0]) == expected


def test_a_value_is_never_substituted_again():
    g = group_of("phone;name;code", "0671234567;#code#;42")
    assert Template.parse("#name# / #code#", g.columns).render(g.rows[0]) == "#code# / 42"


def test_missing_values_are_found_before_anything_is_sent():
    g = group_of(
        "phone;name;discount",
        "0671234567;Ivan;10",   # 2
        "0501234567;;5",        # 3: no name
        "0631234567;Olena;",    # 4: no discount
        "0931234567; ;",        # 5: neither (blank counts as missing)
    )
    t = Template.parse("#name#, -#discount#%", g.columns)
    problems = t.check(g)
    assert problems == [
        TemplateProblem(3, "380501234567", "name"),
        TemplateProblem(4, "380631234567", "discount"),
        TemplateProblem(5, "380931234567", "name"),
        TemplateProblem(5, "380931234567", "discount"),
    ]
    assert str(problems[0]) == "line 3 (380501234567): no value for #name#"
    assert t.render(g.rows[0]) == "Ivan, -10%"
    with pytest.raises(TemplateError, match=r"line 3 \(380501234567\): no value for #name#") as e:
        t.render(g.rows[1])
    assert e.value.problems == (problems[0],)
    # an unused empty column is no problem
    assert Template.parse("-#discount#%", g.columns).check(g.rows[:2]) == []


def test_a_text_without_placeholders_needs_no_columns():
    t = Template.parse("Sale today! order #15")
    assert not t.personalised and t.placeholders == ()
    assert t.render(Recipient("380671234567", {})) == "Sale today! order #15"
    assert t.check([Recipient("380671234567", {})]) == []


# --- segments ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,coding,segments",
    [
        ("", 0, 1),
        ("a" * 160, 0, 1),
        ("a" * 161, 0, 2),
        ("€" * 80, 0, 1),      # extension characters take two septets
        ("€" * 81, 0, 2),
        ("a" * 612, 0, 4),
        ("ж" * 70, 8, 1),
        ("ж" * 71, 8, 2),
        ("a" * 69 + "ж", 8, 1),  # one Cyrillic letter makes it all UCS-2
        ("a" * 70 + "ж", 8, 2),
        ("ж" * 268, 8, 4),
    ],
)
def test_segments_of_a_text(text, coding, segments):
    assert text_coding(text)[1] == coding
    assert segments_of(text) == segments


def test_segments_past_the_limit_are_refused():
    with pytest.raises(TextError):
        segments_of("ж" * 269)
    assert segments_of("ж" * 269, max_segments=5) == 5


# --- estimate ----------------------------------------------------------------------

PRICES = {"38067": 42, "38050": 40, "38063": 36}


def price_of(msisdn: str) -> int | None:
    return PRICES.get(msisdn[:5])


def test_estimate_personalised_cyrillic_names_go_ucs2():
    g = group_of("phone;name", "0671234567;Ivan", "0501234567;Олена", "0631234567;Bob")
    # 66 GSM characters + the name: one GSM segment, two once UCS-2 (> 70)
    t = Template.parse("Dear #name#, your order is ready. Pick it up at our store, Main St 1250.", g.columns)
    assert len(t.render(g.rows[1])) == 71
    e = estimate(g, t, price_of)
    assert e == Estimate(recipients=3, blacklisted=0, unroutable=0, segments=4,
                         kopecks=42 + 2 * 40 + 36, by_segments={1: 2, 2: 1})
    assert e.sendable == 3


def test_estimate_excludes_blacklist_and_unroutable():
    g = group_of(
        "phone;name",
        "0671234567;Ivan",         # 42
        "0501234567;Petro",        # blacklisted
        "+4915112345678;Hans",     # no route
        "0631234567;Іра",          # 36, UCS-2 but short
        "0931234567;",             # no route: its missing name doesn't matter
    )
    t = Template.parse("Hi #name#", g.columns)
    e = estimate(g, t, price_of, blacklist={"380501234567"})
    assert (e.recipients, e.blacklisted, e.unroutable, e.too_long, e.sendable) == (5, 1, 2, 0, 2)
    assert (e.segments, e.kopecks, dict(e.by_segments)) == (2, 78, {1: 2})
    assert e.summary() == "5 recipients: 2 to send (2 segments, 0.78 UAH), 1 blacklisted, 2 without a route"


def test_estimate_counts_too_long_texts_and_refuses_missing_values():
    g = group_of("phone;name", "0671234567;" + "Ж" * 250, "0501234567;Ivan")
    t = Template.parse("#name#, " + "ж" * 20, g.columns)
    e = estimate(g, t, price_of)
    assert (e.too_long, e.sendable, e.segments, e.kopecks) == (1, 1, 1, 40)
    with pytest.raises(TemplateError, match="no value for #name#"):
        estimate(group_of("phone;name", "0671234567;"), t, price_of)


def test_estimate_of_a_plain_text_and_read_only_counts():
    e = estimate([Recipient("380671234567", {}), Recipient("380501234567", {})], "a" * 200, price_of)
    assert (e.segments, e.kopecks, dict(e.by_segments)) == (4, 2 * 42 + 2 * 40, {2: 2})
    with pytest.raises(TypeError):
        e.by_segments[2] = 0  # type: ignore[index]


def test_shortfall_is_what_the_rest_of_a_campaign_needs_beyond_the_balance():
    assert shortfall(37100, 500) == Shortfall(37100, 500)
    assert shortfall(37100, 500).short == 36600
    assert shortfall(37100, 500).describe(3, "shop") == (
        "campaign 3 needs 371.00 UAH, account shop has 5.00 UAH: 366.00 UAH short")
    assert shortfall(500, 500) is None and shortfall(0, 0) is None
    # resumed after a pause: only the rest counts
    assert shortfall(210, 130, charged_kopecks=84) is None
    assert shortfall(210, 100, charged_kopecks=84) == Shortfall(126, 100)
    assert shortfall(210, 0, charged_kopecks=300) is None


def test_priced_by_the_shipped_routes():
    prices = {k: spec.price for k, spec in DEFAULT_OPERATORS.items()}
    price = priced_by(UKRAINE_ROUTES.lookup, prices)
    assert price("380671234567") == DEFAULT_OPERATORS["kyivstar"].price
    assert price("380501234567") == DEFAULT_OPERATORS["vodafone"].price
    assert price("4915112345678") is None


def test_the_delimiter_comes_from_the_header_not_blank_lines_above_it():
    g = parse_group(csv_bytes(",,,", "", "phone;name", "0671234567;Ivan, Jr."))
    assert g.columns == ("phone", "name")
    assert g.rows[0].fields["name"] == "Ivan, Jr." and g.rows[0].line == 4


def test_importing_smsc_campaigns_loads_no_twisted_and_no_store():
    script = (
        "import sys, smsc.campaigns\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('twisted', 'sqlite3', 'sqlite_utils')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.stdout.strip() == "[]"
