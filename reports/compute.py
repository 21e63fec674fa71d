"""The report's figures: pure functions of the facts (reports.facts), the period and the profile's
calendar. Every table row keeps, under "cases", the case ids behind each of its counts (drill-down);
renderers show the numbers and link the ids."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from operator import attrgetter
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


class Timeline:
    """The moments of every case as arrays (NaN where a step has not happened), and the working
    hours between them, computed once for all groupings."""

    def __init__(self, cases: list[CaseFacts], clock: WorkingClock) -> None:
        def arr(attr: str) -> np.ndarray:
            get = attrgetter(attr)
            return np.array([get(c) for c in cases], dtype=float)  # numpy makes None NaN itself

        self.ids = np.array([c.id for c in cases], dtype=np.int64)
        self.published = arr("published_at")
        self.answer_by = arr("answer_by")
        self.state = np.array([c.state for c in cases], dtype=object)
        self.not_open = np.isin(self.state, NOT_OPEN)  # once, not per group: isin on strings is slow
        self.hours = clock.hours_between(arr("identified_at"), self.published)
        moments = {m: arr(m) for m in ("identified_at", "routed_at", "submitted_at", "approved_at", "published_at")}
        self.steps = {key: clock.hours_between(moments[a], moments[b]) for key, _, a, b in STEPS}


def _ids(cases: Iterable[CaseFacts]) -> list[int]:
    return sorted([c.id for c in cases])  # a list comprehension: a generator is twice as slow here


def timeliness_row(name: str, idx: np.ndarray, tl: Timeline, as_of: float) -> dict[str, Any]:
    published, answer_by, state, not_open = tl.published[idx], tl.answer_by[idx], tl.state[idx], tl.not_open[idx]
    answered = ~np.isnan(published)
    no_term = np.isnan(answer_by)
    with np.errstate(invalid="ignore"):
        on_time = answered & (no_term | (published <= answer_by))
        late = answered & ~no_term & (published > answer_by)
        overdue = ~answered & ~not_open & ~no_term & (answer_by < as_of)
    not_processed = ~answered & (state == "closed")
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


def _grouped(cases: list[CaseFacts], key: Callable[[CaseFacts], str | None]) -> dict[str, list[CaseFacts]]:
    out: dict[str, list[CaseFacts]] = defaultdict(list)
    for c in cases:
        out[key(c) or "—"].append(c)
    return dict(sorted(out.items()))


def _positions(cases: list[CaseFacts], keys: Callable[[CaseFacts], Iterable[str]]) -> dict[str, np.ndarray]:
    out: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(cases):
        for k in keys(c):
            out[k].append(i)
    return {k: np.array(v, dtype=np.int64) for k, v in sorted(out.items())}


def _table(key: str, title: str, columns: list[tuple[str, str]], rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"key": key, "title": title, "columns": [list(c) for c in columns], "rows": rows}


def timeliness(cases: list[CaseFacts], clock: WorkingClock, as_of: float) -> dict[str, Any]:
    tl = Timeline(cases, clock)

    def rows(groups: dict[str, np.ndarray]) -> list[dict[str, Any]]:
        return [timeliness_row(name, idx, tl, as_of) for name, idx in groups.items()]

    every = np.arange(len(cases), dtype=np.int64)
    return {"key": "timeliness", "title": "Своевременность", "tables": [
        _table("total", "Муниципалитет в целом", TIMELINESS_COLUMNS, [timeliness_row("Всего", every, tl, as_of)]),
        _table("by_department", "По подразделениям", TIMELINESS_COLUMNS,
               rows(_positions(cases, lambda c: c.departments or ["—"]))),
        _table("by_source", "По источникам", TIMELINESS_COLUMNS, rows(_positions_by([c.source for c in cases]))),
        _table("by_topic_group", "По группам тем", TIMELINESS_COLUMNS,
               rows(_positions_by([c.topic_group or "—" for c in cases]))),
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
    all_ratings = [r for c in cases for r in c.ratings]
    reworked = [c for c in cases if c.reopened]
    repeats = [c for c in cases if c.repeat_of is not None]
    summary = [
        {"name": "Оценок граждан", "value": len(all_ratings), "cases": {"value": _ids(rated)}},
        {"name": "Средняя оценка", "value": round(statistics.fmean(all_ratings), 2) if all_ratings else None,
         "cases": {"value": _ids(rated)}},
        {"name": "Возвращено на доработку гражданином/площадкой", "value": len(reworked), "cases": {"value": _ids(reworked)}},
        {"name": "Повторных обращений", "value": len(repeats), "cases": {"value": _ids(repeats)}},
        {"name": "Доля повторных, %", "value": round(100 * len(repeats) / len(cases), 1) if cases else None,
         "cases": {"value": _ids(repeats)}},
    ]
    ratings: dict[str, list[int]] = defaultdict(list)
    for c in cases:
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


def _positions_by(values: list[str]) -> dict[str, np.ndarray]:
    """Positions of the cases per value of a one-valued attribute, by name (as _positions, without a list per case)."""
    labels = sorted(set(values))
    code = {name: i for i, name in enumerate(labels)}
    keys = np.array([code[v] for v in values], dtype=np.int64)
    return {labels[k]: idx for k, idx in _split_arrays(keys, np.arange(len(values), dtype=np.int64)).items()}


def _change(now: int, before: int) -> tuple[int, float | None]:
    return now - before, round(100 * (now - before) / before, 1) if before else None


def dynamics(cases: list[CaseFacts], previous: list[CaseFacts], profile: Profile, start: date,
             days: int) -> dict[str, Any]:
    tz = profile.calendar.tz
    # local midnights of the period's days (and a day either side), as POSIX seconds
    dates = [start + timedelta(days=i) for i in range(-1, days + 2)]
    midnights = [datetime.combine(d, datetime.min.time(), tz).timestamp() for d in dates]
    # each case's day by one vectorised binary search, groups by stable sorts of integer keys: no
    # Python loop appending 100,000 ids to tuple-keyed lists
    ids = np.array([c.id for c in cases], dtype=np.int64)
    pos = np.maximum(np.searchsorted(np.asarray(midnights), np.array([c.identified_at for c in cases], dtype=float),
                                     side="right") - 1, 0)
    per_day_ids = {dates[p]: v for p, v in _split(pos, ids).items()}
    per_day_group: dict[tuple[date, str, str], list[int]] = {}
    for kind, names in (("Группа тем", [c.topic_group or "—" for c in cases]), ("Источник", [c.source for c in cases])):
        labels = sorted(set(names))
        code = {name: i for i, name in enumerate(labels)}
        keys = pos * len(labels) + np.array([code[n] for n in names], dtype=np.int64)
        for key, group_ids in _split(keys, ids).items():
            per_day_group[(dates[key // len(labels)], kind, labels[key % len(labels)])] = group_ids
    day_rows = [{"date": d, "count": len(per_day_ids.get(d, [])), "cases": {"count": sorted(per_day_ids.get(d, []))}}
                for d in (start + timedelta(days=i) for i in range(days))]
    weeks: dict[date, list[int]] = defaultdict(list)
    for d, ids in per_day_ids.items():
        weeks[d - timedelta(days=d.weekday())].extend(ids)
    week_rows = [{"week": w, "count": len(ids), "cases": {"count": sorted(ids)}} for w, ids in sorted(weeks.items())]
    detail = [{"date": d, "kind": kind, "name": name, "count": len(ids), "cases": {"count": sorted(ids)}}
              for (d, kind, name), ids in sorted(per_day_group.items())]
    changes = []
    for kind, key in (("Группа тем", lambda c: c.topic_group or "—"), ("Источник", lambda c: c.source)):
        now_ids = _grouped(cases, key)
        before = Counter(key(c) for c in previous)
        for name in sorted(set(now_ids) | set(before)):
            n = len(now_ids.get(name, []))
            delta, pct = _change(n, before[name])
            changes.append({"kind": kind, "name": name, "count": n, "previous": before[name], "change": delta,
                            "change_pct": pct, "cases": {"count": _ids(now_ids.get(name, []))}})
    delta, pct = _change(len(cases), len(previous))
    changes.insert(0, {"kind": "Всего", "name": "Всего", "count": len(cases), "previous": len(previous),
                       "change": delta, "change_pct": pct, "cases": {"count": _ids(cases)}})
    return {"key": "dynamics", "title": "Динамика", "chart": "per_day", "tables": [
        _table("change", "Изменение к предыдущему периоду", [("kind", "Разрез"), ("name", "Значение"), ("count", "Сейчас"),
               ("previous", "Предыдущий период"), ("change", "Изменение"), ("change_pct", "Изменение, %")], changes),
        _table("per_day", "По дням", [("date", "Дата"), ("count", "Случаев")], day_rows),
        _table("per_week", "По неделям", [("week", "Неделя с"), ("count", "Случаев")], week_rows),
        _table("per_day_detail", "По дням, группам тем и источникам",
               [("date", "Дата"), ("kind", "Разрез"), ("name", "Значение"), ("count", "Случаев")], detail),
    ]}


def top(cases: list[CaseFacts]) -> dict[str, Any]:
    topics: dict[str, list[int]] = defaultdict(list)
    places: dict[str, list[int]] = defaultdict(list)
    for c in cases:
        topics[c.topic or c.topic_group or "—"].append(c.id)
        for p in dict.fromkeys(c.places):
            places[p].append(c.id)
    # the most engaged, ties by id: one numpy sort instead of a key tuple per case
    order = np.lexsort((np.array([c.id for c in cases], dtype=np.int64),
                        -np.array([c.engagement for c in cases], dtype=np.int64)))[:TOP]
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
    moments = [t for c in cases for t in (c.identified_at, c.routed_at, c.submitted_at, c.approved_at,
                                          c.published_at) if t is not None]
    lo = datetime.fromtimestamp(min(moments), tz) if moments else start
    hi = datetime.fromtimestamp(max(moments), tz) if moments else end
    clock = WorkingClock(profile.calendar, min(lo, start), max(hi, end))
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    days = (local_end.date() - local_start.date()).days
    sections = [timeliness(cases, clock, as_of.timestamp()), quality(cases), outcomes(cases),
                dynamics(cases, facts.previous, profile, local_start.date(), days), top(cases)]
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
