"""Opening hours of the chat handoff: validation, is_open, next opening, German texts."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from bot.handoff import OpeningHours, OpeningHoursError, Period
from bot.knowledge import KnowledgeError

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
UTC = timezone.utc
WEEKDAYS = {d: ["08:00", "18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
STANDARD = {"timezone": "Europe/Berlin", "weekly": {**WEEKDAYS, "sat": ["09:00", "13:00"]}}


def hours(spec: Any = None, **weekly: Any) -> OpeningHours:
    if spec is None:
        spec = {"timezone": "Europe/Berlin", "weekly": weekly or STANDARD["weekly"]}
    return OpeningHours.from_utility({"opening_hours": spec})


def berlin(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=BERLIN)


def problems(spec: Any) -> list[str]:
    with pytest.raises(OpeningHoursError) as info:
        OpeningHours.from_utility({"opening_hours": spec})
    return [str(problem) for problem in info.value.problems]


# --- the real profile ------------------------------------------------------------------------


def test_real_profile_loads_and_reads_like_the_phone_hours(kb) -> None:
    opening = OpeningHours.from_utility(kb.utility)
    assert opening.zone.key == "Europe/Berlin"
    assert opening.describe() == "Mo–Fr 8–18 Uhr, Sa 9–13 Uhr"
    assert opening.weekly[6] == ()


def test_time_zone_database_is_available() -> None:
    # zoneinfo needs the operating system's tzdata or the tzdata package; without either the
    # handoff cannot know whether it is open. This test names the cause if it is missing.
    assert zoneinfo.ZoneInfo("Europe/Berlin").utcoffset(datetime(2023, 7, 1)) == timedelta(hours=2)


# --- validation --------------------------------------------------------------------------------


def test_errors_are_knowledge_errors_naming_file_and_field() -> None:
    with pytest.raises(KnowledgeError) as info:
        OpeningHours.from_utility({})
    assert [str(problem) for problem in info.value.problems] == [
        "knowledge/utility.yml: field 'opening_hours': missing or not a mapping with "
        "'timezone' and 'weekly'"
    ]


def test_source_name_is_used_in_messages() -> None:
    with pytest.raises(OpeningHoursError) as info:
        OpeningHours.from_utility({"opening_hours": 3}, source="other.yml")
    assert info.value.problems[0].file == "other.yml"
    assert str(info.value.problems[0]).startswith("other.yml: field 'opening_hours'")


@pytest.mark.parametrize(
    ("spec", "field", "reason"),
    [
        ({"weekly": WEEKDAYS}, "opening_hours.timezone", "must name a time zone"),
        ({"timezone": "", "weekly": WEEKDAYS}, "opening_hours.timezone", "must name a time zone"),
        (
            {"timezone": "Europe/Musterstadt", "weekly": WEEKDAYS},
            "opening_hours.timezone",
            "unknown time zone 'Europe/Musterstadt'",
        ),
        ({"timezone": "Europe/Berlin"}, "opening_hours.weekly", "missing or not a mapping"),
        (
            {"timezone": "Europe/Berlin", "weekly": ["mon"]},
            "opening_hours.weekly",
            "missing or not a mapping",
        ),
        (
            {"timezone": "Europe/Berlin", "weekly": {"monday": ["08:00", "18:00"]}},
            "opening_hours.weekly.monday",
            "unknown day",
        ),
        (
            {"timezone": "Europe/Berlin", "weekly": {"mon": ["8:00", "18:00"]}},
            "opening_hours.weekly.mon",
            'expected a time "HH:MM"',
        ),
        (
            {"timezone": "Europe/Berlin", "weekly": {"tue": ["08:00", "24:01"]}},
            "opening_hours.weekly.tue",
            "between 00:00 and 24:00, got '24:01'",
        ),
        (
            {"timezone": "Europe/Berlin", "weekly": {"wed": ["08:00", "18:60"]}},
            "opening_hours.weekly.wed",
            'expected a time "HH:MM"',
        ),
        (
            {"timezone": "Europe/Berlin", "weekly": {"thu": ["08:00", 1080]}},  # YAML: 18:00
            "opening_hours.weekly.thu",
            'got 1080 (write times in quotes: "18:00")',
        ),
        (
            {"timezone": "Europe/Berlin", "weekly": {"fri": ["18:00", "08:00"]}},
            "opening_hours.weekly.fri",
            "opening time 18:00 must be before closing time 08:00",
        ),
        (
            {"timezone": "Europe/Berlin", "weekly": {"fri": ["08:00", "08:00"]}},
            "opening_hours.weekly.fri",
            "must be before",
        ),
        (
            {"timezone": "Europe/Berlin", "weekly": {"sat": ["09:00"]}},
            "opening_hours.weekly.sat",
            "(from, to)",
        ),
        (
            {"timezone": "Europe/Berlin", "weekly": {"sat": "09:00-13:00"}},
            "opening_hours.weekly.sat",
            "or a list of them",
        ),
        (
            {
                "timezone": "Europe/Berlin",
                "weekly": {"sun": [["10:00", "14:00"], ["13:00", "15:00"]]},
            },
            "opening_hours.weekly.sun[1]",
            "must not overlap",
        ),
    ],
)
def test_invalid_field_is_named(spec: dict[str, Any], field: str, reason: str) -> None:
    found = problems(spec)
    assert len(found) == 1, found
    assert found[0].startswith(f"knowledge/utility.yml: field '{field}': "), found[0]
    assert reason in found[0]


def test_all_problems_are_reported_together() -> None:
    found = problems(
        {"timezone": "Mars/Olympus", "weekly": {"mon": ["x", "18:00"], "sun": ["10:00", "09:00"]}}
    )
    fields = [p.split("field ")[1].split(":")[0] for p in found]
    assert fields == [
        "'opening_hours.timezone'",
        "'opening_hours.weekly.mon'",
        "'opening_hours.weekly.sun'",
    ]


def test_missing_time_zone_database_gets_a_clear_message(monkeypatch) -> None:
    def no_zone(name: str) -> zoneinfo.ZoneInfo:
        raise zoneinfo.ZoneInfoNotFoundError(name)

    monkeypatch.setattr(zoneinfo, "ZoneInfo", no_zone)
    monkeypatch.setattr(zoneinfo, "available_timezones", set)
    found = problems(STANDARD)
    assert len(found) == 1
    assert "field 'opening_hours.timezone'" in found[0]
    assert "no time-zone database" in found[0] and "tzdata" in found[0]


def test_unquoted_yaml_times_get_a_hint() -> None:
    import yaml

    spec = yaml.safe_load("timezone: Europe/Berlin\nweekly:\n  mon: [08:00, 18:00]\n")
    found = problems(spec)
    assert any("write times in quotes" in p for p in found), found


def test_closed_days_may_be_missing_null_or_empty() -> None:
    opening = hours(mon=["08:00", "18:00"], tue=None, wed=[])
    assert opening.weekly == ((Period(480, 1080),), (), (), (), (), (), ())


def test_several_periods_and_midnight() -> None:
    opening = hours(
        mon=[["08:00", "12:00"], ["13:00", "18:00"]], fri=["00:00", "24:00"], sat=["22:00", "24:00"]
    )
    assert opening.weekly[0] == (Period(480, 720), Period(780, 1080))
    assert opening.weekly[4] == (Period(0, 1440),)


# --- is_open -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (berlin(2023, 6, 5, 7, 59, 59), False),  # Monday, a second before opening
        (berlin(2023, 6, 5, 8, 0), True),  # exactly at opening
        (berlin(2023, 6, 5, 12, 0), True),
        (berlin(2023, 6, 5, 17, 59, 59, 999999), True),  # the last microsecond
        (berlin(2023, 6, 5, 18, 0), False),  # exactly at closing: closed
        (berlin(2023, 6, 9, 17, 0), True),  # Friday
        (berlin(2023, 6, 10, 8, 59), False),  # Saturday before 9
        (berlin(2023, 6, 10, 9, 0), True),
        (berlin(2023, 6, 10, 12, 59), True),
        (berlin(2023, 6, 10, 13, 0), False),
        (berlin(2023, 6, 11, 12, 0), False),  # Sunday
        (berlin(2023, 6, 11, 0, 0), False),
        (berlin(2023, 6, 5, 0, 0), False),  # Monday midnight
    ],
)
def test_is_open(now: datetime, expected: bool) -> None:
    assert hours().is_open(now) is expected


def test_is_open_converts_other_time_zones() -> None:
    opening = hours()
    # 06:30 UTC in summer is 08:30 in Berlin (CEST, UTC+2): open.
    assert opening.is_open(datetime(2023, 6, 5, 6, 30, tzinfo=UTC))
    # 06:30 UTC in winter is 07:30 in Berlin (CET, UTC+1): still closed.
    assert not opening.is_open(datetime(2023, 1, 9, 6, 30, tzinfo=UTC))
    # Monday 01:00 in New York is Monday 07:00 in Berlin: closed; 03:00 is 09:00: open.
    new_york = zoneinfo.ZoneInfo("America/New_York")
    assert not opening.is_open(datetime(2023, 6, 5, 1, 0, tzinfo=new_york))
    assert opening.is_open(datetime(2023, 6, 5, 3, 0, tzinfo=new_york))
    # Sunday 23:30 UTC in summer is already Monday 01:30 in Berlin: closed anyway.
    assert not opening.is_open(datetime(2023, 6, 4, 23, 30, tzinfo=UTC))
    # Saturday 23:00 UTC in winter is Sunday 00:00 in Berlin.
    late = hours(sat=["00:00", "24:00"])
    assert late.is_open(datetime(2023, 1, 14, 22, 59, tzinfo=UTC))
    assert not late.is_open(datetime(2023, 1, 14, 23, 0, tzinfo=UTC))


def test_naive_datetimes_are_refused() -> None:
    opening = hours()
    with pytest.raises(ValueError, match="timezone-aware"):
        opening.is_open(datetime(2023, 6, 5, 9, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        opening.next_opening(datetime(2023, 6, 5, 9, 0))


def test_sunday_hours_on_the_days_the_clocks_change() -> None:
    opening = hours(sun=["08:00", "18:00"])
    # 26 March 2023: clocks go forward at 02:00 CET; 08:00 CEST is 06:00 UTC.
    assert not opening.is_open(datetime(2023, 3, 26, 5, 59, tzinfo=UTC))
    assert opening.is_open(datetime(2023, 3, 26, 6, 0, tzinfo=UTC))
    assert opening.is_open(datetime(2023, 3, 26, 15, 59, tzinfo=UTC))
    assert not opening.is_open(datetime(2023, 3, 26, 16, 0, tzinfo=UTC))
    # 29 October 2023: clocks go back at 03:00 CEST; 08:00 CET is 07:00 UTC.
    assert not opening.is_open(datetime(2023, 10, 29, 6, 59, tzinfo=UTC))
    assert opening.is_open(datetime(2023, 10, 29, 7, 0, tzinfo=UTC))
    assert opening.is_open(datetime(2023, 10, 29, 16, 59, tzinfo=UTC))
    assert not opening.is_open(datetime(2023, 10, 29, 17, 0, tzinfo=UTC))


def test_night_hours_across_the_repeated_hour() -> None:
    # 29 October 2023, 02:00-03:00 happens twice; both are open under wall-clock hours.
    opening = hours(sun=["02:00", "03:00"])
    assert opening.is_open(datetime(2023, 10, 29, 0, 30, tzinfo=UTC))  # 02:30 CEST
    assert opening.is_open(datetime(2023, 10, 29, 1, 30, tzinfo=UTC))  # 02:30 CET
    assert not opening.is_open(datetime(2023, 10, 29, 2, 0, tzinfo=UTC))  # 03:00 CET


# --- next_opening ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # open: now itself
        (berlin(2023, 6, 5, 8, 0), berlin(2023, 6, 5, 8, 0)),
        (berlin(2023, 6, 5, 10, 15, 30), berlin(2023, 6, 5, 10, 15, 30)),
        # before opening on the same day
        (berlin(2023, 6, 5, 7, 59, 59), berlin(2023, 6, 5, 8, 0)),
        (berlin(2023, 6, 5, 0, 0), berlin(2023, 6, 5, 8, 0)),
        # after closing: next day
        (berlin(2023, 6, 5, 18, 0), berlin(2023, 6, 6, 8, 0)),
        (berlin(2023, 6, 8, 23, 59), berlin(2023, 6, 9, 8, 0)),
        # Friday evening: Saturday 9
        (berlin(2023, 6, 9, 18, 0), berlin(2023, 6, 10, 9, 0)),
        # Saturday after 13 and Sunday: Monday 8
        (berlin(2023, 6, 10, 13, 0), berlin(2023, 6, 12, 8, 0)),
        (berlin(2023, 6, 11, 12, 0), berlin(2023, 6, 12, 8, 0)),
        # across the change to summer time (Sunday 26 March 2023): Monday 08:00 CEST
        (berlin(2023, 3, 25, 14, 0), berlin(2023, 3, 27, 8, 0)),
        # across the change to winter time (Sunday 29 October 2023): Monday 08:00 CET
        (berlin(2023, 10, 28, 14, 0), berlin(2023, 10, 30, 8, 0)),
        # New Year's Eve (no holidays configured): Monday 1 January 2024 at 8
        (berlin(2023, 12, 31, 12, 0), berlin(2024, 1, 1, 8, 0)),
    ],
)
def test_next_opening(now: datetime, expected: datetime) -> None:
    result = hours().next_opening(now)
    assert result == expected
    assert result is not None and result.tzinfo is BERLIN


def test_next_opening_utc_offsets_across_dst() -> None:
    opening = hours()
    spring = opening.next_opening(datetime(2023, 3, 25, 13, 0, tzinfo=UTC))
    assert spring is not None and spring.astimezone(UTC) == datetime(2023, 3, 27, 6, 0, tzinfo=UTC)
    autumn = opening.next_opening(datetime(2023, 10, 28, 13, 0, tzinfo=UTC))
    assert autumn is not None and autumn.astimezone(UTC) == datetime(2023, 10, 30, 7, 0, tzinfo=UTC)


def test_next_opening_a_week_ahead_and_never() -> None:
    monday_only = hours(mon=["08:00", "18:00"])
    assert monday_only.next_opening(berlin(2023, 6, 5, 18, 0)) == berlin(2023, 6, 12, 8, 0)
    assert hours(mon=None).next_opening(berlin(2023, 6, 5, 9, 0)) is None


def test_next_opening_with_a_break() -> None:
    opening = hours(mon=[["08:00", "12:00"], ["13:00", "18:00"]])
    assert opening.next_opening(berlin(2023, 6, 5, 12, 0)) == berlin(2023, 6, 5, 13, 0)
    assert opening.next_opening(berlin(2023, 6, 5, 12, 59)) == berlin(2023, 6, 5, 13, 0)


def test_next_opening_at_a_skipped_wall_time() -> None:
    # 02:30 does not exist on 26 March 2023; the clock shows 03:30 at that moment.
    opening = hours(sun=["02:30", "05:00"])
    result = opening.next_opening(berlin(2023, 3, 26, 0, 0))
    assert result is not None
    assert (result.hour, result.minute) == (3, 30)
    assert result.astimezone(UTC) == datetime(2023, 3, 26, 1, 30, tzinfo=UTC)
    assert opening.is_open(result)


def test_next_opening_from_another_zone_is_given_in_berlin_time() -> None:
    result = hours().next_opening(datetime(2023, 6, 10, 23, 0, tzinfo=UTC))  # Sunday 01:00 CEST
    assert result == berlin(2023, 6, 12, 8, 0)
    assert result is not None and result.utcoffset() == timedelta(hours=2)


# --- German texts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weekly", "expected"),
    [
        (STANDARD["weekly"], "Mo–Fr 8–18 Uhr, Sa 9–13 Uhr"),
        ({"mon": ["08:30", "17:45"]}, "Mo 8:30–17:45 Uhr"),
        ({"sat": ["10:00", "14:00"], "sun": ["10:00", "14:00"]}, "Sa, So 10–14 Uhr"),
        (
            {
                "mon": ["08:00", "18:00"],
                "tue": ["08:00", "18:00"],
                "wed": ["08:00", "12:00"],
                "thu": ["08:00", "18:00"],
                "fri": ["08:00", "18:00"],
            },
            "Mo, Di, Do, Fr 8–18 Uhr, Mi 8–12 Uhr",
        ),
        (
            {"mon": [["08:00", "12:00"], ["13:00", "18:00"]], "tue": ["00:00", "24:00"]},
            "Mo 8–12, 13–18 Uhr, Di 0–24 Uhr",
        ),
        (
            {d: ["09:00", "17:00"] for d in ("mon", "tue", "wed", "sat", "sun")},
            "Mo–Mi, Sa, So 9–17 Uhr",
        ),
        ({}, "geschlossen"),
    ],
)
def test_describe(weekly: dict[str, Any], expected: str) -> None:
    assert hours({"timezone": "Europe/Berlin", "weekly": weekly}).describe() == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (berlin(2023, 6, 5, 9, 0), "jetzt"),
        (berlin(2023, 6, 5, 7, 0), "heute ab 8 Uhr"),
        (berlin(2023, 6, 5, 18, 0), "morgen ab 8 Uhr"),
        (berlin(2023, 6, 9, 20, 0), "morgen ab 9 Uhr"),  # Friday evening: Saturday
        (berlin(2023, 6, 10, 13, 30), "am Montag ab 8 Uhr"),  # Saturday afternoon
        (berlin(2023, 6, 11, 10, 0), "morgen ab 8 Uhr"),  # Sunday
    ],
)
def test_describe_next_opening(now: datetime, expected: str) -> None:
    assert hours().describe_next_opening(now) == expected


def test_describe_next_opening_edge_cases() -> None:
    monday_only = hours(mon=["08:30", "18:00"])
    assert monday_only.describe_next_opening(berlin(2023, 6, 5, 18, 0)) == (
        "am Montag, 12.6., ab 8:30 Uhr"
    )
    assert monday_only.describe_next_opening(berlin(2023, 6, 7, 12, 0)) == "am Montag ab 8:30 Uhr"
    assert hours(mon=None).describe_next_opening(berlin(2023, 6, 5, 9, 0)) is None
