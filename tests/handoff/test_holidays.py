"""Public holidays (the `holidays` library, Saxony) and special days in the opening hours."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime
from typing import Any

import pytest

from bot.handoff import OpeningHours, OpeningHoursError, Period, SpecialDay

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
WEEKLY = {
    **{d: ["08:00", "18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    "sat": ["09:00", "13:00"],
}
SAXONY = {"country": "DE", "subdivision": "SN"}


def hours(**extra: Any) -> OpeningHours:
    spec = {"timezone": "Europe/Berlin", "weekly": WEEKLY, **extra}
    return OpeningHours.from_utility({"opening_hours": spec})


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def problems(**extra: Any) -> list[str]:
    with pytest.raises(OpeningHoursError) as info:
        hours(**extra)
    return [str(problem) for problem in info.value.problems]


# --- the real profile: the demo utility is Saxon -------------------------------------------------


def test_christmas_day_2026_is_closed_and_says_why(kb) -> None:
    opening = OpeningHours.from_utility(kb.utility)
    christmas = at(2026, 12, 25, 10)  # a Friday, 10:00: a usual weekday would be open
    assert christmas.weekday() == 4
    assert not opening.is_open(christmas)
    assert opening.describe_day(christmas) == (
        "heute geschlossen, Erster Weihnachtstag; sonst Mo–Fr 8–18 Uhr, Sa 9–13 Uhr"
    )
    # Saturday 26th is Zweiter Weihnachtstag, Sunday closed: Monday 28th at 8.
    assert opening.next_opening(christmas) == at(2026, 12, 28, 8)
    assert opening.describe_next_opening(christmas) == "am Montag ab 8 Uhr"


def test_buss_und_bettag_2026_is_closed_in_saxony_only(kb) -> None:
    opening = OpeningHours.from_utility(kb.utility)
    bettag = at(2026, 11, 18, 11)  # Wednesday
    assert not opening.is_open(bettag)
    assert opening.special_day(date(2026, 11, 18)) == SpecialDay("Buß- und Bettag", ())
    berlin_state = hours(public_holidays={"country": "DE", "subdivision": "BE"})
    assert berlin_state.is_open(bettag)  # not a holiday in Berlin
    assert opening.describe_next_opening(bettag) == "morgen ab 8 Uhr"


def test_the_demo_special_days_are_closed(kb) -> None:
    opening = OpeningHours.from_utility(kb.utility)
    assert not opening.is_open(at(2026, 12, 24, 10))  # Heiligabend, a Thursday
    assert not opening.is_open(at(2026, 12, 31, 10))  # Silvester, a Thursday
    assert opening.describe_day(at(2026, 12, 31, 10)).startswith("heute geschlossen, Silvester;")
    assert opening.is_open(at(2026, 12, 30, 10))
    # New Year's Day (Friday) is a holiday too: after Silvester the chat opens on Saturday.
    assert opening.next_opening(at(2026, 12, 31, 10)) == at(2027, 1, 2, 9)


def test_a_usual_day_reads_as_before(kb) -> None:
    opening = OpeningHours.from_utility(kb.utility)
    monday = at(2026, 11, 23, 11)
    assert opening.is_open(monday)
    assert opening.describe_day(monday) == opening.describe() == "Mo–Fr 8–18 Uhr, Sa 9–13 Uhr"


def test_reformationstag_and_easter_are_closed_in_saxony(kb) -> None:
    opening = OpeningHours.from_utility(kb.utility)
    assert not opening.is_open(at(2027, 10, 31, 10))  # a Sunday anyway
    assert not opening.is_open(at(2026, 4, 6, 10))  # Ostermontag
    assert opening.is_open(at(2026, 4, 7, 10))


# --- special days --------------------------------------------------------------------------------


def test_special_day_with_its_own_hours() -> None:
    opening = hours(
        public_holidays=SAXONY,
        special_days=[{"date": "12-31", "name": "Silvester", "hours": ["09:00", "12:00"]}],
    )
    assert opening.is_open(at(2026, 12, 31, 11, 59))
    assert not opening.is_open(at(2026, 12, 31, 12, 0))
    assert opening.describe_day(at(2026, 12, 31, 12)) == (
        "heute, Silvester, 9–12 Uhr; sonst Mo–Fr 8–18 Uhr, Sa 9–13 Uhr"
    )
    assert opening.describe_next_opening(at(2026, 12, 31, 7)) == "heute ab 9 Uhr"


def test_a_full_date_beats_the_yearly_day_and_a_special_day_beats_a_holiday() -> None:
    opening = hours(
        public_holidays=SAXONY,
        special_days=[
            {"date": "12-24", "name": "Heiligabend", "hours": []},
            {"date": "2027-12-24", "name": "Heiligabend", "hours": ["08:00", "12:00"]},
            {"date": "2026-11-18", "name": "Aktionstag", "hours": ["10:00", "14:00"]},
        ],
    )
    assert not opening.is_open(at(2026, 12, 24, 9))
    assert opening.is_open(at(2027, 12, 24, 9))
    assert opening.is_open(at(2026, 11, 18, 11))  # open on Buß- und Bettag this once
    assert opening.periods_on(date(2026, 11, 18)) == (Period(600, 840),)


def test_without_public_holidays_christmas_is_a_usual_friday() -> None:
    assert hours().is_open(at(2026, 12, 25, 10))


def test_next_opening_skips_a_long_closure() -> None:
    closed = [
        {"date": f"2026-08-{d:02d}", "name": "Betriebsferien", "hours": []} for d in range(1, 32)
    ]
    opening = hours(special_days=closed)
    assert opening.next_opening(at(2026, 8, 1, 10)) == at(2026, 9, 1, 8)
    assert opening.describe_next_opening(at(2026, 8, 1, 10)) == "am Dienstag, 1.9., ab 8 Uhr"


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"public_holidays": "SN"}, "opening_hours.public_holidays", "expected a mapping"),
        (
            {"public_holidays": {"country": "XX"}},
            "opening_hours.public_holidays.country",
            "ISO 3166-1",
        ),
        (
            {"public_holidays": {"country": "DE", "subdivision": "Sachsen"}},
            "opening_hours.public_holidays.subdivision",
            "use one of BB, BE",
        ),
        (
            {"public_holidays": {"country": "DE", "state": "SN"}},
            "opening_hours.public_holidays.state",
            "unknown",
        ),
        ({"special_days": {"12-24": []}}, "opening_hours.special_days", "expected a list"),
        (
            {"special_days": [{"date": "24.12.", "name": "x", "hours": []}]},
            "opening_hours.special_days[0].date",
            'expected "MM-DD"',
        ),
        (
            {"special_days": [{"date": date(2026, 12, 24), "name": "x", "hours": []}]},
            "opening_hours.special_days[0].date",
            "write it in quotes",
        ),
        (
            {"special_days": [{"date": "02-30", "name": "x", "hours": []}]},
            "opening_hours.special_days[0].date",
            'expected "MM-DD"',
        ),
        (
            {"special_days": [{"date": "12-24", "hours": []}]},
            "opening_hours.special_days[0].name",
            "Heiligabend",
        ),
        (
            {"special_days": [{"date": "12-24", "name": "x"}]},
            "opening_hours.special_days[0].hours",
            "[] or null means closed",
        ),
        (
            {"special_days": [{"date": "12-24", "name": "x", "hours": ["12:00", "08:00"]}]},
            "opening_hours.special_days[0].hours",
            "must be before",
        ),
        (
            {
                "special_days": [
                    {"date": "12-24", "name": "x", "hours": []},
                    {"date": "12-24", "name": "y", "hours": []},
                ]
            },
            "opening_hours.special_days[1].date",
            "listed twice",
        ),
        ({"holidays": SAXONY}, "opening_hours.holidays", "unknown"),
    ],
)
def test_invalid_holiday_settings_name_their_field(extra, field, message) -> None:
    found = problems(**extra)
    assert any(f"field '{field}'" in p and message in p for p in found), found


def test_february_29th_is_a_valid_yearly_day() -> None:
    opening = hours(special_days=[{"date": "02-29", "name": "Schalttag", "hours": []}])
    assert not opening.is_open(at(2028, 2, 29, 10))
    assert opening.is_open(at(2027, 3, 1, 10))
