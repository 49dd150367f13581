"""German figures, energies and skips as customers type them (the instalment form's parser)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.dialogue.numbers import (
    Quantity,
    find_energy,
    find_quantities,
    is_skip,
    number_words_as_digits,
)


def one(text: str) -> Quantity:
    found = find_quantities(text)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        # consumption
        ("3.500 kWh", "3500", "kwh"),
        ("3500 kWh", "3500", "kwh"),
        ("3500kwh", "3500", "kwh"),
        ("3500 KWH im Jahr", "3500", "kwh"),
        ("3.500kWh/Jahr", "3500", "kwh"),
        ("3500 Kilowattstunden", "3500", "kwh"),
        ("3500 kW/h", "3500", "kwh"),
        ("3,5 MWh", "3500", "kwh"),
        ("3,5MWh", "3500", "kwh"),
        ("15.000 kWh", "15000", "kwh"),
        ("1.500.000 kWh", "1500000", "kwh"),
        ("3 500 kWh", "3500", "kwh"),
        ("3\u00a0500 kWh", "3500", "kwh"),  # no-break space
        ("3\u202f500 kWh", "3500", "kwh"),  # narrow no-break space
        ("1 500 000 kWh", "1500000", "kwh"),
        # bare numbers
        ("3500", "3500", "number"),
        ("ca. 4000", "4000", "number"),
        ("ca 4000", "4000", "number"),
        ("etwa 4.000", "4000", "number"),
        ("rund 4000", "4000", "number"),
        ("ungefähr 4.000", "4000", "number"),
        ("Es sind 4000.", "4000", "number"),  # sentence-final dot
        ("48,5", "48.5", "number"),
        ("0,485", "0.485", "number"),
        # working price
        ("48,5 Cent", "48.5", "ct_per_kwh"),
        ("48,5 ct", "48.5", "ct_per_kwh"),
        ("48,5 ct.", "48.5", "ct_per_kwh"),
        ("48,5ct", "48.5", "ct_per_kwh"),
        ("48,5 ct/kWh", "48.5", "ct_per_kwh"),
        ("48,5 Cent pro kWh", "48.5", "ct_per_kwh"),
        ("48,50 Cent je Kilowattstunde", "48.5", "ct_per_kwh"),
        ("48.5 ct", "48.5", "ct_per_kwh"),
        ("0,485 EUR/kWh", "48.5", "ct_per_kwh"),
        ("0,485 €/kWh", "48.5", "ct_per_kwh"),
        ("0,485 € / kWh", "48.5", "ct_per_kwh"),
        ("0,485 Euro pro kWh", "48.5", "ct_per_kwh"),
        ("0.485 €/kWh", "48.5", "ct_per_kwh"),
        ("0,40 Euro je kWh", "40", "ct_per_kwh"),
        # per month
        ("12 Euro im Monat", "12", "eur_per_month"),
        ("12 € monatlich", "12", "eur_per_month"),
        ("12 €/Monat", "12", "eur_per_month"),
        ("12€/Monat", "12", "eur_per_month"),
        ("12 Euro pro Monat", "12", "eur_per_month"),
        ("12 EUR mtl.", "12", "eur_per_month"),
        ("12 € monatl.", "12", "eur_per_month"),
        ("12 €/Mon.", "12", "eur_per_month"),
        ("12,50 € je Monat", "12.5", "eur_per_month"),
        ("€ 12,50 im Monat", "12.5", "eur_per_month"),
        # per year
        ("150 € im Jahr", "150", "eur_per_year"),
        ("150 Euro jährlich", "150", "eur_per_year"),
        ("150 Euro jaehrlich", "150", "eur_per_year"),
        ("150 €/Jahr", "150", "eur_per_year"),
        ("150 €/a", "150", "eur_per_year"),
        ("150 € p.a.", "150", "eur_per_year"),
        ("150 Euro pro Jahr", "150", "eur_per_year"),
        ("1.234,56 € im Jahr", "1234.56", "eur_per_year"),
        # amounts
        ("95 Euro", "95", "eur"),
        ("95€", "95", "eur"),
        ("95 EUR", "95", "eur"),
        ("12,50 €", "12.5", "eur"),
        ("12,- €", "12", "eur"),
        ("1.200,- €", "1200", "eur"),
        ("€ 95", "95", "eur"),
        ("EUR 95", "95", "eur"),
        ("Mein Abschlag beträgt 95€.", "95", "eur"),
    ],
)
def test_figures_with_and_without_units(text, value, kind):
    quantity = one(text)
    assert quantity.value == Decimal(value)
    assert quantity.kind == kind


def test_values_are_plain_decimals():
    # Trailing zeros of conversions are dropped (48.500 → 48.5), without exponent notation.
    assert str(one("0,485 €/kWh").value) == "48.5"
    assert str(one("3,5 MWh").value) == "3500"
    assert str(one("1.500.000 kWh").value) == "1500000"


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("Ich verbrauche ca. 3.500 kWh im Jahr.", "3.500 kWh"),
        ("Preis: 0,485 €/kWh", "0,485 €/kWh"),
        ("Grundpreis 150 Euro jährlich", "150 Euro jährlich"),
        ("€ 12,50 im Monat bitte", "€ 12,50 im Monat"),
        ("4000", "4000"),
    ],
)
def test_raw_is_the_customers_own_text(text, raw):
    assert one(text).raw == raw


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.234", "1234"),  # a dot before exactly three digits separates thousands
        ("1.5", "1.5"),
        ("0.485", "0.485"),  # a number does not start with 0 before a thousands group
        ("3.5000", "3.5"),  # four digits after the dot: not a thousands group
        ("48,500", "48.5"),  # a comma is always the decimal mark
        ("1.234,5", "1234.5"),
    ],
)
def test_thousands_rule(text, value):
    assert one(text).value == Decimal(value)


def test_several_figures_in_order():
    found = find_quantities(
        "Strom, 3.500 kWh, 48,5 ct/kWh, Grundpreis 12 € im Monat, Abschlag 95 Euro"
    )
    assert [(q.value, q.kind) for q in found] == [
        (Decimal(3500), "kwh"),
        (Decimal("48.5"), "ct_per_kwh"),
        (Decimal(12), "eur_per_month"),
        (Decimal(95), "eur"),
    ]


def test_a_currency_after_one_amount_is_not_read_before_the_next():
    found = find_quantities("12 € 150")
    assert [(q.value, q.kind) for q in found] == [(Decimal(12), "eur"), (Decimal(150), "number")]


@pytest.mark.parametrize(
    "text",
    [
        "2023",
        "im Jahr 2023",
        "seit 2022",
        "Abrechnung 2022/2023",
        "1.12.2022",
        "am 1.12.2022",
        "01.03.",
        "ab dem 01.03. bitte",
        "1.12.22",
        "31.12.2023",
        "2023-06",
        "2023-06-01",
        "12/2022",
        "03/23",
        "um 18:30",
        "um 18 Uhr",
        "20 %",
        "20 Prozent",
        "1.500 m³",
        "1500 m3",
        "80 m²",
        "4 Personen",
        "4-Personen-Haushalt",
        "seit 3 Jahren",
        "20 Grad",
    ],
)
def test_dates_years_and_other_units_are_not_quantities(text):
    assert find_quantities(f"Info: {text} danke") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Im Jahr 2023 waren es 3.500 kWh", [("3500", "kwh")]),
        ("Seit dem 1.12.2022 zahle ich 95 €", [("95", "eur")]),
        ("Ab 01.03. sind es 12 €/Monat", [("12", "eur_per_month")]),
        ("Am 1.12. habe ich 3.500 kWh", [("3500", "kwh")]),
        ("4 Personen, 3.500 kWh", [("3500", "kwh")]),
        ("2023 kWh", [("2023", "kwh")]),  # with a unit a year-like number counts
        ("2023 waren es 2000 kWh", [("2000", "kwh")]),
    ],
)
def test_dates_and_years_beside_figures(text, expected):
    found = find_quantities(text)
    assert [(q.value, q.kind) for q in found] == [(Decimal(v), k) for v, k in expected]


@pytest.mark.parametrize(
    "text",
    [
        "ca. 2000",
        "etwa 2000",
        "so um die 2000",
        "knapp 2000",
        "2000 im Jahr",
        "2000 pro Jahr",
        "2000",  # the whole message: the answer to the question asked
        "2000.",
    ],
)
def test_year_like_numbers_that_are_quantities(text):
    assert one(text).value == Decimal(2000)


def test_nothing_to_find():
    assert find_quantities("") == []
    assert find_quantities("Ich weiß es nicht") == []
    assert find_quantities("CO2 und H2O") == []  # digits inside words


@pytest.mark.parametrize(
    ("text", "energy"),
    [
        ("Strom", "strom"),
        ("Stromtarif", "strom"),
        ("mein Stromverbrauch", "strom"),
        ("Ökostrom", "strom"),
        ("Heizstrom", "strom"),
        ("Elektrizität", "strom"),
        ("ELEKTRIZITAET", "strom"),
        ("Wärmepumpe", "strom"),
        ("waermepumpe", "strom"),
        ("Wärmepumpentarif", "strom"),
        ("Nachtspeicherheizung", "strom"),
        ("Gas", "gas"),
        ("gas", "gas"),
        ("Erdgas", "gas"),
        ("Gasheizung", "gas"),
        ("Gasverbrauch", "gas"),
        ("Gastarif", "gas"),
        ("Gastherme", "gas"),
        ("Gaspreisbremse", "gas"),
        ("Fernwärme", "waerme"),
        ("fernwaerme", "waerme"),
        ("Fernwarme", "waerme"),
        ("FERNWÄRMEKUNDE", "waerme"),
        ("Nahwärme", "waerme"),
        ("Wärme", "waerme"),
        ("Wärmepreisbremse", "waerme"),
        ("Ich habe Fernwärme und 8000 kWh", "waerme"),
    ],
)
def test_find_energy(text, energy):
    assert find_energy(text) == energy


@pytest.mark.parametrize(
    ("text", "energy"),
    [
        ("Gas, und Strom auch", "gas"),
        ("Strom und Gas", "strom"),
        ("von Gas auf Wärmepumpe umgestiegen", "gas"),
        ("Fernwärme, früher Gas", "waerme"),
    ],
)
def test_the_first_energy_mentioned_wins(text, energy):
    assert find_energy(text) == energy


@pytest.mark.parametrize(
    "text",
    ["", "Hallo", "Gast", "Gäste", "Gasse", "Las Vegas", "die Wohnung erwärmen", "warme Wohnung"],
)
def test_no_energy(text):
    assert find_energy(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "weiß ich nicht",
        "Weiss nicht",
        "weis nicht",
        "Das weiß ich leider nicht.",
        "ich weiß es nicht",
        "keine Ahnung",
        "Keine Ahnung!",
        "überspringen",
        "ueberspringen",
        "Frage überspringen bitte",
        "skip",
        "nein",
        "Nein.",
        "nö",
        "nee",
        "kein",
        "keinen",
        "Keinen Grundpreis",
        "hab ich nicht",
        "habe ich nicht",
        "hab ich grad nicht zur Hand",
        "egal",
        "ist mir egal",
        "-",
        "–",
        "k.A.",
        "k. A.",
        "ka",
        "keine Angabe",
        "unbekannt",
        "weiter",
    ],
)
def test_is_skip(text):
    assert is_skip(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "ja",
        "150 €",
        "Nein, 150 € im Jahr",  # a figure answers the question
        "weiß nicht genau, ca. 12 € im Monat",
        "Strom",
        "Kennzahl",
        "Einen Moment",
        "noch einmal",
    ],
)
def test_is_not_skip(text):
    assert is_skip(text) is False


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("zweihundertzehn Euro", "210", "eur"),
        ("ich zahle hundertzwanzig Euro im Monat", "120", "eur_per_month"),
        ("Dreitausendfünfhundert kWh", "3500", "kwh"),
        ("achtzehntausend Kilowattstunden", "18000", "kwh"),
        ("zwölf Komma fünf Cent", "12.5", "ct_per_kwh"),
        ("einundzwanzig Cent pro kWh", "21", "ct_per_kwh"),
        ("so um die viertausend", "4000", "number"),
    ],
)
def test_number_words(text, value, kind):
    assert one(text) == Quantity(Decimal(value), kind, one(text).raw)


@pytest.mark.parametrize(
    "text",
    [
        "ein Jahr lang",  # below three: a word, not a figure
        "Ich habe eine Frage zu zwei Dingen",
        "am ersten Dezember",  # ordinals are no amounts
        "eine Million kWh",  # text2num reads scale words wrongly: left alone
        "Sie sind die Nummer eins",
    ],
)
def test_words_that_are_no_figures(text):
    assert find_quantities(text) == []


def test_number_words_as_digits_survives_what_text2num_cannot_read():
    assert number_words_as_digits("zehn \ud800 Euro") == "zehn \ud800 Euro"
    assert number_words_as_digits("\x00hundert") == "\x00100"


def test_a_number_longer_than_any_figure_is_left_out():
    assert find_quantities("9" * 40 + " kWh") == []
    assert find_quantities("9" * 5000) == []
    assert one("999999999999999 kWh").value == Decimal("999999999999999")  # 15 digits: read
