"""The engine against shared/domain/worked-examples.md and the edge cases of its section G.

Expected values are the recomputed cents of the worked examples ("Recomputed" column); where the
source publishes rounded figures they are checked too, to the euro.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from bot.tariff.engine import december_relief, instalment, parse_month
from bot.tariff.errors import InputError, NoDecemberAid, OutsideHouseholdLimits
from tests.tariff.helpers import JUNE_2023, D, december_request, instalment_request

BEFORE_BRAKE = date(2022, 6, 1)  # "alter Abschlag": the examples' old price, no brake yet
MARCH_2023 = date(2023, 3, 1)

# id, request arguments, expected results (to the cent), published figures (to the euro)
INSTALMENT_EXAMPLES = [
    pytest.param(
        {"energy": "strom", "forecast": 4500, "price": 50, "base": 84},
        {"annual": "360", "monthly": "30", "without": "194.50", "with": "164.50"},
        {"without": 195, "with": 165},
        id="S1-haufe-4500kWh-50ct",
    ),
    pytest.param(
        {"energy": "strom", "forecast": 3000, "price": 50},
        {"annual": "240", "monthly": "20", "without": "125", "with": "105"},
        {"without": 125, "with": 105},
        id="S2-neckarsulm-3000kWh",
    ),
    pytest.param(
        {"energy": "strom", "forecast": 2500, "price": 56, "base": 164},
        {"annual": "320", "monthly": "26.67", "without": "130.33", "with": "103.67"},
        {},
        id="S3-swu-2500kWh-56ct",
    ),
    pytest.param(
        {"energy": "strom", "forecast": 4500, "price": "53.67", "base": "177.31", "n": 11},
        {"annual": "492.12", "monthly": "41.01", "without": "235.68", "with": "190.94"},
        {"without": 236, "with": 191},
        id="S5-my-stadtwerk-11-instalments",
    ),
    pytest.param(
        {"energy": "gas", "forecast": 15000, "price": 22},
        {"annual": "1200", "monthly": "100", "without": "275", "with": "175"},
        {"without": 275, "with": 175},
        id="G1-government-15000kWh-22ct",
    ),
    pytest.param(
        {"energy": "gas", "forecast": 13750, "price": 22, "n": 11},
        {"annual": "1100", "monthly": "91.67", "without": "275", "with": "175"},
        {"without": 275, "with": 175},
        id="G3-sulzbach-11-instalments",
    ),
    pytest.param(
        {"energy": "gas", "forecast": 20000, "price": 16, "base": 164},
        {"annual": "640", "monthly": "53.33", "without": "280.33", "with": "227"},
        {},
        id="G5-swu-20000kWh-16ct",
    ),
    pytest.param(
        {"energy": "gas", "forecast": 18000, "price": 15, "base": 120},
        {"annual": "432", "monthly": "36", "without": "235", "with": "199"},
        {"with": 199},
        id="G8-finanztip-tanja",
    ),
    pytest.param(
        {"energy": "gas", "forecast": 12000, "price": "20.39"},
        {"annual": "805.44", "monthly": "67.12", "without": "203.90", "with": "136.78"},
        {},
        id="G9-magdeburg-20.39ct",
    ),
    pytest.param(
        {"energy": "waerme", "forecast": 13000, "price": 12},
        {"annual": "260", "monthly": "21.67", "without": "130", "with": "108.33"},
        {"without": 130, "with": 108},
        id="W1-gvm-13000kWh-12ct",
    ),
    pytest.param(
        {"energy": "waerme", "forecast": 12000, "price": 21},
        {"annual": "1104", "monthly": "92", "without": "210", "with": "118"},
        {"without": 210, "with": 118},
        id="W3-neckarsulm-12000kWh-21ct",
    ),
]


@pytest.mark.parametrize(("args", "expected", "published"), INSTALMENT_EXAMPLES)
def test_worked_examples_instalment(rules, args, expected, published):
    result = instalment(instalment_request(**args), rules)
    assert result.annual_relief_eur == D(expected["annual"])
    assert result.monthly_relief_eur == D(expected["monthly"])
    assert result.instalment_without_relief_eur == D(expected["without"])
    assert result.instalment_with_relief_eur == D(expected["with"])
    assert result.brake_applies
    if "without" in published:
        assert abs(result.instalment_without_relief_eur - published["without"]) <= 1
    if "with" in published:
        assert abs(result.instalment_with_relief_eur - published["with"]) <= 1


# The examples' "old instalment" before the price rise (no brake in 2022).
OLD_INSTALMENTS = [
    pytest.param("strom", 4500, 30, 84, "119.50", id="S1-old-30ct"),
    pytest.param("strom", 3000, 30, 0, "75", id="S2-old-30ct"),
    pytest.param("gas", 15000, 8, 0, "100", id="G1-old-8ct"),
    pytest.param("waerme", 13000, 7, 0, "75.83", id="W1-old-7ct"),
    pytest.param("waerme", 12000, 8, 0, "80", id="W3-old-8ct"),
]


@pytest.mark.parametrize(("energy", "forecast", "price", "base", "expected"), OLD_INSTALMENTS)
def test_worked_examples_old_instalment(rules, energy, forecast, price, base, expected):
    result = instalment(
        instalment_request(energy, forecast, price, base=base, month=BEFORE_BRAKE), rules
    )
    assert result.instalment_without_relief_eur == D(expected)
    assert result.instalment_with_relief_eur == D(expected)


def test_g3_old_instalment_with_11_instalments(rules):
    result = instalment(instalment_request("gas", 13750, 8, n=11, month=BEFORE_BRAKE), rules)
    assert result.instalment_without_relief_eur == 100


def test_s3_annual_sums_and_old_instalment_minus_monthly_relief(rules):
    """SWU: 1,564 EUR without, 1,244 EUR with, new instalment = old 130 EUR - 26.67 EUR."""
    result = instalment(instalment_request("strom", 2500, 56, base=164, current=130), rules)
    assert abs(result.instalment_without_relief_eur * 12 - 1564) < D("0.06")
    assert abs(result.instalment_with_relief_eur * 12 - 1244) < D("0.06")
    assert D(130) - result.monthly_relief_eur == D("103.33")


def test_g5_annual_sums(rules):
    result = instalment(instalment_request("gas", 20000, 16, base=164), rules)
    assert abs(result.instalment_without_relief_eur * 12 - 3364) < D("0.06")
    assert result.instalment_with_relief_eur * 12 == 2724


def test_g8_contingent_and_annual_instalments(rules):
    result = instalment(instalment_request("gas", 18000, 15, base=120, contingent=18000), rules)
    assert result.contingent_kwh_year == 14400
    assert result.instalment_with_relief_eur * 12 == 2388


def test_g9_contingent(rules):
    result = instalment(instalment_request("gas", 12000, "20.39"), rules)
    assert result.contingent_kwh_year == 9600
    assert result.reference_price_ct == 12


def test_s5_saving_per_instalment(rules):
    result = instalment(instalment_request("strom", 4500, "53.67", base="177.31", n=11), rules)
    saving = result.instalment_without_relief_eur - result.instalment_with_relief_eur
    assert saving == D("44.74")  # published "Ersparnis 45 €" = 492.12 / 11
    assert result.instalments_per_year == 11


def test_g12_march_credits_january_and_february(rules):
    """Grimma: relief 1,200 EUR/a, 12 instalments: -100 EUR a month, March -300 EUR."""
    result = instalment(instalment_request("gas", 20000, "19.5", month=MARCH_2023), rules)
    assert result.annual_relief_eur == 1200
    without = result.instalment_without_relief_eur
    assert without - result.instalment_with_relief_eur == 100
    assert result.march_2023_instalment_eur is not None
    assert without - result.march_2023_instalment_eur == 300


DECEMBER_EXAMPLES = [
    pytest.param(
        december_request(
            "gas",
            forecast_kwh_sept_2022=24000,
            working_price_ct_dec_2022=10,
            base_price_eur_year=120,
        ),
        "210",
        None,
        id="D1-odr",
    ),
    pytest.param(
        december_request(
            "gas",
            forecast_kwh_sept_2022=24000,
            working_price_ct_dec_2022=15,
            base_price_eur_year=180,
        ),
        "315",
        None,
        id="D2-porta-westfalica",
    ),
    pytest.param(
        december_request(
            "gas",
            forecast_kwh_sept_2022=21600,
            working_price_ct_dec_2022=10,
            base_price_eur_year=120,
            december_instalment_eur=180,
        ),
        "190",
        "10",
        id="D3-crailsheim-settlement",
    ),
    pytest.param(
        december_request("waerme", september_instalment_eur=Decimal(2500) / 12),
        "250",
        None,
        id="D6-wasenberg-heat",
    ),
    pytest.param(
        december_request("waerme", september_instalment_eur="208.33"),
        "250",
        None,
        id="D6-heat-instalment-in-cents",
    ),
]


@pytest.mark.parametrize(("request_", "relief", "settlement"), DECEMBER_EXAMPLES)
def test_worked_examples_december(rules, request_, relief, settlement):
    result = december_relief(request_, rules)
    assert result.relief_eur == D(relief)
    assert result.settlement_eur == (None if settlement is None else D(settlement))
    assert result.steps


def test_december_settlement_can_be_a_charge(rules):
    result = december_relief(
        december_request("waerme", september_instalment_eur=100, december_instalment_eur=150), rules
    )
    assert result.relief_eur == 120
    assert result.settlement_eur == -30
    assert "nachberechnet" in result.steps[-1]


# --- edge cases of worked-examples.md section G ----------------------------------------------


@pytest.mark.parametrize(
    ("energy", "price"),
    [("gas", "11.95"), ("gas", 12), ("waerme", "9.5"), ("strom", 40), ("strom", 25)],
    ids=["G1-mega-monheim-11.95ct", "gas-equal", "heat-equal", "strom-equal", "strom-below"],
)
def test_price_at_or_below_reference_gives_no_relief(rules, energy, price):
    result = instalment(instalment_request(energy, 10000, price, month=date(2023, 9, 1)), rules)
    assert result.annual_relief_eur == 0
    assert result.monthly_relief_eur == 0
    assert result.instalment_with_relief_eur == result.instalment_without_relief_eur
    assert result.march_2023_instalment_eur == result.instalment_with_relief_eur
    assert "entlastet Sie deshalb nicht" in " ".join(result.steps)


def test_march_never_below_zero_rest_goes_to_next_bill(rules):
    # G1: with relief 175 EUR, two catch-up months of 100 EUR: March would be -25 EUR.
    result = instalment(instalment_request("gas", 15000, 22, month=MARCH_2023), rules)
    assert result.instalment_with_relief_eur == 175
    assert result.march_2023_instalment_eur == 0
    assert "den Rest von 25 € verrechnet Ihr Versorger" in result.steps[-1]


def test_instalment_never_below_zero(rules):
    # A tiny forecast for the instalment but a large contingent forecast (gas: September 2022).
    result = instalment(instalment_request("gas", 100, 30, contingent=20000), rules)
    assert result.annual_relief_eur == 2880
    assert result.instalment_with_relief_eur == 0
    assert result.march_2023_instalment_eur == 0
    assert "nicht unter 0 € sinken" in " ".join(result.steps)


def test_eleven_instalments_spread_annual_relief_over_eleven(rules):
    twelve = instalment(instalment_request("gas", 13750, 22), rules)
    eleven = instalment(instalment_request("gas", 13750, 22, n=11), rules)
    assert twelve.annual_relief_eur == eleven.annual_relief_eur == 1100
    # The statutory monthly relief stays one twelfth; the instalment reduction is R / n.
    assert twelve.monthly_relief_eur == eleven.monthly_relief_eur == D("91.67")
    assert eleven.instalment_without_relief_eur - eleven.instalment_with_relief_eur == 100


def test_eleven_instalments_march_value(rules):
    """March credits January and February with the statutory monthly relief R / 12 (§ 6.6)."""
    result = instalment(instalment_request("gas", 13750, 22, n=11, month=MARCH_2023), rules)
    # 175 - 2 x 1100 / 12 = 175 - 183.33 < 0 -> 0
    assert result.march_2023_instalment_eur == 0
    result = instalment(instalment_request("gas", 27500, 22, n=11, month=MARCH_2023), rules)
    # without 550, R 2200, with 550 - 200 = 350, March 350 - 2 x 183.333 = -16.67 -> 0
    assert result.march_2023_instalment_eur == 0
    result = instalment(instalment_request("gas", 27500, 15, n=11, month=MARCH_2023), rules)
    # without 375, R 660, with 375 - 60 = 315, March 315 - 2 x 55 = 205
    assert result.instalment_with_relief_eur == 315
    assert result.march_2023_instalment_eur == 205


@pytest.mark.parametrize(
    ("month", "applies"),
    [
        ("2022-10", False),
        ("2022-12", False),
        ("2023-01", True),
        ("2023-06", True),
        ("2023-12", True),
        ("2024-01", False),
        ("2024-03", False),
    ],
)
def test_brake_only_in_2023(rules, month, applies):
    result = instalment(instalment_request("strom", 4500, 50, month=parse_month(month)), rules)
    assert result.brake_applies is applies
    if applies:
        assert result.reference_price_ct == 40
        assert result.contingent_kwh_year == 3600
        assert result.annual_relief_eur == 360
        assert result.march_2023_instalment_eur is not None
    else:
        assert result.reference_price_ct is None
        assert result.contingent_kwh_year == 0
        assert result.annual_relief_eur == 0
        assert result.monthly_relief_eur == 0
        assert result.march_2023_instalment_eur is None
        assert result.instalment_with_relief_eur == result.instalment_without_relief_eur
        assert "keine Entlastung" in " ".join(result.steps)


@pytest.mark.parametrize(
    ("energy", "month", "vat", "gross"),
    [
        ("gas", "2022-09", 19, "11.90"),
        ("gas", "2022-10", 7, "10.70"),
        ("gas", "2023-06", 7, "10.70"),
        ("gas", "2024-03", 7, "10.70"),
        ("gas", "2024-04", 19, "11.90"),
        ("waerme", "2022-09", 19, "11.90"),
        ("waerme", "2023-01", 7, "10.70"),
        ("waerme", "2024-04", 19, "11.90"),
        ("strom", "2022-10", 19, "11.90"),
        ("strom", "2023-06", 19, "11.90"),
    ],
)
def test_net_price_gets_vat_of_the_month(rules, energy, month, vat, gross):
    result = instalment(
        instalment_request(energy, 10000, 10, month=parse_month(month), net=True), rules
    )
    assert result.vat_rate_percent == vat
    assert result.working_price_gross_ct == D(gross)
    # 10,000 kWh x gross ct / 100 / 12
    assert result.instalment_without_relief_eur == (D(gross) * 100 / 12).quantize(D("0.01"))
    assert f"{vat} % Mehrwertsteuer" in result.steps[0]


def test_net_price_relief_is_computed_on_the_gross_price(rules):
    result = instalment(instalment_request("gas", 15000, 20, net=True), rules)
    assert result.working_price_gross_ct == D("21.4")
    assert result.annual_relief_eur == D("1128")  # (21.40 - 12) x 12,000 kWh / 100


def test_gross_price_has_no_vat_rate(rules):
    result = instalment(instalment_request("gas", 15000, 20), rules)
    assert result.vat_rate_percent is None
    assert result.working_price_gross_ct == 20


def test_electricity_has_no_december_aid(rules):
    with pytest.raises(NoDecemberAid) as info:
        december_relief(
            december_request("strom", forecast_kwh_sept_2022=3000, working_price_ct_dec_2022=40),
            rules,
        )
    assert info.value.field == "energy"
    assert "Strom" in info.value.reason


@pytest.mark.parametrize(
    ("energy", "forecast", "contingent", "field", "named"),
    [
        ("strom", "30000.01", None, "forecast_kwh", "13 ct/kWh netto"),
        ("strom", 45000, None, "forecast_kwh", "Großkunden"),
        ("strom", 3000, 30001, "contingent_forecast_kwh", "Großkunden"),
        ("gas", 1500001, None, "forecast_kwh", "7 ct/kWh netto"),
        ("gas", 15000, 2000000, "contingent_forecast_kwh", "Großkunden"),
        ("waerme", 1500001, None, "forecast_kwh", "Großkunden"),
    ],
)
def test_household_limit_exceeded(rules, energy, forecast, contingent, field, named):
    with pytest.raises(OutsideHouseholdLimits) as info:
        instalment(instalment_request(energy, forecast, 50, contingent=contingent), rules)
    assert info.value.field == field
    assert named in info.value.reason
    assert "70 %" in info.value.reason


@pytest.mark.parametrize(
    ("energy", "limit"), [("strom", 30000), ("gas", 1500000), ("waerme", 1500000)]
)
def test_household_limit_itself_is_allowed(rules, energy, limit):
    result = instalment(instalment_request(energy, limit, 50), rules)
    assert result.annual_relief_eur > 0


def test_gas_december_aid_household_limit(rules):
    with pytest.raises(OutsideHouseholdLimits) as info:
        december_relief(
            december_request("gas", forecast_kwh_sept_2022=2000000, working_price_ct_dec_2022=10),
            rules,
        )
    assert info.value.field == "forecast_kwh_sept_2022"


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (december_request("gas", working_price_ct_dec_2022=10), "forecast_kwh_sept_2022"),
        (december_request("gas", forecast_kwh_sept_2022=10000), "working_price_ct_dec_2022"),
        (december_request("waerme"), "september_instalment_eur"),
        (december_request("waerme", september_instalment_eur=0), "september_instalment_eur"),
        (
            december_request("waerme", september_instalment_eur=100, december_instalment_eur=-1),
            "december_instalment_eur",
        ),
    ],
)
def test_december_missing_or_invalid_fields(rules, request_, field):
    with pytest.raises(InputError) as info:
        december_relief(request_, rules)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"forecast": 0}, "forecast_kwh"),
        ({"forecast": -1}, "forecast_kwh"),
        ({"price": 0}, "working_price_ct"),
        ({"contingent": 0}, "contingent_forecast_kwh"),
        ({"base": -1}, "base_price_eur_year"),
        ({"current": -1}, "current_instalment_eur"),
        ({"n": 10}, "instalments_per_year"),
        ({"forecast": "NaN"}, "forecast_kwh"),
    ],
)
def test_engine_rejects_out_of_range_values(rules, args, field):
    values = {"energy": "strom", "forecast": 3000, "price": 50, **args}
    with pytest.raises(InputError) as info:
        instalment(instalment_request(**values), rules)
    assert info.value.field == field


# --- rounding, sign, steps ------------------------------------------------------------------


def test_rounds_half_up_not_to_even(rules):
    # diff 0.0125 ct x 1,000 kWh contingent / 100 = 0.125 EUR: half up 0.13 (half even: 0.12).
    result = instalment(instalment_request("strom", 1250, "40.0125"), rules)
    assert result.annual_relief_eur == D("0.13")


def test_rounds_once_at_the_edge(rules):
    # without = 1,002 kWh x 40.5 ct / 100 / 12 = 33.8175 EUR; relief / 12 = 0.5 ct x 801.6 kWh
    # / 100 / 12 = 0.334 EUR. Exact: 33.4835 -> 33.48; rounding first: 33.82 - 0.33 = 33.49.
    result = instalment(instalment_request("strom", 1002, "40.5"), rules)
    assert result.instalment_without_relief_eur == D("33.82")
    assert result.instalment_with_relief_eur == D("33.48")


@pytest.mark.parametrize(
    ("current", "difference", "word"),
    [(200, "35.50", "über"), (150, "-14.50", "unter"), ("164.50", "0", "entspricht")],
)
def test_difference_to_current(rules, current, difference, word):
    result = instalment(instalment_request("strom", 4500, 50, base=84, current=current), rules)
    assert result.difference_to_current_eur == D(difference)
    assert word in result.steps[-1]


def test_no_difference_without_current_instalment(rules):
    assert (
        instalment(instalment_request("strom", 4500, 50), rules).difference_to_current_eur is None
    )


def test_steps_explain_with_the_customers_figures(rules):
    result = instalment(instalment_request("strom", 4500, 48, base=84, month=MARCH_2023), rules)
    assert result.steps[0] == (
        "Ihr Arbeitspreis von 48,00 ct/kWh liegt 8,00 ct über dem Referenzpreis von 40 ct/kWh."
    )
    text = " ".join(result.steps)
    assert "80 % der Verbrauchsprognose von 4.500 kWh, also 3.600 kWh" in text
    assert "288 € im Jahr, das sind 24 € im Monat" in text
    assert "(4.500 kWh × 48,00 ct + 84 € Grundpreis) ÷ 12 = 187 €" in text
    assert "187 € − 24 € = 163 €" in text
    assert "Januar und Februar (je 24 €)" in text
    assert "163 € − 48 € = 115 €" in text
    assert result.march_2023_instalment_eur == 115


def test_steps_use_german_number_format(rules):
    result = instalment(instalment_request("waerme", 12500, "15.5", base="99.99"), rules)
    text = " ".join(result.steps)
    assert "9,5 ct/kWh" in text
    assert "12.500 kWh" in text
    assert not re.search(r"\d\.\d{2}\b(?! ?kWh)", text.replace("12.500", "")), text


def test_december_steps(rules):
    result = december_relief(
        december_request(
            "gas",
            forecast_kwh_sept_2022=21600,
            working_price_ct_dec_2022=10,
            base_price_eur_year=120,
            december_instalment_eur=180,
        ),
        rules,
    )
    assert result.steps == (
        "Die Dezember-Soforthilfe für Erdgas ist ein Zwölftel Ihrer Jahresverbrauchsprognose zum "
        "Arbeitspreis vom 1. Dezember 2022, dazu ein Zwölftel des Jahresgrundpreises.",
        "Verbrauchsanteil: 21.600 kWh ÷ 12 × 10,00 ct = 180 €.",
        "Grundpreisanteil: 120 € ÷ 12 = 10 €.",
        "Ihre Soforthilfe: 180 € + 10 € = 190 €.",
        "Ihr Dezember-Abschlag von 180 € wurde nicht abgebucht. Die Differenz von 10 € wird Ihnen "
        "mit der Jahresabrechnung gutgeschrieben.",
    )


@pytest.mark.parametrize(
    "text", ["2023-6", "23-06", "2023-00", "2023-13", "2023/06", "", "abcd-ef"]
)
def test_parse_month_rejects_malformed(text):
    with pytest.raises(ValueError):
        parse_month(text)


def test_parse_month():
    assert parse_month("2023-06") == JUNE_2023
