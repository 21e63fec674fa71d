"""A forecast of the number of incoming messages per day (regulation 004 §14.8).

A Poisson GLM (statsmodels) on daily counts, with regressors that carry what the production
calendar knows:

- the day of the week, where a non-working holiday or a day off moved by decree counts as a
  Sunday and a Saturday made working counts as the weekday it stands in for (so a holiday is
  learnt from ~50 Sundays a year instead of from the handful of holidays in the history);
- the New Year holidays (1–8 January) and the eve of a holiday, only when the history holds
  enough of such days to estimate them (else the Sunday mapping alone carries them);
- a level: recent weeks weigh more (exponential weights with a half-life), and a local linear
  trend over the same weighted window, so the level is estimated AT the forecast origin (a weighted
  mean alone estimates the level of a few weeks back: on a growing series it lags, the four-week
  baseline lags less and wins). The trend corrects the level at the origin and is not extrapolated
  beyond it (the forecast holds that level). Days the calendar marks (holidays, their eves, the
  New Year) take the weighted level without the trend: the level at the origin before the New Year
  is December's rush (on the real dev series it cost the New Year window 0.70 -> 0.85 x baseline).

On ordinary days the mean is blended with one of the two baselines (the four-week same-weekday mean,
or the same weekday a week earlier), the baseline and its weight chosen per forecast by
rolling-origin validation on the history before the origin (choose_blend): the forecast can be the
model, either baseline exactly, or a blend. On holidays, their eves, the New Year and worked
weekends the model alone speaks (the baselines do not know the calendar).

The 80% interval: a negative binomial around the mean, whose dispersion compounds (1) the day's
noise, estimated from the weighted Pearson residuals (messages arrive in bursts: over-dispersed),
(2) the point forecast's own uncertainty: the fitted level's (the GLM's covariance with the
quasi-Poisson scale) for the model's share, and for a baseline's share the noise of the one or four
days it averages, and (3) for
a kind of day the history never showed (a first New Year), a stated prior: its level is known only
within a factor of two at 80%. Settings were chosen on synthetic series with known structure
(bench/forecast_backtest.py --grid), never on the real series reported as a test. A linear trend
term was tried earlier and left out: it extrapolated the December level into the New Year holidays.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from otklik.exceptions import OtklikError
from regulation.production import ProductionCalendar, is_art_112_holiday

MIN_HISTORY_DAYS = 21  # three of each weekday: less cannot give a weekday profile
MIN_SPECIAL_DAYS = 3  # a New Year / pre-holiday regressor needs at least this many days in the history
# Chosen on the synthetic series only (bench/forecast_backtest.py --grid: most targets met, then the
# lowest mean ratio to the better baseline), series that move by the week as real ones do.
HALFLIFE_DAYS = 28.0
LEVEL_AT_ORIGIN = True  # the trend term above (bench/forecast_backtest.py --no-trend: without it)
LEVEL = 0.8  # the interval holds 80% of the days
# On an ordinary day (and ordinary reference days) the model's mean is blended with the four-week
# same-weekday mean: the two err differently (the model smooths over weekdays and weeks, the baseline
# follows the last month). The weight, like the half-life, was chosen on the synthetic series only
# (`bench/forecast_backtest.py --grid`: most targets met); the real series was run once afterwards.
BASELINE_WEIGHT = 0.5
# Unless the caller fixes it, the weight is chosen per forecast among WEIGHTS by rolling-origin
# validation on the history itself (only days before the forecast's origin): from each of the last
# VALIDATION_ORIGINS weekly origins, two weeks forecast from the days before it, the model's and the
# baseline's errors on the ordinary days that followed; the weight with the least error wins (ties:
# the nearest to BASELINE_WEIGHT). A series whose level jumps by the week leans on the baseline, a
# steady one on the model. Chosen on the synthetic series (`bench/forecast_backtest.py --weight`).
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
# Ten origins rather than six: a less noisy choice. Synthetic series, 12 seeds, 108 windows other than
# the New Year (bench/forecast_backtest.py --blend 12): 6 origins met 66-67 targets, 8 met 68, 10 met 70.
VALIDATION_ORIGINS = 10
VALIDATION_DAYS = 14
# The same validation also weighs blends with the same weekday a week earlier (weight 1: that
# baseline exactly). It averages one day instead of four, so it is noisier: it is taken only when
# its validation error is below (1 - LAST_WEEK_MARGIN) x the best four-week candidate's, a stated
# bias toward the steadier baseline (bench/forecast_backtest.py --blend compares margins on the
# synthetic series only).
LAST_WEEK_MARGIN = 0.05
# A further bias, toward the four-week mean itself (kept unless the winner beats it by this share),
# was tried and left at 0: on the synthetic series (bench --blend 12, 108 non-New-Year windows) 0.03
# met 71 targets against 70 but with a higher mean ratio (0.950 against 0.949), 0.05 met 71 at 0.959.
FOUR_WEEK_MARGIN = 0.0
# A holiday kind the history never showed (the first New Year in a short history) is modelled as a
# Sunday; how quiet it really is is known only within a factor of two either way at 80%:
# log-normal sd = ln 2 / z(0.9). A stated prior, not fitted to any series.
UNSEEN_LOG_SD = math.log(2) / 1.2816
MAX_LOG_VAR = 4.0


class ForecastError(OtklikError):
    """The history cannot give a forecast (too short, unreadable); a sentence for the user."""


@dataclass(frozen=True)
class Blend:
    """An ordinary day's forecast: (1 - weight) x the model + weight x the baseline's value."""
    baseline: str  # "four_weeks" or "last_week"
    weight: float


@dataclass(frozen=True)
class DayForecast:
    date: date
    expected: float
    low: float
    high: float

    def as_dict(self) -> dict:
        return {"date": self.date.isoformat(), "expected": round(self.expected, 2),
                "low": float(self.low), "high": float(self.high)}


_CAL = ProductionCalendar()


def effective_weekday(d: date, cal: ProductionCalendar = _CAL) -> int:
    """The weekday a day behaves like: a holiday or a moved day off is a Sunday, a Saturday made
    working is the weekday it replaced (Friday when the decree does not say)."""
    if cal.is_holiday_or_day_off(d):
        return 6
    if cal.is_weekend_workday(d):
        stands_for = cal.replaced_weekday(d)
        return stands_for.weekday() if stands_for else 4
    return d.weekday()


def is_new_year(d: date) -> bool:
    return d.month == 1 and d.day <= 8


def is_pre_holiday(d: date, cal: ProductionCalendar = _CAL) -> bool:
    """The working day before a non-working day that is not an ordinary weekend."""
    nxt = d + timedelta(days=1)
    return effective_weekday(d, cal) < 5 and (cal.is_holiday_or_day_off(nxt) or is_art_112_holiday(nxt))


def _design(days: list[date], specials: tuple[str, ...]) -> np.ndarray:
    rows = []
    for d in days:
        wd = effective_weekday(d)
        row = [1.0] + [1.0 if wd == k else 0.0 for k in range(1, 7)]  # Monday is the baseline
        if "new_year" in specials:
            row.append(1.0 if is_new_year(d) else 0.0)
        if "pre_holiday" in specials:
            row.append(1.0 if is_pre_holiday(d) else 0.0)
        rows.append(row)
    return np.asarray(rows)


def daily_counts(days: Iterable[date]) -> dict[date, int]:
    """Counts per day from one date per message; the days between with no message count zero."""
    counts: dict[date, int] = {}
    for d in days:
        counts[d] = counts.get(d, 0) + 1
    if not counts:
        return {}
    d, last = min(counts), max(counts)
    while d <= last:
        counts.setdefault(d, 0)
        d += timedelta(days=1)
    return dict(sorted(counts.items()))


def is_ordinary(d: date, cal: ProductionCalendar = _CAL) -> bool:
    """A day the calendar says nothing special about: its own weekday, no holiday, no eve of one."""
    return (effective_weekday(d, cal) == d.weekday() and not cal.is_holiday_or_day_off(d)
            and not is_new_year(d) and not is_pre_holiday(d, cal))


def _kind(d: date) -> str | None:
    """What kind of unusual day `d` is, for knowing whether the history has shown one."""
    if is_new_year(d):
        return "new_year"
    if _CAL.is_holiday_or_day_off(d) and d.weekday() < 5:
        return "holiday"
    if _CAL.is_weekend_workday(d):
        return "worked_weekend"
    return None


def forecast(counts: Mapping[date, int], start: date, horizon: int, *,
             halflife: float | None = HALFLIFE_DAYS, level: float = LEVEL,
             baseline_weight: float | None = None, at_origin: bool = LEVEL_AT_ORIGIN,
             blend: Blend | None = None) -> list[DayForecast]:
    """`horizon` days from `start`, from daily counts (every day between the first and the last
    present, zeros included: daily_counts() gives that). `baseline_weight`: a fixed weight of the
    four-week baseline; `blend`: a fixed blend; neither: chosen from the history (choose_blend)."""
    if horizon < 1:
        raise ForecastError("horizon must be at least one day")
    days = sorted(counts)
    if len(days) < MIN_HISTORY_DAYS:
        raise ForecastError(f"history covers {len(days)} day(s); at least {MIN_HISTORY_DAYS} are needed")
    y = np.asarray([counts[d] for d in days], dtype=float)
    future = [start + timedelta(days=i) for i in range(horizon)]
    if y.sum() == 0:
        return [DayForecast(d, 0.0, 0.0, 0.0) for d in future]
    specials = tuple(name for name, test in (("new_year", is_new_year), ("pre_holiday", is_pre_holiday))
                     if sum(1 for d in days if test(d)) >= MIN_SPECIAL_DAYS)
    x = _design(days, specials)
    # A weekday column that never occurs in the history (all its days were holidays) is dropped.
    keep = np.asarray([True] + [bool(x[:, j].any()) for j in range(1, x.shape[1])])
    x = x[:, keep]
    age = np.asarray([(days[-1] - d).days for d in days], dtype=float)
    w = np.ones_like(age) if halflife is None else 0.5 ** (age / halflife)
    xf = _design([start + timedelta(days=i) for i in range(horizon)], specials)[:, keep]
    if at_origin:
        # Weeks before the last observed day: the intercept is then the level AT that day. The
        # future rows carry 0: the level held, the trend not extrapolated.
        x = np.column_stack([x, -age / 7.0])
        xf = np.column_stack([xf, np.zeros(len(xf))])
    model = sm.GLM(y, x, family=sm.families.Poisson(), var_weights=w)
    with warnings.catch_warnings():
        # A weekday with no message at all (a small group) is "perfect separation" to statsmodels:
        # its rate tends to zero, which is the right forecast; no warning on the user's terminal.
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = model.fit()
    mu_hist = fit.predict(x)
    # Negative binomial dispersion by moments: Var = mu + alpha * mu^2.
    excess = ((y - mu_hist) ** 2 - mu_hist) / np.maximum(mu_hist, 1e-9) ** 2
    alpha = max(0.0, float(np.sum(w * excess) / np.sum(w)))
    mu = fit.predict(xf)
    # Quasi-Poisson: the coefficients' covariance scaled by the Pearson X2 per residual degree of
    # freedom (not below 1), so the fitted level's uncertainty grows with the over-dispersion.
    scale = float(fit.pearson_chi2 / fit.df_resid) if fit.df_resid > 0 else 1.0
    scale = max(1.0, scale) if math.isfinite(scale) else 1.0
    cov = np.nan_to_num(np.asarray(fit.cov_params()) * scale, nan=MAX_LOG_VAR)
    # Of log(mu), per day. Capped: a weekday with no message at all has an unbounded coefficient
    # (its rate is ~0, so the width hardly matters), and e^v must stay a number.
    var_log = np.clip(np.nan_to_num(np.einsum("ij,jk,ik->i", xf, cov, xf), nan=MAX_LOG_VAR), 0.0, MAX_LOG_VAR)
    seen = {k for k in (_kind(d) for d in days) if k}
    seen = {k for k in seen if sum(1 for d in days if _kind(d) == k) >= MIN_SPECIAL_DAYS}
    if blend is None:
        blend = (Blend("four_weeks", baseline_weight) if baseline_weight is not None
                 else choose_blend(counts, halflife=halflife, at_origin=at_origin))
    reference = BASELINES[blend.baseline](counts, start, horizon)
    refs_averaged = 4 if blend.baseline == "four_weeks" else 1
    last = days[-1]
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    out = []
    for i, (d, m) in enumerate(zip(future, mu, strict=True)):
        m, v = float(m), float(var_log[i])
        kind = _kind(d)
        if kind and kind not in seen:
            v += UNSEEN_LOG_SD ** 2  # a kind of day the history never showed: its level is a guess
        elif blend.weight and is_ordinary(d) and _ordinary_references(counts, last, d):
            v = _blend_log_var(m, v, alpha, blend.weight, refs_averaged)
            m = (1 - blend.weight) * m + blend.weight * reference[i]
        # The point's uncertainty (log-normal, variance v) compounds the day's NB noise:
        # Var = mu + mu^2 * ((1 + alpha) * e^v - 1), a negative binomial with that alpha.
        total = (1 + alpha) * math.exp(v) - 1
        low, high = _quantiles(m, total, lo_q, hi_q)
        out.append(DayForecast(d, m, min(low, m), max(high, m)))
    if at_origin and any(not is_ordinary(f.date) for f in out):
        # Days the calendar marks (holidays, their eves, the New Year) take the weighted level, not
        # the one at the origin: before the New Year the level at the origin is December's rush.
        plain = forecast(counts, start, horizon, halflife=halflife, level=level, blend=blend, at_origin=False)
        out = [f if is_ordinary(f.date) else p for f, p in zip(out, plain, strict=True)]
    return out


def _blend_log_var(model_mean: float, v: float, alpha: float, weight: float, refs: int) -> float:
    """The log-variance of a blended point: the model's share carries its level's variance v; the
    baseline's share the noise of the `refs` days it averages (NB with the model's mean and alpha,
    the best estimate of those days' spread); the two taken as independent."""
    if model_mean <= 0:
        return v
    var_model = ((1 - weight) * model_mean) ** 2 * math.expm1(v)
    var_base = weight ** 2 * (model_mean + alpha * model_mean ** 2) / refs
    return min(math.log1p((var_model + var_base) / model_mean ** 2), MAX_LOG_VAR)


def validation_errors(counts: Mapping[date, int], *, halflife: float | None = HALFLIFE_DAYS,
                      at_origin: bool = LEVEL_AT_ORIGIN) -> dict[Blend, float]:
    """The absolute error of each candidate blend, summed over the ordinary days after each of the
    last weekly origins (rolling origin: each forecast sees only the days before its origin).
    Empty when the history is too short to validate."""
    last = max(counts)
    candidates = [Blend(name, w) for name in BASELINES for w in WEIGHTS if w or name == "four_weeks"]
    errors = dict.fromkeys(candidates, 0.0)
    seen = 0
    for k in range(1, VALIDATION_ORIGINS + 1):
        origin = last + timedelta(days=1 - 7 * k)
        before = {d: c for d, c in counts.items() if d < origin}
        if len(before) < MIN_HISTORY_DAYS + 14:  # four weeks for the baseline, three for the model
            break
        horizon = min(VALIDATION_DAYS, (last - origin).days + 1)
        model = forecast(before, origin, horizon, halflife=halflife, blend=Blend("four_weeks", 0.0),
                         at_origin=at_origin)
        refs = {name: baseline(before, origin, horizon) for name, baseline in BASELINES.items()}
        for i, f in enumerate(model):
            if not (is_ordinary(f.date) and _ordinary_references(before, origin - timedelta(days=1), f.date)):
                continue  # the blend applies to these days only
            seen += 1
            for c in candidates:
                errors[c] += abs((1 - c.weight) * f.expected + c.weight * refs[c.baseline][i] - counts[f.date])
    return errors if seen else {}


def select_blend(errors: Mapping[Blend, float], margin: float = LAST_WEEK_MARGIN,
                 four_week_margin: float = FOUR_WEEK_MARGIN) -> Blend:
    """The candidate with the least validation error; ties go to the weight nearest BASELINE_WEIGHT,
    and a last-week blend must beat the best four-week one by `margin` (it is the noisier). The
    four-week mean itself is kept unless the winner beats it by `four_week_margin`."""
    if not errors:
        return Blend("four_weeks", BASELINE_WEIGHT)
    chosen = _least_error(errors, margin)
    plain = Blend("four_weeks", 1.0)
    if four_week_margin and plain in errors and errors[chosen] >= (1 - four_week_margin) * errors[plain]:
        return plain
    return chosen


def _least_error(errors: Mapping[Blend, float], margin: float) -> Blend:

    def best(name: str) -> Blend | None:
        own = [c for c in errors if c.baseline == name]
        return min(own, key=lambda c: (round(errors[c], 9), abs(c.weight - BASELINE_WEIGHT))) if own else None

    four, last_week = best("four_weeks"), best("last_week")
    if four is None or (last_week is not None and errors[last_week] < (1 - margin) * errors[four]):
        return last_week  # type: ignore[return-value]
    return four


def choose_blend(counts: Mapping[date, int], *, halflife: float | None = HALFLIFE_DAYS,
                 at_origin: bool = LEVEL_AT_ORIGIN, margin: float = LAST_WEEK_MARGIN) -> Blend:
    """The blend that forecast the history's own last weeks best (validation_errors, select_blend)."""
    return select_blend(validation_errors(counts, halflife=halflife, at_origin=at_origin), margin)


def choose_weight(counts: Mapping[date, int], *, halflife: float | None = HALFLIFE_DAYS,
                  at_origin: bool = LEVEL_AT_ORIGIN) -> float:
    """The weight of the four-week baseline alone that forecast the history's last weeks best."""
    errors = validation_errors(counts, halflife=halflife, at_origin=at_origin)
    return select_blend({c: e for c, e in errors.items() if c.baseline == "four_weeks"}).weight


def _quantiles(mu: float, alpha: float, lo_q: float, hi_q: float) -> tuple[float, float]:
    if mu <= 0 or not math.isfinite(mu):
        return 0.0, 0.0
    if alpha < 1e-6:
        dist = stats.poisson(mu)
    else:
        n = 1.0 / alpha  # scipy's nbinom: n successes, p = n / (n + mu)
        dist = stats.nbinom(n, n / (n + mu))
    return float(dist.ppf(lo_q)), float(dist.ppf(hi_q))


def _ordinary_references(counts: Mapping[date, int], last: date, d: date) -> bool:
    """The four same weekdays the four-week baseline averages for `d` are all in the history and ordinary."""
    back = _last_observed_weekday(last, d)
    refs = [back - timedelta(days=7 * k) for k in range(4)]
    return all(r in counts and is_ordinary(r) for r in refs)


# -- baselines (for the backtest) ---------------------------------------------------------------

def _last_observed_weekday(last: date, d: date) -> date:
    """The same weekday as `d` a week or more earlier, not after `last` (the last observed day)."""
    back = d - timedelta(days=7)
    while back > last:
        back -= timedelta(days=7)
    return back


def baseline_last_week(counts: Mapping[date, int], start: date, horizon: int) -> list[float]:
    """The same weekday a week earlier; beyond a week, the last observed week repeats."""
    last = max(counts)
    days = (_last_observed_weekday(last, start + timedelta(days=i)) for i in range(horizon))
    return [float(counts.get(back, 0)) for back in days]


def baseline_four_weeks(counts: Mapping[date, int], start: date, horizon: int) -> list[float]:
    """The mean of the last four same weekdays observed."""
    last = max(counts)
    days = (_last_observed_weekday(last, start + timedelta(days=i)) for i in range(horizon))
    return [float(np.mean([counts.get(back - timedelta(days=7 * k), 0) for k in range(4)])) for back in days]


BASELINES = {"four_weeks": baseline_four_weeks, "last_week": baseline_last_week}


# -- input ----------------------------------------------------------------------------------------

def read_history(path: str, tz: str | None = None, *, group_column: str | None = None
                 ) -> list[tuple[date, str | None]]:
    """(local date, group) per message from a CSV with a `created` column (ISO 8601); other
    columns are not read. Aware timestamps are moved to `tz`; naive ones are taken as local."""
    import csv
    from datetime import datetime
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz) if tz else None
    out: list[tuple[date, str | None]] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            fields = reader.fieldnames or []
            if "created" not in fields:
                raise ForecastError(f"{path}: no 'created' column in the header")
            if group_column and group_column not in fields:
                raise ForecastError(f"{path}: no {group_column!r} column for --by-group")
            for row in reader:
                value = (row.get("created") or "").strip()
                try:
                    at = datetime.fromisoformat(value)
                except ValueError:
                    # The value may be personal data in a bad file: the line number is enough.
                    raise ForecastError(f"{path}, line {reader.line_num}: 'created' is not an ISO 8601 "
                                        "date or time") from None
                if at.tzinfo is not None and zone is not None:
                    at = at.astimezone(zone)
                out.append((at.date(), (row.get(group_column) or None) if group_column else None))
    except OSError as exc:
        raise ForecastError(f"cannot read {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, csv.Error):
        raise ForecastError(f"{path}: not a UTF-8 CSV file") from None
    if not out:
        raise ForecastError(f"{path}: no rows")
    return out
