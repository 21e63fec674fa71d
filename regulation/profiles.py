"""Municipal profiles: one YAML file per municipality (regulation/profiles/*.yaml), every
duration with the clause it comes from, validated with line-precise errors."""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from otklik.datafile import load_model
from otklik.exceptions import ConfigError
from regulation.calendar import WorkCalendar

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
CHANNELS = ("social", "im", "pos", "kamchatka", "kuzbass_online", "governor")
ROLES = ("curator", "executor", "approver", "head", "admin")


class Duration(BaseModel):
    """`value` `unit` of `basis` time, from `clause`."""

    value: float = Field(gt=0)
    unit: Literal["minutes", "hours", "days"]
    basis: Literal["working", "calendar"] = "working"
    clause: str = Field(min_length=3)

    def add(self, cal: WorkCalendar, start: datetime) -> datetime:
        if self.unit == "days":
            if self.basis == "working":
                return cal.add_working_days(start, int(self.value))
            return cal.add_calendar_days(start, int(self.value))
        delta = timedelta(minutes=self.value) if self.unit == "minutes" else timedelta(hours=self.value)
        return cal.add_working(start, delta) if self.basis == "working" else start + delta

    def subtract(self, cal: WorkCalendar, end: datetime) -> datetime:
        if self.unit == "days":
            if self.basis == "working":
                d = end.astimezone(cal.tz).date()
                n = 0
                while n < int(self.value):
                    d -= timedelta(days=1)
                    n += cal.is_working_day(d)
                return datetime.combine(d, end.astimezone(cal.tz).timetz().replace(tzinfo=None), cal.tz)
            return end - timedelta(days=self.value)
        delta = timedelta(minutes=self.value) if self.unit == "minutes" else timedelta(hours=self.value)
        return cal.subtract_working(end, delta) if self.basis == "working" else end - delta


class Fraction(BaseModel):
    """A share of another term (ПОС co-executors: half of the main deadline, 003 app. 1 §14.2)."""

    of: Literal["answer"] = "answer"
    share: float = Field(gt=0, lt=1)
    clause: str


class ChannelRules(BaseModel):
    route: Duration | None = None  # curator routes after identification
    take_into_work: Duration | None = None  # Kuzbass Online: take into work
    first_response: Duration | None = None  # IM: first answer stating the deadline
    return_: Duration | None = Field(None, alias="return")  # executor returns if not competent
    answer: Duration | None = None  # answer published, from identification
    answer_high: Duration | None = None
    answer_fast_track: Duration | None = None
    answer_by_category: dict[str, Duration] = Field(default_factory=dict)  # ПОС: federal/regional/other
    same_day_cutoff: time | None = None  # governor's networks: the same day before 18:00
    draft_before: Duration | None = None  # draft to the approver before the answer deadline
    draft_before_high: Duration | None = None
    approval: Duration | None = None
    revision: Duration | None = None
    revision_high: Duration | None = None
    publish_after_approval: Duration | None = None
    final_after_intermediate: Duration | None = None
    coexecutor_input: Duration | Fraction | None = None
    coexecutor_input_high: Duration | None = None
    joint_draft: Duration | None = None
    joint_draft_high: Duration | None = None
    feedback_silence: Duration | None = None  # silence after the answer = accepted
    extension_max: Duration | None = None  # Kamchatka: extension up to 8 calendar days
    repeat_decision: Duration | None = None  # Kamchatka: is it a repeat? within 1 working day
    approver_role: str | None = None  # overrides the profile's
    outcomes: list[str] = Field(default_factory=list)
    head_may_shorten: bool = False
    clauses_note: str | None = None

    model_config = {"populate_by_name": True}


class Schedule(BaseModel):
    weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    intervals: list[tuple[time, time]] = Field(
        default_factory=lambda: [(time(9), time(13)), (time(14), time(18))])
    overrides: dict[date, list[tuple[time, time]]] = Field(default_factory=dict)
    production_calendar: bool = True
    shorten_pre_holiday: bool = True

    @field_validator("intervals")
    @classmethod
    def _ordered(cls, v: list[tuple[time, time]]) -> list[tuple[time, time]]:
        for a, b in v:
            if b <= a:
                raise ValueError(f"interval {a}–{b} ends before it starts")
        return sorted(v)


class Profile(BaseModel):
    name: str
    document: str
    municipality: str
    timezone: str
    schedule: Schedule = Field(default_factory=Schedule)
    approver_role: str = "curator"
    networks: list[str] = Field(default_factory=list)
    near_due_share: float = Field(0.2, gt=0, lt=1)  # warn when this share of a step's time is left
    channels: dict[str, ChannelRules]

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, v: dict[str, ChannelRules]) -> dict[str, ChannelRules]:
        unknown = set(v) - set(CHANNELS)
        if unknown:
            raise ValueError(f"unknown channel(s) {sorted(unknown)}; known: {', '.join(CHANNELS)}")
        return v

    @model_validator(mode="after")
    def _roles(self) -> Profile:
        if self.approver_role not in ROLES:
            raise ValueError(f"approver_role must be one of {ROLES}")
        try:
            self.calendar  # noqa: B018 - validates the time zone
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f"bad timezone {self.timezone!r}: {exc}") from None
        return self

    @functools.cached_property
    def calendar(self) -> WorkCalendar:
        week = {d: list(self.schedule.intervals) for d in self.schedule.weekdays}
        return WorkCalendar(self.timezone, week, overrides=self.schedule.overrides,
                            production_calendar=self.schedule.production_calendar,
                            shorten_pre_holiday=self.schedule.shorten_pre_holiday)

    def channel(self, name: str) -> ChannelRules:
        try:
            return self.channels[name]
        except KeyError:
            raise ConfigError(f"profile {self.name} has no channel {name!r}; it has: "
                              f"{', '.join(self.channels)}") from None

    def approver_for(self, channel: str) -> str:
        rules = self.channels.get(channel)
        return (rules.approver_role if rules and rules.approver_role else None) or self.approver_role


def list_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


@functools.cache
def load_profile(name_or_path: str | None = None) -> Profile:
    name_or_path = name_or_path or "severny"
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILES_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise ConfigError(f"unknown profile {name_or_path!r}; known: {', '.join(list_profiles())}")
    return load_model(path, Profile)
