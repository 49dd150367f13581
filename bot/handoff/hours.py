"""The hours in which people answer the chat, from ``opening_hours`` in ``knowledge/utility.yml``.

::

    opening_hours:
      timezone: Europe/Berlin
      weekly:
        mon: ["08:00", "18:00"]              # from (inclusive), to (exclusive), local time
        sat: ["09:00", "13:00"]
        wed: [["08:00", "12:00"], ["13:00", "18:00"]]   # a break: several periods
        # a day that is missing (or null or []) is closed
      public_holidays:                       # closed on the state's public holidays
        country: DE                          # ISO 3166-1 code
        subdivision: SN                      # ISO 3166-2 state code: Saxony (Buß- und Bettag)
      special_days:                          # other hours on single days; [] or null: closed
        - {date: "12-24", name: Heiligabend, hours: []}             # every year
        - {date: "2026-12-31", name: Silvester, hours: ["09:00", "12:00"]}   # once

Which day has which hours: a special day with a full date, then one given as "MM-DD", then a
public holiday (closed), then the weekday. Public holidays come from the maintained
``holidays`` library (PyPI), which knows each German state's holidays (Saxony: Reformationstag,
Buß- und Bettag) and movable feasts, with German names.

Times are wall-clock times in ``timezone``, so 8 o'clock stays 8 o'clock across the change to and
from summer time. ``"24:00"`` may end a day. Every check takes an aware ``datetime`` (the web
app's clock is injectable) and converts it to the configured zone with ``zoneinfo``; zoneinfo
needs a time-zone database, from the operating system or the ``tzdata`` package.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any, Final

import holidays

from bot.knowledge.errors import KnowledgeError, Problem

WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# German abbreviations (DIN 5008 style) and names, index 0 = Monday as in datetime.weekday().
WEEKDAY_ABBREVIATIONS: Final = ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So")
WEEKDAY_NAMES: Final = (
    "Montag",
    "Dienstag",
    "Mittwoch",
    "Donnerstag",
    "Freitag",
    "Samstag",
    "Sonntag",
)
MINUTES_PER_DAY: Final = 24 * 60
_TIME = re.compile(r"([01][0-9]|2[0-4]):([0-5][0-9])")
_SPECIAL_DATE = re.compile(r"(?:([0-9]{4})-)?([0-9]{2})-([0-9]{2})")
# How far next_opening looks ahead: a year and a week covers any run of closed special days.
_LOOKAHEAD_DAYS: Final = 373


class OpeningHoursError(KnowledgeError):
    """``opening_hours`` is missing or invalid; every problem names its field."""


@dataclass(frozen=True)
class Period:
    """One opening period of a day, in minutes after local midnight; ``end`` is exclusive."""

    start: int
    end: int

    def contains(self, minute: int) -> bool:
        """Return whether the local minute of the day lies in the period."""
        return self.start <= minute < self.end


@dataclass(frozen=True)
class SpecialDay:
    """A day with other hours than its weekday: ``periods`` empty means closed.

    Attributes:
        name: what the day is called in German texts ("Heiligabend").
        periods: the day's opening periods.
    """

    name: str
    periods: tuple[Period, ...]


def _load_zone(name: Any, field: str, problems: list[Problem]) -> zoneinfo.ZoneInfo | None:
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem.setting(field, "must name a time zone such as 'Europe/Berlin'"))
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        available = zoneinfo.available_timezones()
        if available:
            problems.append(Problem.setting(field, f"unknown time zone {name!r}"))
        else:
            problems.append(
                Problem.setting(
                    field,
                    f"time zone {name!r} cannot be loaded because this machine has no "
                    "time-zone database; install the 'tzdata' package (pip install tzdata) or the "
                    "operating system's tzdata",
                )
            )
        return None


def _minute(value: Any, field: str, problems: list[Problem]) -> int | None:
    match = _TIME.fullmatch(value) if isinstance(value, str) else None
    minute = int(match[1]) * 60 + int(match[2]) if match else None
    if minute is None or minute > MINUTES_PER_DAY:
        # YAML 1.1 reads an unquoted 18:00 as the number 1080 (base 60); say so.
        hint = ' (write times in quotes: "18:00")' if isinstance(value, int) else ""
        problems.append(
            Problem.setting(
                field, f'expected a time "HH:MM" between 00:00 and 24:00, got {value!r}{hint}'
            )
        )
        return None
    return minute


def _periods(value: Any, field: str, problems: list[Problem]) -> tuple[Period, ...]:
    if value is None or value == []:
        return ()
    if not isinstance(value, list):
        problems.append(
            Problem.setting(field, f'expected ["HH:MM", "HH:MM"] or a list of them, got {value!r}')
        )
        return ()
    pairs: list[Any] = value if all(isinstance(v, list) for v in value) else [value]
    periods: list[Period] = []
    for i, pair in enumerate(pairs):
        where = field if len(pairs) == 1 else f"{field}[{i}]"
        if not isinstance(pair, list) or len(pair) != 2:
            problems.append(
                Problem.setting(where, f'expected ["HH:MM", "HH:MM"] (from, to), got {pair!r}')
            )
            continue
        start = _minute(pair[0], where, problems)
        end = _minute(pair[1], where, problems)
        if start is None or end is None:
            continue
        if start >= end:
            problems.append(
                Problem.setting(
                    where, f"opening time {pair[0]} must be before closing time {pair[1]}"
                )
            )
            continue
        if periods and start < periods[-1].end:
            problems.append(Problem.setting(where, "periods must be in order and must not overlap"))
            continue
        periods.append(Period(start, end))
    return tuple(periods)


def _public_holidays(spec: Any, problems: list[Problem]) -> holidays.HolidayBase | None:
    where = "opening_hours.public_holidays"
    if spec is None:
        return None
    if not isinstance(spec, Mapping):
        problems.append(
            Problem.setting(where, "expected a mapping with 'country' and 'subdivision'")
        )
        return None
    for key in spec:
        if key not in ("country", "subdivision"):
            problems.append(
                Problem.setting(f"{where}.{key}", "unknown, use 'country' and 'subdivision'")
            )
    country, subdivision = spec.get("country"), spec.get("subdivision")
    supported = holidays.list_supported_countries()
    if not isinstance(country, str) or country not in supported:
        problems.append(
            Problem.setting(
                f"{where}.country", f"expected an ISO 3166-1 code such as 'DE', got {country!r}"
            )
        )
        return None
    if subdivision is not None and subdivision not in supported[country]:
        problems.append(
            Problem.setting(
                f"{where}.subdivision",
                f"{subdivision!r} is not a subdivision of {country}; "
                f"use one of {', '.join(supported[country])}",
            )
        )
        return None
    try:
        return holidays.country_holidays(country, subdiv=subdivision, language="de")
    except NotImplementedError:  # a country without German names
        return holidays.country_holidays(country, subdiv=subdivision)


def _special_days(
    spec: Any, problems: list[Problem]
) -> tuple[dict[date, SpecialDay], dict[tuple[int, int], SpecialDay]]:
    dated: dict[date, SpecialDay] = {}
    yearly: dict[tuple[int, int], SpecialDay] = {}
    if spec is None:
        return dated, yearly
    if not isinstance(spec, list):
        problems.append(
            Problem.setting(
                "opening_hours.special_days",
                'expected a list of {date: "MM-DD" or "YYYY-MM-DD", name: ..., hours: [...]}',
            )
        )
        return dated, yearly
    for i, item in enumerate(spec):
        where = f"opening_hours.special_days[{i}]"
        if not isinstance(item, Mapping):
            problems.append(Problem.setting(where, "expected a mapping with date, name and hours"))
            continue
        for key in item:
            if key not in ("date", "name", "hours"):
                problems.append(
                    Problem.setting(f"{where}.{key}", "unknown, use date, name and hours")
                )
        raw_date, name = item.get("date"), item.get("name")
        match = _SPECIAL_DATE.fullmatch(raw_date) if isinstance(raw_date, str) else None
        day: date | None = None
        if match:
            try:
                # 2000 is a leap year: "02-29" is a valid yearly day.
                day = date(int(match[1] or 2000), int(match[2]), int(match[3]))
            except ValueError:
                day = None
        if day is None or match is None:
            # YAML reads an unquoted 2026-12-31 as a date: say how to write it.
            hint = " (write it in quotes)" if isinstance(raw_date, date) else ""
            problems.append(
                Problem.setting(
                    f"{where}.date",
                    f'expected "MM-DD" (every year) or "YYYY-MM-DD" '
                    f"(once), got {raw_date!r}{hint}",
                )
            )
            continue
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem.setting(f"{where}.name", "the day's name, e.g. Heiligabend"))
            continue
        if "hours" not in item:
            problems.append(Problem.setting(f"{where}.hours", "missing; [] or null means closed"))
            continue
        special = SpecialDay(name.strip(), _periods(item.get("hours"), f"{where}.hours", problems))
        if match[1]:
            if day in dated:
                problems.append(Problem.setting(f"{where}.date", f"{raw_date} is listed twice"))
            dated[day] = special
        else:
            if (day.month, day.day) in yearly:
                problems.append(Problem.setting(f"{where}.date", f"{raw_date} is listed twice"))
            yearly[(day.month, day.day)] = special
    return dated, yearly


def _clock(minute: int) -> str:
    """Format a minute of the day for German texts: 480 -> "8", 510 -> "8:30", 1440 -> "24"."""
    hours, minutes = divmod(minute, 60)
    return f"{hours}" if minutes == 0 else f"{hours}:{minutes:02d}"


def _periods_text(periods: Sequence[Period]) -> str:
    return ", ".join(f"{_clock(p.start)}–{_clock(p.end)}" for p in periods) + " Uhr"


def _days_text(days: Sequence[int]) -> str:
    """Name the days: "Mo–Fr" for a run of three or more days, "Sa, So" for two, "Mi" for one."""
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{WEEKDAY_ABBREVIATIONS[run[0]]}–{WEEKDAY_ABBREVIATIONS[run[-1]]}")
        else:
            parts.extend(WEEKDAY_ABBREVIATIONS[d] for d in run)
    return ", ".join(parts)


@dataclass(frozen=True)
class OpeningHours:
    """Weekly opening hours in one time zone.

    Attributes:
        zone: the time zone the hours are given in.
        weekly: seven tuples of periods, Monday first; an empty tuple is a closed day.
        public_holidays: the holidays of the utility's state (closed), None for none.
        special_dates: days with other hours, by full date.
        special_yearly: days with other hours every year, by (month, day).
    """

    zone: zoneinfo.ZoneInfo
    weekly: tuple[tuple[Period, ...], ...]
    public_holidays: holidays.HolidayBase | None = field(default=None, compare=False)
    special_dates: Mapping[date, SpecialDay] = field(default_factory=dict)
    special_yearly: Mapping[tuple[int, int], SpecialDay] = field(default_factory=dict)

    @classmethod
    def from_utility(
        cls, utility: Mapping[str, Any], *, source: str = "knowledge/utility.yml"
    ) -> OpeningHours:
        """Read ``opening_hours`` of the utility profile.

        Args:
            utility: the mapping of ``knowledge/utility.yml``.
            source: the file name used in error messages.

        Returns:
            The validated opening hours.

        Raises:
            OpeningHoursError: listing every problem, each naming its field.
        """
        problems: list[Problem] = []
        spec = utility.get("opening_hours")
        zone: zoneinfo.ZoneInfo | None = None
        days: list[tuple[Period, ...]] = []
        calendar: holidays.HolidayBase | None = None
        dated: dict[date, SpecialDay] = {}
        yearly: dict[tuple[int, int], SpecialDay] = {}
        if not isinstance(spec, Mapping):
            problems.append(
                Problem.setting(
                    "opening_hours", "missing or not a mapping with 'timezone' and 'weekly'"
                )
            )
        else:
            zone = _load_zone(spec.get("timezone"), "opening_hours.timezone", problems)
            weekly = spec.get("weekly")
            if not isinstance(weekly, Mapping):
                problems.append(
                    Problem.setting("opening_hours.weekly", "missing or not a mapping of days")
                )
            else:
                for key in weekly:
                    if key not in WEEKDAYS:
                        problems.append(
                            Problem.setting(
                                f"opening_hours.weekly.{key}",
                                f"unknown day, use {', '.join(WEEKDAYS)}",
                            )
                        )
                days = [
                    _periods(weekly.get(day), f"opening_hours.weekly.{day}", problems)
                    for day in WEEKDAYS
                ]
            for key in spec:
                if key not in ("timezone", "weekly", "public_holidays", "special_days"):
                    problems.append(
                        Problem.setting(
                            f"opening_hours.{key}",
                            "unknown, use timezone, weekly, public_holidays and special_days",
                        )
                    )
            calendar = _public_holidays(spec.get("public_holidays"), problems)
            dated, yearly = _special_days(spec.get("special_days"), problems)
        if problems or zone is None:
            raise OpeningHoursError([replace(p, file=source) for p in problems])
        return cls(
            zone=zone,
            weekly=tuple(days),
            public_holidays=calendar,
            special_dates=dated,
            special_yearly=yearly,
        )

    def special_day(self, day: date) -> SpecialDay | None:
        """The special day or public holiday on ``day`` (a local date), None for a usual day.

        A public holiday is returned as a closed special day with the holiday's German name.
        """
        found = self.special_dates.get(day) or self.special_yearly.get((day.month, day.day))
        if found is not None:
            return found
        if self.public_holidays is not None:
            name = self.public_holidays.get(day)
            if name:
                return SpecialDay(str(name), ())
        return None

    def periods_on(self, day: date) -> tuple[Period, ...]:
        """The opening periods of a local date (special days and holidays included)."""
        special = self.special_day(day)
        return special.periods if special is not None else self.weekly[day.weekday()]

    def _local(self, now: datetime) -> datetime:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be a timezone-aware datetime")
        return now.astimezone(self.zone)

    def is_open(self, now: datetime) -> bool:
        """Return whether people answer the chat at ``now``.

        Args:
            now: an aware datetime in any time zone.

        Raises:
            ValueError: if ``now`` is naive.
        """
        local = self._local(now)
        minute = local.hour * 60 + local.minute
        return any(p.contains(minute) for p in self.periods_on(local.date()))

    def next_opening(self, now: datetime) -> datetime | None:
        """Return the first moment at or after ``now`` when the chat is staffed.

        Args:
            now: an aware datetime in any time zone.

        Returns:
            ``now`` itself (in the configured zone) while open, else the start of the next
            period (holidays and special days skipped); None if no day of the next year has
            opening hours. An opening time that does not
            exist on the day clocks go forward (02:30) is taken one hour later, as the clock
            shows it.

        Raises:
            ValueError: if ``now`` is naive.
        """
        local = self._local(now)
        if self.is_open(local):
            return local
        minute = local.hour * 60 + local.minute
        if not any(self.weekly) and not self.special_dates and not self.special_yearly:
            return None
        # Today's later periods, then the following days; a year ahead covers any run of
        # holidays and closed special days.
        for offset in range(_LOOKAHEAD_DAYS):
            day = local.date() + timedelta(days=offset)
            for period in self.periods_on(day):
                if offset == 0 and period.start <= minute:
                    continue
                start = datetime(day.year, day.month, day.day, tzinfo=self.zone) + timedelta(
                    minutes=period.start
                )
                # Wall-clock arithmetic above; the round trip through UTC resolves a wall time
                # the clock skips (DST start) to the time the clock then shows.
                return start.astimezone(timezone.utc).astimezone(self.zone)
        return None

    def describe(self) -> str:
        """Return the hours as German text, e.g. ``"Mo–Fr 8–18 Uhr, Sa 9–13 Uhr"``.

        Days with equal hours are grouped; ``"geschlossen"`` if no day has hours.
        """
        groups: list[tuple[tuple[Period, ...], list[int]]] = []
        for day, periods in enumerate(self.weekly):
            if not periods:
                continue
            for known, days in groups:
                if known == periods:
                    days.append(day)
                    break
            else:
                groups.append((periods, [day]))
        if not groups:
            return "geschlossen"
        return ", ".join(f"{_days_text(days)} {_periods_text(p)}" for p, days in groups)

    def describe_day(self, now: datetime) -> str:
        """Return the hours as German text, naming today's holiday or special day.

        ``"Mo–Fr 8–18 Uhr, Sa 9–13 Uhr"`` on a usual day; on a closed holiday or special day
        ``"heute geschlossen, Erster Weihnachtstag; sonst Mo–Fr 8–18 Uhr, Sa 9–13 Uhr"``; on
        a special day with its own hours ``"heute, Silvester, 9–12 Uhr; sonst …"``.

        Raises:
            ValueError: if ``now`` is naive.
        """
        usual = self.describe()
        special = self.special_day(self._local(now).date())
        if special is None:
            return usual
        if not special.periods:
            return f"heute geschlossen, {special.name}; sonst {usual}"
        return f"heute, {special.name}, {_periods_text(special.periods)}; sonst {usual}"

    def describe_next_opening(self, now: datetime) -> str | None:
        """Return when the chat is staffed next, as German text.

        Args:
            now: an aware datetime in any time zone.

        Returns:
            ``"jetzt"`` while open, ``"heute ab 13 Uhr"``, ``"morgen ab 8 Uhr"``,
            ``"am Montag ab 8 Uhr"``, ``"am Montag, 3.4., ab 8 Uhr"`` a week ahead, or None if
            there are no opening hours.

        Raises:
            ValueError: if ``now`` is naive.
        """
        local = self._local(now)
        opening = self.next_opening(local)
        if opening is None:
            return None
        if opening == local:
            return "jetzt"
        at = f"ab {_clock(opening.hour * 60 + opening.minute)} Uhr"
        days = (opening.date() - local.date()).days
        if days == 0:
            return f"heute {at}"
        if days == 1:
            return f"morgen {at}"
        name = WEEKDAY_NAMES[opening.weekday()]
        if days >= 7:  # the same weekday as today: the date avoids "am Montag" meaning today
            return f"am {name}, {opening.day}.{opening.month}., {at}"
        return f"am {name} {at}"
