"""The calculation engine: instalment with and without the price brake, December 2022 aid.

Pure functions of a request and the :class:`~bot.tariff.rules.ReliefRules`; no web, no Rasa.
The formulas are those of ``shared/contracts.md`` section 2, which follow
``shared/domain/relief-measures.md`` § 6 (cited as "§ 6.x" below).

Money is computed in :class:`~decimal.Decimal` with enough precision that no intermediate value is
rounded, and rounded half up to the cent once, when the result is built. Inputs are bounded (the
HTTP layer allows at most 1e9 kWh and 1000 ct/kWh), so 60 significant digits are exact for every
product and sum; quotients by 12 or 11 that do not terminate are never exactly halfway between two
cents, so their 60-digit approximation rounds the same way as the exact value would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import Enum

from bot.knowledge.render import MONTHS_DE, format_date, format_money, format_number
from bot.tariff.errors import InputError, NoDecemberAid, OutsideHouseholdLimits
from bot.tariff.rules import Energy, ReliefRules, month_start

# The statutory monthly relief is one twelfth of the annual relief, whatever the number of
# instalments (§ 4 StromPBG, § 8 EWPBG; relief-measures.md § 6.4).
MONTHS_PER_YEAR = 12
# Utilities collect 12 instalments a year, some 11 (relief-measures.md § 1.5, examples S5, G3).
INSTALMENTS_PER_YEAR = (12, 11)
# Prices are in ct/kWh, money in EUR.
CENTS_PER_EURO = Decimal(100)
_CENT = Decimal("0.01")
_ZERO = Decimal(0)
_ONE = Decimal(1)
_PRECISION = 60


class PriceBasis(str, Enum):
    """Whether a working price includes VAT (``gross``) or not (``net``)."""

    GROSS = "gross"
    NET = "net"


def parse_month(text: str) -> date:
    """Parse ``YYYY-MM`` into the first day of that month.

    Raises:
        ValueError: not of the form ``YYYY-MM`` with a month 01-12.
    """
    year, sep, month = text.partition("-")
    if not (sep and len(year) == 4 and len(month) == 2 and year.isdigit() and month.isdigit()):
        raise ValueError("must have the form YYYY-MM, e.g. 2023-06")
    if not 1 <= int(month) <= 12:
        raise ValueError("the month must be 01 to 12")
    if int(year) < 1:
        raise ValueError("the year must be 0001 or later")
    return date(int(year), int(month), 1)


@dataclass(frozen=True)
class InstalmentRequest:
    """Input of :func:`instalment` (fields as in the HTTP API).

    Attributes:
        energy: strom, gas or waerme.
        forecast_kwh: annual consumption forecast used for the instalment, kWh (> 0).
        working_price_ct: working price, ct/kWh (> 0), gross or net per ``price_basis``.
        month: the month the instalment is for (any day of it).
        contingent_forecast_kwh: forecast the relief contingent is based on, kWh; ``None``
            means ``forecast_kwh`` (gas and heat: the supplier's September 2022 forecast, § 2.2).
        base_price_eur_year: standing charge, EUR per year (>= 0).
        price_basis: ``net`` adds the VAT rate of ``month`` for ``energy``.
        instalments_per_year: 12 or 11.
        current_instalment_eur: the customer's present instalment, for a comparison.
    """

    energy: Energy
    forecast_kwh: Decimal
    working_price_ct: Decimal
    month: date
    contingent_forecast_kwh: Decimal | None = None
    base_price_eur_year: Decimal = _ZERO
    price_basis: PriceBasis = PriceBasis.GROSS
    instalments_per_year: int = 12
    current_instalment_eur: Decimal | None = None


@dataclass(frozen=True)
class InstalmentResult:
    """Result of :func:`instalment`; money in EUR rounded half up to the cent.

    Attributes:
        energy: the energy calculated.
        month: first day of the month calculated.
        brake_applies: whether a price brake applies in ``month``.
        working_price_gross_ct: the gross working price used, ct/kWh (unrounded).
        vat_rate_percent: the VAT rate added to a net price, %; ``None`` for gross prices.
        reference_price_ct: the reference price, ct/kWh; ``None`` when no brake applies.
        contingent_kwh_year: the relieved annual quantity (80 % of the contingent forecast),
            kWh; 0 when no brake applies.
        annual_relief_eur: max(working price - reference, 0) x contingent / 100.
        monthly_relief_eur: annual relief / 12.
        instalment_without_relief_eur: (forecast x working price / 100 + base price) / n.
        instalment_with_relief_eur: max(0, without - annual relief / n).
        march_2023_instalment_eur: the instalment of the first credit month (March 2023),
            which also credits the relief of the months before it (January, February), never
            below 0; ``None`` when ``month`` is outside the brake year.
        difference_to_current_eur: current instalment - instalment with relief; positive: the
            present instalment is that much higher than needed, negative: that much too low.
            ``None`` without a current instalment.
        instalments_per_year: n.
        steps: German sentences explaining the calculation with the customer's figures.
    """

    energy: Energy
    month: date
    brake_applies: bool
    working_price_gross_ct: Decimal
    vat_rate_percent: Decimal | None
    reference_price_ct: Decimal | None
    contingent_kwh_year: Decimal
    annual_relief_eur: Decimal
    monthly_relief_eur: Decimal
    instalment_without_relief_eur: Decimal
    instalment_with_relief_eur: Decimal
    march_2023_instalment_eur: Decimal | None
    difference_to_current_eur: Decimal | None
    instalments_per_year: int
    steps: tuple[str, ...]


@dataclass(frozen=True)
class DecemberReliefRequest:
    """Input of :func:`december_relief` (fields as in the HTTP API).

    Attributes:
        energy: gas or waerme (strom raises :class:`~bot.tariff.errors.NoDecemberAid`).
        forecast_kwh_sept_2022: gas: the supplier's September 2022 annual forecast, kWh.
        working_price_ct_dec_2022: gas: gross working price on 1 December 2022, ct/kWh.
        base_price_eur_year: gas: annual gross standing charge in December 2022, EUR.
        september_instalment_eur: heat: the September 2022 instalment, EUR.
        december_instalment_eur: the December 2022 instalment that was not debited, EUR.
    """

    energy: Energy
    forecast_kwh_sept_2022: Decimal | None = None
    working_price_ct_dec_2022: Decimal | None = None
    base_price_eur_year: Decimal = _ZERO
    september_instalment_eur: Decimal | None = None
    december_instalment_eur: Decimal | None = None


@dataclass(frozen=True)
class DecemberReliefResult:
    """Result of :func:`december_relief`; money in EUR rounded half up to the cent.

    Attributes:
        energy: gas or waerme.
        relief_eur: gas: forecast / 12 x price / 100 + base / 12; heat: September instalment
            x (1 + surcharge).
        settlement_eur: relief - December instalment; positive: credited in the annual bill,
            negative: charged. ``None`` without a December instalment.
        steps: German sentences explaining the calculation with the customer's figures.
    """

    energy: Energy
    relief_eur: Decimal
    settlement_eur: Decimal | None
    steps: tuple[str, ...]


# --- formatting helpers for the steps -----------------------------------------------------------


def _cents(value: Decimal) -> Decimal:
    """Round money half up to the cent (the one rounding, at the edge)."""
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _eur(value: Decimal) -> str:
    return format_money(_cents(value))


def _ct(value: Decimal) -> str:
    """A price in ct with two to four decimals (48,00; 20,39; 12,0463 for a net conversion)."""
    exponent = value.normalize().as_tuple().exponent
    decimals = min(max(2, -exponent), 4) if isinstance(exponent, int) else 2
    return format_number(value, decimals=decimals)


def _plain(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (3600.00 -> 3600)."""
    normal = value.normalize()
    return normal.quantize(_ONE) if normal == normal.to_integral() else normal


def _kwh(value: Decimal) -> str:
    return format_number(value) + " kWh"


def _percent(fraction: Decimal) -> str:
    return format_number(fraction * CENTS_PER_EURO) + " %"


def _ref(value: Decimal) -> str:
    """A reference price as the law writes it (40, 12, 9,5 ct/kWh)."""
    return format_number(value) + " ct/kWh"


def _month_names(months: tuple[date, ...]) -> str:
    names = [MONTHS_DE[m.month - 1] for m in months]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " und " + names[-1]


# --- validation --------------------------------------------------------------------------------


def _positive(value: Decimal | None, field: str, what: str, missing: str = "") -> Decimal:
    """``value`` if it is a finite number > 0; else an ``InputError`` for ``field``.

    Args:
        value: the value given (``None``: not given).
        field: the request field, as named in the HTTP API.
        what: German subject of the sentence, e.g. "Der Arbeitspreis".
        missing: the reason when the value is missing (default: the range reason).
    """
    if value is None and missing:
        raise InputError(field, missing)
    if value is None or not value.is_finite() or value <= 0:
        raise InputError(field, f"{what} muss eine Zahl größer als 0 sein.")
    return value


def _not_negative(value: Decimal, field: str, what: str) -> Decimal:
    """``value`` if it is a finite number >= 0; else an ``InputError`` for ``field``."""
    if not value.is_finite() or value < 0:
        raise InputError(field, f"{what} darf nicht negativ sein.")
    return value


def _check_household_limit(energy: Energy, kwh: Decimal, field: str, rules: ReliefRules) -> None:
    limit = rules.household_limit(energy)
    if kwh <= limit:
        return
    large_ref = rules.large_customer_reference_ct_net.get(energy)
    basis = (
        f"einem Referenzpreis von {format_number(large_ref)} ct/kWh netto (ohne Netzentgelte, "
        "Umlagen und Steuern)"
        if large_ref is not None
        else "einem eigenen Referenzpreis ohne staatlich veranlasste Preisbestandteile"
    )
    raise OutsideHouseholdLimits(
        field,
        f"{format_number(kwh)} kWh im Jahr liegen über der Grenze von {_kwh(limit)} für "
        f"Haushalte und kleine Betriebe. Darüber gelten bei der {energy.brake} die Regeln für "
        f"Großkunden – mit {basis} für "
        f"{_percent(rules.large_customer_contingent_share)} des Verbrauchs –, die dieser Rechner "
        "nicht abbildet. Bitte wenden Sie sich an unseren Geschäftskundenservice.",
    )


# --- instalment ---------------------------------------------------------------------------------


def instalment(request: InstalmentRequest, rules: ReliefRules) -> InstalmentResult:
    """Compute the monthly instalment (Abschlag) with and without the price brake.

    Args:
        request: the customer's figures.
        rules: the dated rules (reference prices, shares, VAT, brake months).

    Returns:
        The result, money rounded half up to the cent, with German explanation steps.

    Raises:
        InputError: a value is out of range (e.g. not > 0, or 10 instalments).
        OutsideHouseholdLimits: a forecast is above the household limit of the energy.
    """
    forecast = _positive(request.forecast_kwh, "forecast_kwh", "Der Jahresverbrauch")
    price = _positive(request.working_price_ct, "working_price_ct", "Der Arbeitspreis")
    contingent_forecast = (
        forecast
        if request.contingent_forecast_kwh is None
        else _positive(
            request.contingent_forecast_kwh,
            "contingent_forecast_kwh",
            "Die Verbrauchsprognose für das Kontingent",
        )
    )
    base = _not_negative(request.base_price_eur_year, "base_price_eur_year", "Der Grundpreis")
    current = (
        None
        if request.current_instalment_eur is None
        else _not_negative(
            request.current_instalment_eur, "current_instalment_eur", "Der bisherige Abschlag"
        )
    )
    n = request.instalments_per_year
    if n not in INSTALMENTS_PER_YEAR:
        raise InputError(
            "instalments_per_year",
            f"Es sind nur {' oder '.join(map(str, INSTALMENTS_PER_YEAR))} Abschläge im Jahr "
            "möglich.",
        )
    energy = Energy(request.energy)
    _check_household_limit(energy, forecast, "forecast_kwh", rules)
    _check_household_limit(energy, contingent_forecast, "contingent_forecast_kwh", rules)
    month = month_start(request.month)

    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return _instalment(
            energy, forecast, contingent_forecast, price, base, current, n, month, request, rules
        )


def _instalment(
    energy: Energy,
    forecast: Decimal,
    contingent_forecast: Decimal,
    price: Decimal,
    base: Decimal,
    current: Decimal | None,
    n: int,
    month: date,
    request: InstalmentRequest,
    rules: ReliefRules,
) -> InstalmentResult:
    steps: list[str] = []
    month_name = format_date(month, "month")

    # Reference prices are gross incl. VAT (§ 1.1, § 2.1, § 4 last point), so a net price gets
    # the VAT of the month it is for before it is compared.
    vat: Decimal | None = None
    gross = price
    if request.price_basis is PriceBasis.NET:
        vat = rules.vat_rate(energy, month)
        gross = price * (_ONE + vat)
        steps.append(
            f"Ihr Arbeitspreis von {_ct(price)} ct/kWh ist ein Nettopreis. Mit "
            f"{_percent(vat)} Mehrwertsteuer, die im {month_name} für {energy.label} gilt, "
            f"sind das {_ct(gross)} ct/kWh brutto."
        )

    brake = rules.brake_applies(month)
    reference: Decimal | None = None
    contingent = _ZERO
    difference = _ZERO
    if brake:
        # § 6.1-6.4: d = max(AP - ref, 0); contingent = 80 % of the forecast; R = d x contingent.
        reference = rules.reference_price(energy)
        contingent = rules.contingent_share * contingent_forecast
        difference = max(gross - reference, _ZERO)
        if difference > 0:
            steps.append(
                f"Ihr Arbeitspreis von {_ct(gross)} ct/kWh liegt {_ct(difference)} ct über dem "
                f"Referenzpreis von {_ref(reference)}."
            )
        else:
            steps.append(
                f"Ihr Arbeitspreis von {_ct(gross)} ct/kWh liegt nicht über dem Referenzpreis "
                f"von {_ref(reference)}. Die {energy.brake} entlastet Sie deshalb nicht."
            )
        steps.append(
            f"Entlastet werden {_percent(rules.contingent_share)} der Verbrauchsprognose von "
            f"{_kwh(contingent_forecast)}, also {_kwh(contingent)} im Jahr."
        )
    else:
        steps.append(
            f"Die {energy.brake} galt von {format_date(month_start(rules.brake_start), 'month')} "
            f"bis {format_date(rules.brake_end, 'month')}. Für {month_name} gibt es daher keine "
            "Entlastung."
        )
    annual = difference * contingent / CENTS_PER_EURO
    monthly = annual / MONTHS_PER_YEAR
    if annual > 0:
        steps.append(
            f"Ihre Entlastung: {_ct(difference)} ct × {_kwh(contingent)} = {_eur(annual)} im "
            f"Jahr, das sind {_eur(monthly)} im Monat."
        )

    # § 6.5: A0 = (JVP x AP / 100 + GP) / n; A = max(0, A0 - R / n).
    energy_cost = forecast * gross / CENTS_PER_EURO
    without = (energy_cost + base) / n
    relief_per_instalment = annual / n
    with_relief = max(_ZERO, without - relief_per_instalment)
    formula = f"{_kwh(forecast)} × {_ct(gross)} ct"
    if base > 0:
        formula = f"({formula} + {_eur(base)} Grundpreis)"
    steps.append(f"Ohne Preisbremse beträgt Ihr Abschlag {formula} ÷ {n} = {_eur(without)}.")
    if annual > 0:
        spread = (
            f"Mit Preisbremse wird die Jahresentlastung von {_eur(annual)} auf Ihre {n} "
            f"Abschläge verteilt: {_eur(without)} − {_eur(relief_per_instalment)}"
        )
        if without - relief_per_instalment >= 0:
            steps.append(f"{spread} = {_eur(with_relief)}.")
        else:
            steps.append(f"{spread}. Ein Abschlag kann nicht unter 0 € sinken, er beträgt 0 €.")
    elif brake:
        steps.append(f"Ihr Abschlag bleibt damit bei {_eur(without)}.")

    # § 6.6: A_March = A - 2 E; the months before the first credit month (January, February)
    # are each credited with that month's relief E = R / 12, whatever n is (§ 1.4, § 2.4).
    march: Decimal | None = None
    if brake:
        catch_up = rules.catch_up_months
        credit = len(catch_up) * monthly
        march = max(_ZERO, with_relief - credit)
        if annual > 0 and catch_up:
            credit_month = format_date(rules.credit_month, "month")
            text = (
                f"Im {credit_month} werden zusätzlich die Entlastungen für "
                f"{_month_names(catch_up)} (je {_eur(monthly)}) gutgeschrieben: "
            )
            if with_relief - credit >= 0:
                text += (
                    f"Ihr Abschlag für {credit_month} beträgt {_eur(with_relief)} − "
                    f"{_eur(credit)} = {_eur(march)}."
                )
            else:
                text += (
                    f"Ihr Abschlag für {credit_month} sinkt auf 0 €; den Rest von "
                    f"{_eur(credit - with_relief)} verrechnet Ihr Versorger mit der nächsten "
                    "Rechnung."
                )
            steps.append(text)

    difference_to_current: Decimal | None = None
    if current is not None:
        difference_to_current = current - with_relief
        target = "dem Abschlag mit Preisbremse" if brake else "dem berechneten Abschlag"
        if _cents(difference_to_current) > 0:
            steps.append(
                f"Ihr bisheriger Abschlag von {_eur(current)} liegt "
                f"{_eur(difference_to_current)} über {target}."
            )
        elif _cents(difference_to_current) < 0:
            steps.append(
                f"Ihr bisheriger Abschlag von {_eur(current)} liegt "
                f"{_eur(-difference_to_current)} unter {target}; bei gleichem Verbrauch "
                "kann mit der Jahresabrechnung eine Nachzahlung kommen."
            )
        else:
            steps.append(f"Ihr bisheriger Abschlag von {_eur(current)} entspricht {target}.")

    return InstalmentResult(
        energy=energy,
        month=month,
        brake_applies=brake,
        working_price_gross_ct=_plain(gross),
        vat_rate_percent=None if vat is None else _plain(vat * CENTS_PER_EURO),
        reference_price_ct=reference,
        contingent_kwh_year=_plain(contingent),
        annual_relief_eur=_cents(annual),
        monthly_relief_eur=_cents(monthly),
        instalment_without_relief_eur=_cents(without),
        instalment_with_relief_eur=_cents(with_relief),
        march_2023_instalment_eur=None if march is None else _cents(march),
        difference_to_current_eur=(
            None if difference_to_current is None else _cents(difference_to_current)
        ),
        instalments_per_year=n,
        steps=tuple(steps),
    )


# --- December 2022 aid ------------------------------------------------------------------------


def december_relief(request: DecemberReliefRequest, rules: ReliefRules) -> DecemberReliefResult:
    """Compute the December 2022 emergency aid (Dezember-Soforthilfe, EWSG).

    Args:
        request: the customer's figures (gas: forecast, price, base price; heat: September
            instalment).
        rules: the rules (heat surcharge, gas household limit).

    Returns:
        The aid and, when the December instalment is given, the settlement in the annual bill.

    Raises:
        NoDecemberAid: for electricity.
        InputError: a field needed for the energy is missing or out of range.
        OutsideHouseholdLimits: a gas forecast above the household limit (large customers had
            other rules, relief-measures.md § 3.1-3.2).
    """
    energy = Energy(request.energy)
    if energy is Energy.STROM:
        raise NoDecemberAid(
            "energy",
            "Für Strom gab es keine Dezember-Soforthilfe; sie galt nur für Erdgas und Wärme. "
            "Bei Strom entlastet Sie die Strompreisbremse.",
        )
    december = (
        None
        if request.december_instalment_eur is None
        else _not_negative(
            request.december_instalment_eur, "december_instalment_eur", "Der Dezember-Abschlag"
        )
    )
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        if energy is Energy.GAS:
            relief, steps = _december_gas(request, rules)
        else:
            relief, steps = _december_heat(request, rules)
        settlement: Decimal | None = None
        if december is not None:
            settlement = relief - december
            intro = f"Ihr Dezember-Abschlag von {_eur(december)} wurde nicht abgebucht."
            if _cents(settlement) > 0:
                steps.append(
                    f"{intro} Die Differenz von {_eur(settlement)} wird Ihnen mit der "
                    "Jahresabrechnung gutgeschrieben."
                )
            elif _cents(settlement) < 0:
                steps.append(
                    f"{intro} Die Differenz von {_eur(-settlement)} wird mit der "
                    "Jahresabrechnung nachberechnet."
                )
            else:
                steps.append(f"{intro} Damit ist die Soforthilfe bereits vollständig verrechnet.")
        return DecemberReliefResult(
            energy=energy,
            relief_eur=_cents(relief),
            settlement_eur=None if settlement is None else _cents(settlement),
            steps=tuple(steps),
        )


def _september(rules: ReliefRules) -> str:
    """The month of the forecast and instalment the December aid is based on (§ 3.2, § 3.4).

    The EWSG names September of the aid's own year; the year comes from the rules.
    """
    return f"{MONTHS_DE[8]} {rules.december_aid_day.year}"


def _december_gas(request: DecemberReliefRequest, rules: ReliefRules) -> tuple[Decimal, list[str]]:
    day = format_date(rules.december_aid_day, "long")
    forecast = _positive(
        request.forecast_kwh_sept_2022,
        "forecast_kwh_sept_2022",
        "Die Jahresverbrauchsprognose",
        f"Für Erdgas wird die Jahresverbrauchsprognose vom {_september(rules)} benötigt.",
    )
    price = _positive(
        request.working_price_ct_dec_2022,
        "working_price_ct_dec_2022",
        "Der Arbeitspreis",
        f"Für Erdgas wird der Arbeitspreis vom {day} benötigt.",
    )
    base = _not_negative(request.base_price_eur_year, "base_price_eur_year", "Der Grundpreis")
    _check_household_limit(Energy.GAS, forecast, "forecast_kwh_sept_2022", rules)
    # § 3.2 / § 6.8: S = JVP / 12 x AP / 100 + GP / 12.
    energy_part = forecast / MONTHS_PER_YEAR * price / CENTS_PER_EURO
    base_part = base / MONTHS_PER_YEAR
    relief = energy_part + base_part
    steps = [
        "Die Dezember-Soforthilfe für Erdgas ist ein Zwölftel Ihrer Jahresverbrauchsprognose "
        f"zum Arbeitspreis vom {day}, dazu ein Zwölftel des Jahresgrundpreises.",
        f"Verbrauchsanteil: {_kwh(forecast)} ÷ 12 × {_ct(price)} ct = {_eur(energy_part)}.",
    ]
    if base > 0:
        steps.append(f"Grundpreisanteil: {_eur(base)} ÷ 12 = {_eur(base_part)}.")
        steps.append(f"Ihre Soforthilfe: {_eur(energy_part)} + {_eur(base_part)} = {_eur(relief)}.")
    else:
        steps.append(f"Ihre Soforthilfe beträgt {_eur(relief)}.")
    return relief, steps


def _december_heat(request: DecemberReliefRequest, rules: ReliefRules) -> tuple[Decimal, list[str]]:
    september = _positive(
        request.september_instalment_eur,
        "september_instalment_eur",
        "Der Septemberabschlag",
        f"Für Wärme wird der Abschlag vom {_september(rules)} benötigt.",
    )
    # § 3.4 / § 6.8: S = 1.2 x the September 2022 instalment (surcharge for price increases).
    relief = september * (_ONE + rules.heat_december_surcharge)
    steps = [
        f"Die Dezember-Soforthilfe für Wärme ist Ihr Abschlag vom {_september(rules)} plus "
        f"{_percent(rules.heat_december_surcharge)} Zuschlag für gestiegene Preise.",
        f"Ihre Soforthilfe: {_eur(september)} + {_percent(rules.heat_december_surcharge)} = "
        f"{_eur(relief)}.",
    ]
    return relief, steps
