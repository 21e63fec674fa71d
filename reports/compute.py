"""The report's figures: pure functions of the facts (reports.facts), the period and the profile's
calendar. Every table row keeps, under "cases", the case ids behind each of its counts (drill-down);
renderers show the numbers and link the ids."""

from __future__ import annotations

import functools
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from regulation.profiles import Profile
from reports.clock import WorkingClock
from reports.facts import CaseFacts, DroppedFacts, Facts

STEPS = (  # (key, label, from milestone, to milestone)
    ("routing", "Маршрутизация", "identified_at", "routed_at"),
    ("draft", "Подготовка проекта", "routed_at", "submitted_at"),
    ("approval", "Согласование", "submitted_at", "approved_at"),
    ("publishing", "Публикация", "approved_at", "published_at"),
)
NOT_OPEN = ("closed", "accepted")
TOP = 20

DEFINITIONS = {
    "received": "Случаи (обращения), выявленные в периоде: время создания случая в [начало, конец).",
    "answered_on_time": "Окончательный ответ опубликован не позднее срока ответа (deadlines.answer_by или "
                        "сокращённый срок); случаи без срока считаются отвеченными в срок.",
    "answered_late": "Окончательный ответ опубликован позже срока ответа.",
    "open_overdue": "Ответ не опубликован, случай не закрыт, срок ответа истёк к моменту «as_of» "
                    "(конец периода или момент формирования, что раньше).",
    "not_processed": "Закрыты без ответа (не по компетенции, повтор, оскорбления).",
    "median_hours/p90_hours": "Медиана и 90-й процентиль (по ближайшему рангу) времени от выявления до "
                              "публикации ответа в РАБОЧИХ часах по календарю профиля.",
    "steps": "Этапы: маршрутизация (выявление → направление исполнителю), проект (направление → "
             "последний проект на согласование), согласование (→ согласовано), публикация (→ опубликовано); "
             "рабочие часы по календарю профиля, только случаи, прошедшие оба момента.",
    "drafts_returned": "Проекты ответов, возвращённые на доработку (drafts.status = returned).",
    "quality_flags": "Замечания автоматической проверки качества ко всем проектам, по видам.",
    "intermediate": "Случаи с опубликованным промежуточным ответом или уточняющим вопросом.",
    "photos": "Случаи, ответ на которые опубликован с фотографиями.",
    "outcome": "Результат, как его сообщает площадка или исполнитель (record.outcome).",
    "ratings": "Оценки граждан из истории обратной связи (record.feedback_history).",
    "reworks": "Случаи, возвращённые гражданином или площадкой на доработку (record.reopened > 0).",
    "repeats": "Случаи, связанные с более ранним (record.repeat_of).",
    "dynamics": "Число случаев по дням и неделям (местная дата); изменение — к периоду той же длины "
                "непосредственно перед отчётным.",
    "top_topics": "Темы (или группы тем, где тема не определена) с наибольшим числом случаев периода, до 20.",
    "top_places": "Места (населённые пункты, улицы), названные в обращениях, по числу случаев, до 20; "
                  "место считается один раз на случай.",
    "top_messages": "Случаи периода с наибольшим откликом на исходное сообщение (отметки «нравится» и "
                    "комментарии, как их сообщает площадка при получении), до 20; при равенстве — по номеру случая.",
    "moderation": "Сообщения периода (по времени сообщения), отброшенные модерацией, по причинам; "
                  "«отменено» — решение модерации отменено куратором.",
}


def _stats(values: np.ndarray) -> tuple[float | None, float | None]:
    values = values[~np.isnan(values)]
    if not len(values):
        return None, None
    ordered = np.sort(values)
    p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
    return round(float(np.median(ordered)), 2), round(float(p90), 2)


class Coded:
    """A one-valued attribute of every case (its source, its topic group) as integer codes of the
    attribute's distinct values in sorted order."""

    def __init__(self, values: list[str]) -> None:
        self.labels = sorted(set(values))
        index = {name: i for i, name in enumerate(self.labels)}
        self.codes = np.array([index[v] for v in values], dtype=np.int64)

    @functools.cached_property
    def positions(self) -> dict[str, np.ndarray]:
        """The cases' positions per value, by name, in order (for the timeliness rows and the change)."""
        at = _split_arrays(self.codes, np.arange(len(self.codes), dtype=np.int64))
        return {self.labels[k]: idx for k, idx in at.items()}


MOMENTS = ("identified_at", "routed_at", "submitted_at", "approved_at", "published_at", "answer_by")


class Columns:
    """The cases' attributes as arrays and lists, made once in one pass over the cases (each section
    used to make its own: eight passes for the moments alone) and shared by every section."""

    def __init__(self, cases: list[CaseFacts]) -> None:
        # one 2-D array of every moment: numpy makes None NaN itself; one conversion, not eight
        moments = np.array([(c.identified_at, c.routed_at, c.submitted_at, c.approved_at, c.published_at,
                             c.answer_by) for c in cases], dtype=float).reshape(len(cases), len(MOMENTS))
        self.moments = {name: moments[:, j] for j, name in enumerate(MOMENTS)}
        self.ids = np.array([c.id for c in cases], dtype=np.int64)
        self.engagement = np.array([c.engagement for c in cases], dtype=np.int64)
        self.sources = Coded([c.source for c in cases])
        self.groups = Coded([c.topic_group or "—" for c in cases])
        self.states = np.array([c.state for c in cases], dtype=object)

    def span(self) -> tuple[float, float] | None:
        """The earliest and the latest lifecycle moment of any case (not the deadlines)."""
        known = np.concatenate([self.moments[m] for m in MOMENTS[:-1]])
        known = known[~np.isnan(known)]
        return (float(known.min()), float(known.max())) if len(known) else None


class Timeline:
    """The moments of every case as arrays (NaN where a step has not happened), and the working
    hours between them, computed once for all groupings."""

    def __init__(self, cols: Columns, clock: WorkingClock) -> None:
        moments = cols.moments
        self.ids = cols.ids
        self.published = moments["published_at"]
        self.answer_by = moments["answer_by"]
        # once, not per group: comparisons of string arrays are slow
        self.not_open = np.isin(cols.states, NOT_OPEN)
        self.closed = cols.states == "closed"
        # working seconds to each lifecycle moment once per moment, not once per end of each step
        at = {m: clock.cumulative(moments[m]) for m in MOMENTS[:-1]}
        self.hours = clock.hours_of(at["identified_at"], at["published_at"])
        self.steps = {key: clock.hours_of(at[a], at[b]) for key, _, a, b in STEPS}


def _ids(cases: Iterable[CaseFacts]) -> list[int]:
    return sorted([c.id for c in cases])  # a list comprehension: a generator is twice as slow here


def timeliness_row(name: str, idx: np.ndarray, tl: Timeline, as_of: float) -> dict[str, Any]:
    published, answer_by, not_open = tl.published[idx], tl.answer_by[idx], tl.not_open[idx]
    answered = ~np.isnan(published)
    no_term = np.isnan(answer_by)
    with np.errstate(invalid="ignore"):
        on_time = answered & (no_term | (published <= answer_by))
        late = answered & ~no_term & (published > answer_by)
        overdue = ~answered & ~not_open & ~no_term & (answer_by < as_of)
    not_processed = ~answered & tl.closed[idx]
    median, p90 = _stats(tl.hours[idx][answered])
    ids = tl.ids[idx]
    row: dict[str, Any] = {
        "name": name, "received": int(len(idx)), "answered_on_time": int(on_time.sum()),
        "answered_late": int(late.sum()), "open_overdue": int(overdue.sum()),
        "not_processed": int(not_processed.sum()), "median_hours": median, "p90_hours": p90,
    }
    for key, _label, _a, _b in STEPS:
        row[f"{key}_median_hours"], row[f"{key}_p90_hours"] = _stats(tl.steps[key][idx])
    row["cases"] = {"received": ids.tolist(), "answered_on_time": ids[on_time].tolist(),
                    "answered_late": ids[late].tolist(), "open_overdue": ids[overdue].tolist(),
                    "not_processed": ids[not_processed].tolist()}
    return row


TIMELINESS_COLUMNS = [
    ("name", "Разрез"), ("received", "Поступило"), ("answered_on_time", "Отвечено в срок"),
    ("answered_late", "Отвечено с нарушением срока"), ("open_overdue", "Не отвечено, срок истёк"),
    ("not_processed", "Не рассматривалось"), ("median_hours", "Медиана, раб. ч"), ("p90_hours", "90-й процентиль, раб. ч"),
    *[(f"{k}_{m}_hours", f"{label}: {'медиана' if m == 'median' else '90%'}, раб. ч")
      for k, label, _, _ in STEPS for m in ("median", "p90")],
]


def _positions(cases: list[CaseFacts], keys: Callable[[CaseFacts], Iterable[str]]) -> dict[str, np.ndarray]:
    out: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(cases):
        for k in keys(c):
            out[k].append(i)
    return {k: np.array(v, dtype=np.int64) for k, v in sorted(out.items())}


def _table(key: str, title: str, columns: list[tuple[str, str]], rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"key": key, "title": title, "columns": [list(c) for c in columns], "rows": rows}


def timeliness(cases: list[CaseFacts], cols: Columns, clock: WorkingClock, as_of: float) -> dict[str, Any]:
    tl = Timeline(cols, clock)

    def rows(groups: dict[str, np.ndarray]) -> list[dict[str, Any]]:
        return [timeliness_row(name, idx, tl, as_of) for name, idx in groups.items()]

    every = np.arange(len(cases), dtype=np.int64)
    return {"key": "timeliness", "title": "Своевременность", "tables": [
        _table("total", "Муниципалитет в целом", TIMELINESS_COLUMNS, [timeliness_row("Всего", every, tl, as_of)]),
        _table("by_department", "По подразделениям", TIMELINESS_COLUMNS,
               rows(_positions(cases, lambda c: c.departments or ["—"]))),
        _table("by_source", "По источникам", TIMELINESS_COLUMNS, rows(cols.sources.positions)),
        _table("by_topic_group", "По группам тем", TIMELINESS_COLUMNS, rows(cols.groups.positions)),
    ]}


def _count_rows(counter: dict[str, list[int]], label: str, limit: int | None = None) -> list[dict[str, Any]]:
    items = sorted(counter.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:limit]
    return [{"name": name, "count": len(ids), "cases": {"count": sorted(ids)}} for name, ids in items]


def quality(cases: list[CaseFacts]) -> dict[str, Any]:
    returned = [c for c in cases if c.drafts_returned]
    intermediate = [c for c in cases if c.intermediate_at]
    photos = [c for c in cases if c.photos]
    flags: dict[str, list[int]] = defaultdict(list)
    flag_count: Counter[str] = Counter()
    for c in cases:
        for code in c.quality_flags:
            flag_count[code] += 1
            if c.id not in flags[code][-1:]:
                flags[code].append(c.id)
    summary = [{"name": "Проектов возвращено на доработку", "value": sum(c.drafts_returned for c in cases),
                "cases": {"value": _ids(returned)}},
               {"name": "Случаев с возвратом проекта", "value": len(returned), "cases": {"value": _ids(returned)}},
               {"name": "Промежуточных ответов", "value": len(intermediate), "cases": {"value": _ids(intermediate)}},
               {"name": "Ответов с фотографиями", "value": len(photos), "cases": {"value": _ids(photos)}}]
    flag_rows = [{"name": code, "count": flag_count[code], "cases": {"count": sorted(ids)}}
                 for code, ids in sorted(flags.items(), key=lambda kv: (-flag_count[kv[0]], kv[0]))]
    return {"key": "quality", "title": "Качество", "tables": [
        _table("summary", "Показатели", [("name", "Показатель"), ("value", "Значение")], summary),
        _table("flags", "Замечания к проектам по видам", [("name", "Вид"), ("count", "Число")], flag_rows),
    ]}


def outcomes(cases: list[CaseFacts]) -> dict[str, Any]:
    by_outcome: dict[str, list[int]] = defaultdict(list)
    for c in cases:
        if c.outcome:
            by_outcome[c.outcome].append(c.id)
    rated = [c for c in cases if c.ratings]
    all_ratings = [r for c in rated for r in c.ratings]
    repeats = [c for c in cases if c.repeat_of is not None]
    rated_ids, reworked_ids, repeat_ids = _ids(rated), _ids(c for c in cases if c.reopened), _ids(repeats)
    summary = [
        {"name": "Оценок граждан", "value": len(all_ratings), "cases": {"value": rated_ids}},
        {"name": "Средняя оценка", "value": round(statistics.fmean(all_ratings), 2) if all_ratings else None,
         "cases": {"value": rated_ids}},
        {"name": "Возвращено на доработку гражданином/площадкой", "value": len(reworked_ids),
         "cases": {"value": reworked_ids}},
        {"name": "Повторных обращений", "value": len(repeats), "cases": {"value": repeat_ids}},
        {"name": "Доля повторных, %", "value": round(100 * len(repeats) / len(cases), 1) if cases else None,
         "cases": {"value": repeat_ids}},
    ]
    ratings: dict[str, list[int]] = defaultdict(list)
    for c in rated:
        for r in c.ratings:
            ratings[str(r)].append(c.id)
    repeated: dict[str, list[int]] = defaultdict(list)
    for c in repeats:
        repeated[c.topic or c.topic_group or "—"].append(c.id)
    return {"key": "outcomes", "title": "Результаты", "tables": [
        _table("by_outcome", "Результаты рассмотрения (как сообщает площадка)", [("name", "Результат"), ("count", "Число")],
               _count_rows(by_outcome, "outcome")),
        _table("summary", "Оценки, доработки, повторы", [("name", "Показатель"), ("value", "Значение")], summary),
        _table("ratings", "Распределение оценок", [("name", "Оценка"), ("count", "Число")],
               [{"name": k, "count": len(v), "cases": {"count": sorted(set(v))}} for k, v in sorted(ratings.items())]),
        _table("repeated_questions", "Вопросы, по которым обращаются повторно", [("name", "Тема"), ("count", "Повторов")],
               _count_rows(repeated, "topic", TOP)),
    ]}


def _split_arrays(keys: np.ndarray, ids: np.ndarray) -> dict[int, np.ndarray]:
    """`ids` grouped by the integer key at the same position, each group in the given order (stable sort)."""
    if not len(keys):
        return {}
    order = np.argsort(keys, kind="stable")
    ordered, grouped = keys[order], ids[order]
    cuts = [0, *(np.flatnonzero(ordered[1:] != ordered[:-1]) + 1).tolist(), len(ordered)]
    return {int(ordered[a]): grouped[a:b] for a, b in zip(cuts, cuts[1:], strict=False)}


def _split(keys: np.ndarray, ids: np.ndarray) -> dict[int, list[int]]:
    return {k: v.tolist() for k, v in _split_arrays(keys, ids).items()}


def _change(now: int, before: int) -> tuple[int, float | None]:
    return now - before, round(100 * (now - before) / before, 1) if before else None


def dynamics(cols: Columns, previous: list[CaseFacts], profile: Profile, start: date, days: int) -> dict[str, Any]:
    tz = profile.calendar.tz
    # local midnights of the period's days (and a day either side), as POSIX seconds
    dates = [start + timedelta(days=i) for i in range(-1, days + 2)]
    midnights = [datetime.combine(d, datetime.min.time(), tz).timestamp() for d in dates]
    # each case's day by one vectorised binary search, groups by stable sorts of integer keys: no
    # Python loop appending 100,000 ids to tuple-keyed lists
    ids = cols.ids
    pos = np.maximum(np.searchsorted(np.asarray(midnights), cols.moments["identified_at"], side="right") - 1, 0)
    per_day_ids = {dates[p]: v for p, v in _split(pos, ids).items()}
    per_day_group: dict[tuple[date, str, str], list[int]] = {}
    for kind, coded in (("Группа тем", cols.groups), ("Источник", cols.sources)):
        labels = coded.labels
        keys = pos * len(labels) + coded.codes
        for key, group_ids in _split(keys, ids).items():
            per_day_group[(dates[key // len(labels)], kind, labels[key % len(labels)])] = group_ids
    day_rows = [{"date": d, "count": len(per_day_ids.get(d, [])), "cases": {"count": sorted(per_day_ids.get(d, []))}}
                for d in (start + timedelta(days=i) for i in range(days))]
    weeks: dict[date, list[int]] = defaultdict(list)
    for d, day_ids in per_day_ids.items():
        weeks[d - timedelta(days=d.weekday())].extend(day_ids)
    week_rows = [{"week": w, "count": len(w_ids), "cases": {"count": sorted(w_ids)}} for w, w_ids in sorted(weeks.items())]
    detail = [{"date": d, "kind": kind, "name": name, "count": len(g_ids), "cases": {"count": sorted(g_ids)}}
              for (d, kind, name), g_ids in sorted(per_day_group.items())]
    changes = []
    none = np.zeros(0, dtype=np.int64)
    for kind, coded, key in (("Группа тем", cols.groups, lambda c: c.topic_group or "—"),
                             ("Источник", cols.sources, lambda c: c.source)):
        now_at = coded.positions
        before = Counter(key(c) for c in previous)
        for name in sorted(set(now_at) | set(before)):
            idx = now_at.get(name, none)
            delta, pct = _change(len(idx), before[name])
            changes.append({"kind": kind, "name": name, "count": len(idx), "previous": before[name], "change": delta,
                            "change_pct": pct, "cases": {"count": ids[idx].tolist()}})  # ids are in order
    delta, pct = _change(len(ids), len(previous))
    changes.insert(0, {"kind": "Всего", "name": "Всего", "count": len(ids), "previous": len(previous),
                       "change": delta, "change_pct": pct, "cases": {"count": ids.tolist()}})
    return {"key": "dynamics", "title": "Динамика", "chart": "per_day", "tables": [
        _table("change", "Изменение к предыдущему периоду", [("kind", "Разрез"), ("name", "Значение"), ("count", "Сейчас"),
               ("previous", "Предыдущий период"), ("change", "Изменение"), ("change_pct", "Изменение, %")], changes),
        _table("per_day", "По дням", [("date", "Дата"), ("count", "Случаев")], day_rows),
        _table("per_week", "По неделям", [("week", "Неделя с"), ("count", "Случаев")], week_rows),
        _table("per_day_detail", "По дням, группам тем и источникам",
               [("date", "Дата"), ("kind", "Разрез"), ("name", "Значение"), ("count", "Случаев")], detail),
    ]}


def top(cases: list[CaseFacts], cols: Columns) -> dict[str, Any]:
    topics: dict[str, list[int]] = defaultdict(list)
    places: dict[str, list[int]] = defaultdict(list)
    for c in cases:
        topics[c.topic or c.topic_group or "—"].append(c.id)
        if c.places:  # each place once per case; most cases name one or none
            for p in c.places if len(c.places) == 1 else dict.fromkeys(c.places):
                places[p].append(c.id)
    # the most engaged, ties by id: one numpy sort instead of a key tuple per case
    order = np.lexsort((cols.ids, -cols.engagement))[:TOP]
    engaged = [cases[i] for i in order.tolist()]
    messages = [{"case": c.id, "engagement": c.engagement, "source": c.source, "topic": c.topic or c.topic_group,
                 "state": c.state, "outcome": c.outcome, "cases": {"case": [c.id]}} for c in engaged]
    return {"key": "top", "title": "Лидеры", "tables": [
        _table("topics", "Темы с наибольшим числом обращений", [("name", "Тема"), ("count", "Случаев")],
               _count_rows(topics, "topic", TOP)),
        _table("places", "Места с наибольшим числом обращений", [("name", "Место"), ("count", "Случаев")],
               _count_rows(places, "place", TOP)),
        _table("messages", "Обращения с наибольшим откликом", [("case", "Случай"), ("engagement", "Отклик"),
               ("source", "Источник"), ("topic", "Тема"), ("state", "Состояние"), ("outcome", "Результат")], messages),
    ]}


def moderation(dropped: list[DroppedFacts]) -> dict[str, Any]:
    reasons: dict[str, list[int]] = defaultdict(list)
    for d in dropped:
        if not d.overruled:
            for r in d.reasons or ["—"]:
                reasons[r].append(d.message_id)
    overruled = [d.message_id for d in dropped if d.overruled]
    still = [d.message_id for d in dropped if not d.overruled]
    rows = [{"name": name, "count": len(ids), "messages": {"count": sorted(ids)}}
            for name, ids in sorted(reasons.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
    summary = [{"name": "Отброшено", "value": len(still), "messages": {"value": sorted(still)}},
               {"name": "Решение отменено куратором", "value": len(overruled), "messages": {"value": sorted(overruled)}}]
    return {"key": "moderation", "title": "Модерация", "tables": [
        _table("summary", "Итоги", [("name", "Показатель"), ("value", "Значение")], summary),
        _table("by_reason", "Отброшено по причинам", [("name", "Причина"), ("count", "Сообщений")], rows),
    ]}


def build(facts: Facts, *, profile: Profile, start: datetime, end: datetime, generated_at: datetime,
          department: str | None = None, source: str | None = None, scope: str = "municipality") -> dict[str, Any]:
    """The whole report. `start`/`end` are aware instants (local midnights of the period's dates)."""
    tz = profile.calendar.tz
    as_of = min(end, generated_at)
    cases = sorted(facts.cases, key=lambda c: c.id)
    cols = Columns(cases)
    span = cols.span()
    lo = datetime.fromtimestamp(span[0], tz) if span else start
    hi = datetime.fromtimestamp(span[1], tz) if span else end
    clock = WorkingClock(profile.calendar, min(lo, start), max(hi, end))
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    days = (local_end.date() - local_start.date()).days
    sections = [timeliness(cases, cols, clock, as_of.timestamp()), quality(cases), outcomes(cases),
                dynamics(cols, facts.previous, profile, local_start.date(), days), top(cases, cols)]
    if facts.dropped is not None:
        sections.append(moderation(facts.dropped))
    return {
        "meta": {
            "title": "Отчёт о работе с обращениями граждан",
            "municipality": profile.municipality, "profile": profile.name, "document": profile.document,
            "timezone": str(tz), "from": local_start.date(), "to": (local_end - timedelta(days=1)).date(),
            "period_start": local_start, "period_end": local_end, "as_of": as_of.astimezone(tz),
            "generated_at": generated_at.astimezone(tz), "department": department, "source": source,
            "scope": scope, "cases": len(facts.cases), "definitions": DEFINITIONS,
        },
        "sections": sections,
    }


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The few figures for dashboards (/api/stats) and the notification's text."""
    total = report["sections"][0]["tables"][0]["rows"][0]
    return {k: total[k] for k in ("received", "answered_on_time", "answered_late", "open_overdue",
                                  "not_processed", "median_hours", "p90_hours")}
