"""Quiet hours (pure): a note due inside them waits for their end, in the municipality's zone;
a span across midnight is the usual case."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from otklik.exceptions import InvalidTransition
from otklik.notify.prefs import Prefs, parse_hhmm, quiet_until, validate
from otklik.notify.texts import local_time

KAMCHATKA = ZoneInfo("Asia/Kamchatka")
NIGHT = Prefs(quiet_start="22:00", quiet_end="07:00")
LUNCH = Prefs(quiet_start="13:00", quiet_end="14:00")


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 12, day, hh, mm, tzinfo=KAMCHATKA)


@pytest.mark.parametrize(("prefs", "when", "until"), [
    (NIGHT, at(7, 23, 30), at(8, 7)),  # late evening: the next morning
    (NIGHT, at(8, 3), at(8, 7)),  # after midnight: this morning
    (NIGHT, at(8, 7), None),  # the end is outside
    (NIGHT, at(8, 21, 59), None),
    (NIGHT, at(8, 22), at(9, 7)),  # the start is inside
    (LUNCH, at(8, 13, 30), at(8, 14)),
    (LUNCH, at(8, 12), None),
    (Prefs(), at(8, 3), None),  # no quiet hours
    (Prefs(quiet_start="10:00", quiet_end="10:00"), at(8, 10), None),  # an empty span
])
def test_quiet_hours(prefs, when, until):
    assert quiet_until(when, prefs, KAMCHATKA) == until


def test_quiet_hours_are_read_in_the_municipalitys_zone():
    utc_evening = datetime(2026, 12, 7, 12, 0, tzinfo=ZoneInfo("UTC"))  # 00:00 on the 8th in Kamchatka
    assert quiet_until(utc_evening, NIGHT, KAMCHATKA) == at(8, 7)
    assert local_time(utc_evening, KAMCHATKA) == "08.12.2026 00:00 UTC+12"
    assert local_time(utc_evening, ZoneInfo("Europe/Moscow")) == "07.12.2026 15:00 MSK"


def test_the_console_is_always_delivered_and_bad_values_are_refused_in_russian():
    assert Prefs(channels=("telegram",)).delivery == ("telegram", "console")
    assert Prefs(channels=()).delivery == ("console",)
    for bad in (lambda: parse_hhmm("24:00", "время"), lambda: validate(["fax"], None, None, None),
                lambda: validate(None, "22:00", None, None), lambda: validate(None, None, None, "8:30")):
        with pytest.raises(InvalidTransition, match="[а-я]"):
            bad()
