"""A regulated duration: a number, its unit, whether it counts working or calendar time, and the
clause it comes from. Profiles are made of these."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from regulation.calendar import Until, WorkCalendar


class Duration(BaseModel):
    """`value` `unit` of `basis` time, from `clause`.

    Minutes and hours counted in working time skip nights, weekends, holidays and breaks. Days:
    working days end when the N-th working day's work ends, calendar days at 24:00 of the N-th
    day (`until: end_of_day`, the Civil Code way of counting "N days from the day of …"), or
    after exactly N×24 h / at the same clock time (`until: same_time`, "from the moment")."""

    value: float = Field(gt=0)
    unit: Literal["minutes", "hours", "days"]
    basis: Literal["working", "calendar"] = "working"
    until: Until = "end_of_day"
    clause: str = Field(min_length=3)
    note: str = ""  # why it is read this way, when the document leaves room

    model_config = {"extra": "forbid"}

    @model_validator(mode="after")
    def _whole_days(self) -> Duration:
        if self.unit == "days" and self.value != int(self.value):
            raise ValueError("a term in days must be a whole number of days")
        return self

    def delta(self) -> timedelta:
        """The length as a plain timedelta (for minutes and hours; days are 24 h each)."""
        if self.unit == "minutes":
            return timedelta(minutes=self.value)
        if self.unit == "hours":
            return timedelta(hours=self.value)
        return timedelta(days=self.value)

    def add(self, cal: WorkCalendar, start: datetime) -> datetime:
        if self.unit == "days":
            if self.basis == "working":
                return cal.add_working_days(start, int(self.value), until=self.until)
            return cal.add_calendar_days(start, int(self.value), until=self.until)
        if self.basis == "working":
            return cal.add_working(start, self.delta())
        return cal.local(start) + self.delta()

    def subtract(self, cal: WorkCalendar, end: datetime) -> datetime:
        if self.unit == "days":
            if self.basis == "working":
                return cal.subtract_working_days(end, int(self.value))
            return cal.subtract_calendar_days(end, int(self.value))
        if self.basis == "working":
            return cal.subtract_working(end, self.delta())
        return cal.local(end) - self.delta()

    def scaled(self, factor: float) -> Duration:
        """The same duration times `factor` (for a term shortened by the curator or the head:
        the draft is due proportionally earlier). Days become hours of the same basis."""
        if self.unit == "days":
            hours = self.value * (8 if self.basis == "working" else 24)
            return self.model_copy(update={"value": max(hours * factor, 1 / 60), "unit": "hours"})
        return self.model_copy(update={"value": max(self.value * factor, 1 / 60)})

    def describe(self) -> str:
        value = f"{self.value:g}"
        kind = "working " if self.basis == "working" else "calendar " if self.unit == "days" else ""
        return f"{value} {kind}{self.unit} ({self.clause})"


class Fraction(BaseModel):
    """A share of the main answer term (ПОС co-executors: half of it, 003 прил. 1 §14.2)."""

    share: float = Field(gt=0, lt=1)
    of: Literal["answer"] = "answer"
    clause: str = Field(min_length=3)
    note: str = ""

    model_config = {"extra": "forbid"}

    def describe(self) -> str:
        return f"{self.share:g} of the answer term ({self.clause})"
