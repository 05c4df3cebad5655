"""Maintenance windows: the 2019 schedule of the maintenance seed comes out of its rules."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from kt2ops.windows import CalendarError, MaintenanceCalendar, to_ics

AMS = ZoneInfo("Europe/Amsterdam")
DAYTIME = {"from": "09:00", "to": "17:00"}
# The seed's remark "behalve 29-04-2019" and ACC on 8 May (not 1 May): the May holiday week is closed.
MAY_WEEK = [{"from": "2019-04-29", "to": "2019-05-03", "reason": "meivakantie"}]
ACC = {"windows": [{"every": "month", "weekday": "wednesday", "nth": 1, **DAYTIME}], "closed": MAY_WEEK}
TST = {"windows": [{"every": "week", "weekday": "monday", **DAYTIME}, *ACC["windows"]], "closed": MAY_WEEK}
PRD = {"windows": [{"every": "month", "weekday": "wednesday", "nth": 3, "from": "18:00", "to": "23:00"}]}

# The table of the seed, "Gepland onderhoud test, acceptatie en productie 2019".
SEED_ACC = ["02-01", "06-02", "06-03", "03-04", "08-05", "05-06", "03-07", "07-08", "04-09", "02-10", "06-11",
            "04-12"]
SEED_PRD = ["16-01", "20-02", "20-03", "17-04", "15-05", "19-06", "17-07", "21-08", "18-09", "16-10", "20-11",
            "18-12"]


def _dates(calendar, year=2019):
    return [f"{w.start:%d-%m}" for w in calendar.windows(year)]


def _seed_tst():
    """Every Monday, Easter and Whit Monday moved to Tuesday, not 29 April; plus the ACC dates."""
    day, mondays = date(2019, 1, 7), []
    while day.year == 2019:
        shifted = {date(2019, 4, 22): date(2019, 4, 23), date(2019, 6, 10): date(2019, 6, 11)}.get(day, day)
        if day != date(2019, 4, 29):
            mondays.append(shifted)
        day = date.fromordinal(day.toordinal() + 7)
    acc = [date(2019, int(d[3:]), int(d[:2])) for d in SEED_ACC]
    return [f"{d:%d-%m}" for d in sorted(mondays + acc)]


def test_2019_acceptance_dates_of_the_seed():
    assert _dates(MaintenanceCalendar("acc", ACC, production=False)) == SEED_ACC


def test_2019_production_dates_of_the_seed_after_six():
    windows = MaintenanceCalendar("prd", PRD, production=True).windows(2019)
    assert [f"{w.start:%d-%m}" for w in windows] == SEED_PRD
    assert all(w.start.hour >= 18 for w in windows)


def test_2019_test_dates_of_the_seed_with_easter_and_whit_monday_on_tuesday():
    calendar = MaintenanceCalendar("tst", TST, production=False)
    assert _dates(calendar) == _seed_tst()
    moved = {f"{w.start:%d-%m}": w for w in calendar.windows(2019) if w.moved_from}
    assert "Easter" in moved["23-04"].why_moved and "Pentecost" in moved["11-06"].why_moved
    assert "24-04" not in _dates(calendar) and "22-04" not in _dates(calendar)


def test_production_window_before_six_is_refused_naming_the_field():
    early = {"windows": [{"every": "month", "weekday": "wednesday", "nth": 3, "from": "17:00", "to": "23:00"}]}
    with pytest.raises(CalendarError, match=r"prd2.yml: kt2_maintenance\.windows\.0\.from: 17:00"):
        MaintenanceCalendar("prd2", early, production=True, source="prd2.yml")


@pytest.mark.parametrize(("spec", "field"), [
    ({"windows": [{"every": "fortnight", "weekday": "monday", **DAYTIME}]}, "windows.0.every"),
    ({"windows": [{"every": "month", "weekday": "monday", **DAYTIME}]}, "windows.0"),
    ({"windows": [{"every": "week", "weekday": "monday", "from": "25:00", "to": "26:00"}]}, "windows.0.from"),
    ({}, "kt2_maintenance"),
])
def test_bad_rules_name_the_field(spec, field):
    with pytest.raises(CalendarError, match=field):
        MaintenanceCalendar("x", spec, production=False)


def test_window_at_and_next_window():
    calendar = MaintenanceCalendar("prd", PRD, production=True)
    assert calendar.window_at(datetime(2019, 4, 17, 18, 30, tzinfo=AMS)) is not None
    assert calendar.window_at(datetime(2019, 4, 17, 17, 59, tzinfo=AMS)) is None
    assert calendar.window_at(datetime(2019, 4, 18, 18, 30, tzinfo=AMS)) is None
    assert calendar.next_window(datetime(2019, 12, 19, tzinfo=AMS)).start == datetime(2020, 1, 15, 18, 0, tzinfo=AMS)


def test_ics_has_one_event_per_window():
    calendar = MaintenanceCalendar("prd2", PRD, production=True)
    parsed = Calendar.from_ical(to_ics(calendar.windows(2027)))
    events = list(parsed.walk("VEVENT"))
    assert len(events) == 12
    assert events[0]["DTSTART"].dt == datetime(2027, 1, 20, 18, 0, tzinfo=AMS)
