"""Municipal profiles: one YAML file per municipality (regulation/profiles/*.yaml) holding its
time zone, working schedule, approver and, per channel, every regulated term with the clause it
comes from. Validated with line-precise errors by otklik.datafile.load_model."""

from __future__ import annotations

import functools
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, PrivateAttr, field_validator, model_validator

from otklik.datafile import load_model
from otklik.exceptions import ConfigError
from regulation.calendar import WorkCalendar, always_on
from regulation.durations import Duration, Fraction

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
CHANNELS = ("social", "im", "pos", "kamchatka", "kuzbass_online", "governor")
Role = Literal["curator", "executor", "approver", "head", "system"]
FeedbackKind = Literal[
    "confirm", "rate", "comment", "negative_comment", "dispute", "rework", "silence", "closed",
    "reopened", "accepted",  # the platform itself reopened or accepted it, saying no finer kind
]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock(value: Any) -> Any:
    # "24:00" closes a day that is worked until midnight; it is stored as 00:00.
    return "00:00" if value in ("24:00", "24:00:00") else value


ClockTime = Annotated[time, BeforeValidator(_clock)]
Interval = tuple[ClockTime, ClockTime]


def _check_intervals(spans: list[tuple[time, time]]) -> list[tuple[time, time]]:
    spans = sorted(spans)
    for a, b in spans:
        if b != time(0) and b <= a:
            raise ValueError(f"interval {a:%H:%M}–{b:%H:%M} ends before it starts")
    for (_, b1), (a2, _) in zip(spans, spans[1:], strict=False):
        if b1 == time(0) or a2 < b1:
            raise ValueError("working intervals overlap")
    return spans


class Schedule(BaseModel):
    """The weekly working schedule. `weekdays` × `intervals` is the usual case; `week` gives a
    weekday its own intervals; `overrides` replace a date's intervals ([] = a day off)."""

    weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    intervals: list[Interval] = Field(default_factory=lambda: [(time(9), time(13)), (time(14), time(18))])
    week: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], list[Interval]] | None = None
    overrides: dict[date, list[Interval]] = Field(default_factory=dict)
    production_calendar: bool = True  # holidays, moved days off and working Saturdays of the RF
    shorten_pre_holiday: bool = True  # Labour Code art. 95
    clause: str = ""
    note: str = ""

    model_config = {"extra": "forbid"}

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, v: list[int]) -> list[int]:
        if any(d not in range(7) for d in v):
            raise ValueError("weekdays are 0 (Monday) … 6 (Sunday)")
        return sorted(set(v))

    @field_validator("intervals")
    @classmethod
    def _intervals(cls, v: list[tuple[time, time]]) -> list[tuple[time, time]]:
        return _check_intervals(v)

    @field_validator("week", "overrides")
    @classmethod
    def _per_day(cls, v: dict | None) -> dict | None:
        return None if v is None else {k: _check_intervals(spans) for k, spans in v.items()}

    def week_map(self) -> dict[int, list[tuple[time, time]]]:
        if self.week is not None:
            return {WEEKDAYS.index(k): list(v) for k, v in self.week.items()}
        return {d: list(self.intervals) for d in self.weekdays}

    def build(self, tz: str) -> WorkCalendar:
        return WorkCalendar(
            tz,
            self.week_map(),
            overrides=self.overrides,
            production_calendar=self.production_calendar,
            shorten_pre_holiday=self.shorten_pre_holiday,
        )


class Clause(BaseModel):
    """A regulated rule without a number: where it comes from and how we read it."""

    clause: str = Field(min_length=3)
    note: str = ""

    model_config = {"extra": "forbid"}


class Roles(Clause):
    roles: list[Role] = Field(min_length=1)


class Cutoff(Clause):
    at: ClockTime


class Outcomes(Clause):
    values: list[str] = Field(min_length=1)
    required: bool = False


class Feedback(Clause):
    """What the citizen can do after the answer, and what each reaction means."""

    silence: Duration | None = None  # no reaction for this long: the answer is accepted
    reopen_on: list[FeedbackKind] = Field(default_factory=lambda: ["dispute", "rework"])
    accept_on: list[FeedbackKind] = Field(default_factory=lambda: ["confirm", "silence", "closed"])


class Coexecutors(Clause):
    """Several executors on one message: each co-executor's input term, and the joint draft."""

    input: Duration | Fraction
    input_high: Duration | None = None
    joint_draft: Duration | None = None  # the responsible one's joint draft after the last input
    joint_draft_high: Duration | None = None
    order: Literal["parallel", "sequential"] = (
        "parallel"  # sequential: each starts when the previous delivered
    )
    responsible: Literal["first", "last", "curator"] = "first"  # who writes the joint answer
    ordered_by: Role = "curator"  # who names the responsible executor and the order


class Escalation(BaseModel):
    near_due_share: float = Field(0.25, gt=0, lt=1)  # warn when this share of a step's working time is left
    near_due_lead: Duration | None = None  # or a fixed lead before every deadline, if given
    note: str = ""

    model_config = {"extra": "forbid"}


class Report(Clause):
    name: str
    every: Literal["day", "week", "month", "quarter"]
    due_day: int | None = Field(None, ge=1, le=31)  # "by the 5th" of the following period
    to: Role = "head"


class Staff(BaseModel):
    substitutes: Clause | None = None  # every executor has a substitute for absences
    dismissal_notice: Duration | None = None  # the curator learns of a dismissed executor within …

    model_config = {"extra": "forbid"}


class ChannelRules(BaseModel):
    """Every term of one channel. A missing term means the document sets none for this channel."""

    description: str = ""
    networks: list[str] = Field(default_factory=list)
    schedule: Schedule | None = None  # this channel's own working time (the governor's: every day)
    route: Duration | None = None  # the curator routes, from identification
    take_into_work: Duration | None = None  # take into work (Кузбасс Онлайн)
    first_response: Duration | None = None  # a first answer stating the deadline (Incident Management)
    return_: Duration | None = Field(None, alias="return")  # "not our competence" goes back
    returner: Literal["executor", "curator"] = "executor"  # who may return it, and to whom
    answer: Duration | None = None  # the answer published, from identification
    answer_high: Duration | None = None
    answer_fast_track: Duration | None = None
    answer_fast_track_min: Duration | None = None  # the shortest fast-track term one may set
    answer_by_category: dict[str, Duration] = Field(default_factory=dict)  # ПОС: by category
    answer_set_by_platform: Clause | None = None  # the platform gives each message its deadline
    same_day_cutoff: Cutoff | None = None
    may_shorten: Roles | None = None  # who may set a shorter answer term for one message
    draft_before: Duration | None = None  # the draft reaches the approver this long before the answer term
    draft_before_high: Duration | None = None
    approval: Duration | None = None
    approval_high: Duration | None = None
    revision: Duration | None = None
    revision_high: Duration | None = None
    publish_after_approval: Duration | None = None
    publisher: Roles | None = None  # who posts the approved answer (otklik posts it for them)
    final_after_intermediate: Duration | None = None
    final_after_intermediate_high: Duration | None = None
    final_high_agreed: Clause | None = None  # high importance: the final term is agreed per message
    final_is: Literal["draft", "answer"] = "answer"  # what the final term binds: the final draft or the post
    coexecutors: Coexecutors | None = None
    feedback: Feedback | None = None
    extension_max: Duration | None = None
    extension_decided_by: Roles | None = None
    repeat_decision: Duration | None = None  # the executor decides whether it is a repeat
    approver_role: Role | None = None  # overrides the profile's
    approver_clause: str = ""
    also_sends_back: Roles | None = None  # besides the approver, who may return a draft for revision
    outcomes: Outcomes | None = None
    photos_required: Clause | None = None
    must_contact_author: Clause | None = None
    overdue_report_to_head: Clause | None = None  # missed deadlines are reported to the head
    urgent_any_time: Clause | None = None  # high importance is demanded at any hour of any day

    model_config = {"populate_by_name": True, "extra": "forbid"}

    @model_validator(mode="after")
    def _consistent(self) -> ChannelRules:
        if self.answer_high and not self.answer:
            raise ValueError("answer_high needs answer")
        if self.extension_max and not self.extension_decided_by:
            raise ValueError("extension_max needs extension_decided_by (who grants it)")
        return self


class Profile(BaseModel):
    name: str
    document: str
    municipality: str
    timezone: str
    schedule: Schedule = Field(default_factory=Schedule)
    approver_role: Role = "curator"
    approver_clause: str = ""
    networks: list[str] = Field(default_factory=list)
    escalation: Escalation = Field(default_factory=Escalation)
    immediate_report: Clause | None = None  # socially significant messages and spikes → the head
    reports: list[Report] = Field(default_factory=list)
    staff: Staff = Field(default_factory=Staff)
    channels: dict[str, ChannelRules]

    model_config = {"extra": "forbid"}
    _calendars: dict[tuple[str, bool], WorkCalendar] = PrivateAttr(default_factory=dict)

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, v: dict[str, ChannelRules]) -> dict[str, ChannelRules]:
        unknown = set(v) - set(CHANNELS)
        if unknown:
            raise ValueError(f"unknown channel(s) {sorted(unknown)}; known: {', '.join(CHANNELS)}")
        if not v:
            raise ValueError("a profile needs at least one channel")
        return v

    @model_validator(mode="after")
    def _timezone(self) -> Profile:
        try:
            self.calendar  # noqa: B018 - builds the calendar, which validates the time zone
        except Exception as exc:  # noqa: BLE001 - any failure here is a bad time zone
            raise ValueError(f"bad timezone {self.timezone!r}: {exc}") from None
        return self

    @functools.cached_property
    def calendar(self) -> WorkCalendar:
        """The municipality's working time (channels may have their own: `calendar_for`)."""
        return self.schedule.build(self.timezone)

    def calendar_for(self, channel: str, importance: str = "normal") -> WorkCalendar:
        rules = self.channel(channel)
        urgent = importance == "high" and rules.urgent_any_time is not None
        key = (channel, urgent)
        if key not in self._calendars:
            if urgent:
                self._calendars[key] = always_on(self.timezone)
            elif rules.schedule is not None:
                self._calendars[key] = rules.schedule.build(self.timezone)
            else:
                self._calendars[key] = self.calendar
        return self._calendars[key]

    def channel(self, name: str) -> ChannelRules:
        try:
            return self.channels[name]
        except KeyError:
            raise ConfigError(
                f"profile {self.name} has no channel {name!r}; it has: {', '.join(self.channels)}"
            ) from None

    def approver_for(self, channel: str) -> str:
        rules = self.channels.get(channel)
        return (rules.approver_role if rules and rules.approver_role else None) or self.approver_role


def list_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


@functools.cache
def load_profile(name_or_path: str | None = None) -> Profile:
    """A profile by name (sobolevo, zarechny, moskalensky, severny, tashtagol) or a YAML path."""
    name_or_path = name_or_path or "severny"
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = PROFILES_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise ConfigError(f"unknown profile {name_or_path!r}; known: {', '.join(list_profiles())}")
    return load_model(path, Profile)
