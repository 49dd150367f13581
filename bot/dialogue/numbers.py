"""German figures as customers type them, for the instalment form.

Pure functions on one message, no Rasa: :func:`find_quantities` (numbers with their unit),
:func:`find_energy` (Strom, Gas or Wärme) and :func:`is_skip` (the customer skips an optional
question). Matching is done on :func:`bot.nlu.normalize.fold`-ed text, so case and umlaut
spellings do not matter ("Jährlich", "jaehrlich", "€/MONAT").

Number format (German first, tolerant of the English decimal point):

- A comma is the decimal mark: ``48,5`` is 48.5, ``12,50`` is 12.5, ``12,-`` is 12.
- A dot or a space followed by exactly three digits (and no further digit) separates thousands
  when the number starts with 1-9 and uses the same separator throughout: ``3.500``,
  ``1.500.000``, ``3 500`` (also no-break spaces). Otherwise a dot is a decimal mark:
  ``0.485``, ``48.5``. So ``1.234`` is always 1234, never 1.234.

Units: ``kWh`` (also ``Kilowattstunden``), ``MWh`` (x 1000 → kWh), ``ct``/``Cent`` with or without
``/kWh`` (a price in cent is always per kWh in this dialogue), ``€``/``EUR``/``Euro`` per kWh
(x 100 → ct/kWh), per month (``/Monat``, ``pro``/``im``/``je Monat``, ``monatlich``, ``mtl.``),
per year (``/Jahr``, ``/a``, ``pro``/``im Jahr``, ``jährlich``, ``p.a.``), or alone. The currency
may also stand before the amount (``€ 12,50``). The period must follow the amount directly:
"12 € Abschlag im Monat" is 12 € without a period (the form decides from the question asked).

Not quantities (left out of the result):

- Dates and times: ``1.12.2022``, ``01.03.``, ``1.12.22`` (day 1-31, dot, month 1-12, dot,
  optional year), ``2023-06``/``2023-06-01``, ``12/2022``, ``18:30``. ``1.12`` without the
  second dot is the number 1.12.
- Years: a bare four-digit number 1990-2099 (no unit, no separators), unless an approximation
  word comes before it ("ca. 2000", "etwa 2000"), a per-year phrase follows it ("2000 im
  Jahr"), or it is the whole message (the answer "2000" to "Wie hoch ist Ihr Verbrauch?").
- Numbers of more than :data:`MAX_DIGITS` digits (no figure of this dialogue).
- Figures with a unit the form does not use: percentages, m³, m², persons ("4 Personen",
  "2 Kinder"), degrees, o'clock, durations ("3 Jahre", "12 Monate").

Number words are read as digits first (:func:`number_words_as_digits`, text2num's German
grammar): "zweihundertzehn Euro" is 210 €, "zwölf Komma fünf Cent" 12.5 ct/kWh, "dreitausend
kWh" 3000 kWh. Words for numbers below three stay words ("ein Jahr", "zwei Fragen"), and so
does a message that speaks of millions or billions (text2num reads "1 Million" as "1 1000000").

Negative numbers, ranges ("3000-3500 kWh" gives the bare 3000 and 3500 kWh; "zwei- bis
dreitausend" gives 3000) and English thousands commas ("1,234.56") are not interpreted.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from text_to_num import alpha2digit

from bot.nlu.normalize import fold

QuantityKind = Literal["kwh", "ct_per_kwh", "eur_per_month", "eur_per_year", "eur", "number"]
EnergyName = Literal["strom", "gas", "waerme"]


@dataclass(frozen=True)
class Quantity:
    """A figure found in a message.

    Attributes:
        value: the value in the unit of ``kind`` (MWh converted to kWh, EUR/kWh to ct/kWh).
        kind: ``kwh``, ``ct_per_kwh``, ``eur_per_month``, ``eur_per_year``, ``eur`` (an amount
            without a period) or ``number`` (no unit).
        raw: the text as the customer wrote it, number and unit (e.g. ``"3,5 MWh"``); number
            words appear as digits (``"210 Euro"`` for "zweihundertzehn Euro").
    """

    value: Decimal
    kind: QuantityKind
    raw: str


# --- number and unit patterns (on folded text: lower case, ä→ae, ß→ss) ------------------------

# Spaces customers (and their keyboards) put between thousands groups: space, no-break space,
# narrow no-break space (what German number formatting inserts).
_SPACES = " \u00a0\u202f"

_NUMBER = re.compile(
    rf"""
    (?<!\w)(?<!\d[.,])                  # not inside a word or after "3." / "3,"
    (?:
        (?P<grouped>[1-9]\d{{0,2}}(?P<sep>[.{_SPACES}])\d{{3}}(?:(?P=sep)\d{{3}})*)
        (?![\d])(?!\.\d)                # "1.5000" and "1.500.00" are no thousands groups
        (?:,(?P<gfrac>\d+)|,-+)?        # "3.500,50"; "1.200,-"
      |
        (?P<int>\d+)(?:[.,](?P<frac>\d+)|,-+)?
    )
    (?!\d)
    """,
    re.VERBOSE,
)

# Text that looks like a number but is a date or a time; numbers inside these spans are left out.
_DATES = re.compile(
    r"""
    (?<![\w.,])
    (?:
        (?:0?[1-9]|[12]\d|3[01])\.(?:0?[1-9]|1[0-2])\.(?:\d{4}|\d{2})?(?!\d)   # 1.12.2022, 01.03.
      | (?:19|20)\d{2}-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01]))?(?!\d)   # 2023-06(-01)
      | (?:0?[1-9]|1[0-2])/(?:19|20)?\d{2}(?![\d/])                           # 12/2022, 03/23
      | (?:[01]?\d|2[0-3]):[0-5]\d(?!\d)                                      # 18:30
    )
    """,
    re.VERBOSE,
)

# "kWh" and its spellings; MWh is converted (x 1000).
_KWH = r"(?:kwh|kw/h|kilowattstunden?|kilowatt-stunden?)(?![a-z])"  # "kW/h": a common slip
_MWH = r"(?:mwh|megawattstunden?)(?![a-z])"
_CENT = r"(?:ct|cent|cents)(?![a-z])\.?"
_EURO = r"(?:€|eur(?:o|os)?(?![a-z]))"
# "/", "pro", "je", "per" between an amount and what it is per.
_PER = r"(?:\s*/\s*|\s+(?:pro|je|per)\s+)"
_PER_KWH = _PER + _KWH
_PER_MONTH = (
    r"(?:\s*/\s*(?:monat|mon\.?|mtl\.?|m)(?![a-z])"
    r"|\s+(?:pro|je|per|im|jeden|jeder)\s+monat(?![a-z])"
    r"|\s*monatl(?:ich|\.)|\s*mtl(?![a-z])\.?)"
)
_PER_YEAR = (
    r"(?:\s*/\s*(?:jahr|a|j)(?![a-z])"
    r"|\s+(?:pro|je|per|im|jedes)\s+jahr(?![a-z])"
    r"|\s*jaehrl(?:ich|\.)|\s*p\.\s?a\.?|\s*pa(?![a-z]))"
)

# Units after a number, tried in this order at the number's end (longest readings first).
_UNITS: tuple[tuple[re.Pattern[str], QuantityKind, Decimal], ...] = (
    (re.compile(r"\s*" + _MWH), "kwh", Decimal(1000)),
    (re.compile(r"\s*" + _KWH), "kwh", Decimal(1)),
    (re.compile(r"\s*" + _CENT + f"(?:{_PER_KWH})?"), "ct_per_kwh", Decimal(1)),
    (re.compile(r"\s*" + _EURO + _PER_KWH), "ct_per_kwh", Decimal(100)),
    (re.compile(r"\s*" + _EURO + _PER_MONTH), "eur_per_month", Decimal(1)),
    (re.compile(r"\s*" + _EURO + _PER_YEAR), "eur_per_year", Decimal(1)),
    (re.compile(r"\s*" + _EURO), "eur", Decimal(1)),
)
# After a currency written before the amount ("€ 12,50"): only the period or "/kWh" may follow.
_AFTER_PREFIX_CURRENCY: tuple[tuple[re.Pattern[str], QuantityKind, Decimal], ...] = (
    (re.compile(_PER_KWH), "ct_per_kwh", Decimal(100)),
    (re.compile(_PER_MONTH), "eur_per_month", Decimal(1)),
    (re.compile(_PER_YEAR), "eur_per_year", Decimal(1)),
)
_PREFIX_CURRENCY = re.compile(_EURO + r"\s*$")

# Units the form never asks for: such a figure is not a bare number either ("4 Personen" must
# not become a consumption of 4 kWh, "1.500 m³" of gas needs the calorific value to be kWh).
_FOREIGN_UNIT = re.compile(
    r"[\s-]*(?:%|prozent|m³|m3|kubikmeter|m²|m2|qm|quadratmeter|personen|person|pers\.|"
    r"leute|kinder|grad|°|uhr|jahre(?:n)?(?![a-z])|monate(?:n)?(?![a-z]))"
)
# A per-year phrase after a bare number: "2000 im Jahr" is a consumption, not a year.
_YEAR_AFTER = re.compile(_PER_YEAR)

# Years that a bare four-digit number is taken for (the calculator's whole time range and more).
YEAR_MIN, YEAR_MAX = 1990, 2099
# Words before a number that mark it as an estimate, so "ca. 2000" is a quantity, not a year.
APPROXIMATION_WORDS = (
    "ca",
    "ca.",
    "circa",
    "zirka",
    "etwa",
    "ungefaehr",
    "rund",
    "knapp",
    "fast",
    "ueber",
    "unter",
    "um die",
    "so",
    "geschaetzt",
    "mehr als",
    "weniger als",
)
_APPROXIMATION_BEFORE = re.compile(
    r"(?<![a-z])(?:"
    + "|".join(re.escape(w) for w in sorted(APPROXIMATION_WORDS, key=len, reverse=True))
    + r")\s*$"
)


def _fold_with_positions(text: str) -> tuple[str, list[int]]:
    """Fold ``text`` character by character, remembering where each folded character came from.

    Returns:
        The folded text and, for each of its characters, the index in the NFC-normalised text
        (folding "ä" gives "ae": both map to the "ä").
    """
    parts: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = fold(char)
        parts.append(folded)
        origin.extend([index] * len(folded))
    return "".join(parts), origin


def _plain(value: Decimal) -> Decimal:
    """Drop trailing zeros without exponent notation (``3500.000`` → ``3500``, 48.500 → 48.5)."""
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal


def _number_value(match: re.Match[str]) -> tuple[Decimal, bool]:
    """The value of a ``_NUMBER`` match and whether it is a plain integer (no groups, no mark)."""
    if match["grouped"] is not None:
        whole = match["grouped"].replace(match["sep"], "")
        frac = match["gfrac"]
        plain_integer = False
    else:
        whole, frac = match["int"], match["frac"]
        plain_integer = frac is None and "," not in match.group(0)
    return Decimal(f"{whole}.{frac}" if frac else whole), plain_integer


def _is_year(value: Decimal, plain_integer: bool, digits: int, before: str, after: str) -> bool:
    """Whether a bare number is a year (see the module docstring for the rule)."""
    if not (plain_integer and digits == 4 and YEAR_MIN <= value <= YEAR_MAX):
        return False
    if _APPROXIMATION_BEFORE.search(before) or _YEAR_AFTER.match(after):
        return False
    whole_message = not re.search(r"\w", before) and not re.search(r"\w", after)
    return not whole_message


# More digits before the decimal mark than any consumption or price has (a large customer's
# 1.5 GWh is 10 digits in kWh): such a "number" is no figure, it is left out. Without this, 29
# digits overflowed Decimal's precision in _plain (InvalidOperation, the action failed).
MAX_DIGITS = 15

# Readings without a unit after the number: an amount after "€", a bare number.
_AMOUNT: tuple[QuantityKind, Decimal, int] = ("eur", Decimal(1), 0)
_BARE: tuple[QuantityKind, Decimal, int] = ("number", Decimal(1), 0)


def _read_unit(
    rest: str, units: tuple[tuple[re.Pattern[str], QuantityKind, Decimal], ...]
) -> tuple[QuantityKind, Decimal, int] | None:
    """The first unit of ``units`` that ``rest`` starts with: kind, factor, length read."""
    for pattern, kind, factor in units:
        unit = pattern.match(rest)
        if unit:
            return kind, factor, unit.end()
    return None


# text2num mis-reads the scale words (see the module docstring); such messages keep their words.
_LARGE_SCALE = re.compile(r"(?i)milli(?:on|ard)")


def number_words_as_digits(text: str) -> str:
    """``text`` with German number words written as digits ("zweihundertzehn Euro" → "210 Euro").

    Returns ``text`` unchanged when it names millions or billions, or when text2num cannot read
    it (a lone surrogate cannot cross into its Rust code).
    """
    if _LARGE_SCALE.search(text):
        return text
    try:
        return str(alpha2digit(text, "de"))
    except (UnicodeError, ValueError):
        return text


def find_quantities(text: str) -> list[Quantity]:
    """All figures of a message with their units, in the order written.

    Args:
        text: the customer's message.

    Returns:
        The quantities; dates, times, years and figures with other units are left out (see the
        module docstring for the rules).
    """
    text = number_words_as_digits(unicodedata.normalize("NFC", text))
    folded, origin = _fold_with_positions(text)
    date_spans = [m.span() for m in _DATES.finditer(folded)]
    found: list[Quantity] = []
    consumed = 0  # end of the last unit read: its "€" must not serve the next number too
    for match in _NUMBER.finditer(folded):
        start, end = match.span()
        if any(lo <= start < hi for lo, hi in date_spans):
            continue
        value, plain_integer = _number_value(match)
        if value.adjusted() >= MAX_DIGITS:
            continue  # no figure of this dialogue (and past Decimal's 28-digit precision)
        before, rest = folded[:start], folded[end:]
        prefix = _PREFIX_CURRENCY.search(before, consumed)
        raw_start = start
        reading = _read_unit(rest, _UNITS)
        if reading is None:
            if prefix is not None:
                reading = _read_unit(rest, _AFTER_PREFIX_CURRENCY) or _AMOUNT
                raw_start = prefix.start()
            elif _FOREIGN_UNIT.match(rest) or _is_year(
                value, plain_integer, len(match.group(0)), before, rest
            ):
                continue
            else:
                reading = _BARE
        kind, factor, unit_length = reading
        consumed = end + unit_length
        raw = text[origin[raw_start] : origin[consumed - 1] + 1].strip()
        found.append(Quantity(_plain(value * factor), kind, raw))
    return found


# --- energy -------------------------------------------------------------------------------------

# Keywords per energy, matched anywhere in a word so compounds count ("Stromtarif",
# "Gasverbrauch", "Fernwärmekunde"). The alternation is tried in this order at each position, so
# the specific terms come first: "Wärmepumpe" is electricity although it contains "Wärme".
ENERGY_KEYWORDS: tuple[tuple[str, EnergyName], ...] = (
    # heat pumps and storage heaters run on electricity ("Wärmepumpenstrom", "Nachtspeicher")
    (r"w(?:ae|a)rmepumpe", "strom"),
    (r"nachtspeicher", "strom"),
    (r"strom", "strom"),  # also Heizstrom, Ökostrom, Stromtarif
    (r"elektri", "strom"),  # Elektrizität, elektrisch
    (r"elektro", "strom"),  # Elektroheizung
    # "gas" but not Gast/Gäste/Gasse/Vegas; Gastarif and Gastherme are gas
    (r"(?<!ve)(?<!pe)gas(?!t(?!arif|herme|ank|urbine)|se(?:n)?(?![a-z])|sen)", "gas"),
    # heat: Fernwärme and Nahwärme also without the umlaut ("fernwarme"); a plain "warm" is
    # not heat ("warme Wohnung"), and "erwärmen" is no energy
    (r"(?:fern|nah)w(?:ae|a)rme", "waerme"),
    (r"(?<!er)waerme", "waerme"),
    (r"fernheizung", "waerme"),
)
# One regex, one named group per keyword (k0, k1, ...): the group that matched names the energy.
_ENERGY = re.compile("|".join(f"(?P<k{i}>{p})" for i, (p, _) in enumerate(ENERGY_KEYWORDS)))


def find_energy(text: str) -> EnergyName | None:
    """The energy a message is about.

    When a message names several ("von Gas auf Wärmepumpe"), the first one mentioned wins: the
    customer usually names the energy they ask about first, and a deterministic answer is easier
    to correct in the form than a refusal. Negation is not understood: "kein Gas, sondern
    Strom" is gas.

    Args:
        text: the customer's message.

    Returns:
        ``strom``, ``gas`` or ``waerme``; ``None`` when no energy is named.
    """
    match = _ENERGY.search(fold(text))
    if match is None:
        return None
    assert match.lastgroup is not None  # every alternative is a named group
    return ENERGY_KEYWORDS[int(match.lastgroup[1:])][1]


# --- skipping an optional question --------------------------------------------------------------

# Answers meaning "I don't know / I'd rather not say" to an optional question (standing charge,
# present instalment). Matched on folded text; "weiß" folds to "weiss".
SKIP_PATTERNS = (
    r"(?<![a-z])weiss?(?:\s+\w+){0,3}?\s+nicht(?![a-z])",  # weiß (ich/es/leider) nicht
    r"(?<![a-z])keine\s+ahnung(?![a-z])",
    r"(?<![a-z])keine\s+angabe(?![a-z])",
    r"(?<![a-z])k\.\s?a\.?(?!\w)|^\W*ka\W*$",  # "k. A." (keine Angabe), "ka"
    r"(?<![a-z])hab(?:e)?\s+ich(?:\s+\w+){0,3}?\s+nicht(?![a-z])",  # hab ich (grad) nicht
    r"(?<![a-z])(?:nicht\s+(?:bekannt|zur\s+hand|parat)|unbekannt)(?![a-z])",
    r"(?<![a-z])(?:ueberspring\w*|skip\w*|weiter|egal)(?![a-z])",
    r"(?<![a-z])(?:nein|noe|nee|nope|no)(?![a-z])",
    r"(?<![a-z])kein(?:e|en|er)?(?![a-z])",  # "kein Grundpreis", "keinen Abschlag"
    r"^\s*[-\u2013\u2014/]+\s*$",  # "-", "–", "/" alone
)
_SKIP = re.compile("|".join(f"(?:{p})" for p in SKIP_PATTERNS))


def is_skip(text: str) -> bool:
    """Whether the customer wants to skip an optional question.

    A message with a figure is never a skip ("nein, 150 € im Jahr" answers the question), so
    the form reads the figure instead.

    Args:
        text: the customer's message.

    Returns:
        ``True`` for answers such as "weiß ich nicht", "keine Ahnung", "überspringen", "nein",
        "kein", "egal" or "-".
    """
    if not text.strip() or find_quantities(text):
        return False
    return _SKIP.search(fold(text)) is not None
