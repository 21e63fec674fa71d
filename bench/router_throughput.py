"""Routing throughput on one core: `Router.route` (rules, importance, location, executors) over
synthetic citizens' messages of social-network length (written for this benchmark, ~180
characters, HTML in a third of them), and `Router.route_many` with a trained model. Prints the
median messages per second of --repeat passes (wall clock, then per CPU-second of this process);
the target is ≥ 10,000 with a trained model (issue 21).

    .venv/bin/python bench/router_throughput.py [--messages N] [--model PATH] [--data DIR] [--repeat K]

With --data DIR (the evaluation folder) it measures on the real appeals instead (portal appeals,
~390 characters), repeated to N.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

OPENINGS = [
    "Здравствуйте!",
    "Добрый день.",
    "Уважаемая администрация,",
    "",
    "Прошу помочь.",
    "Доброго времени суток.",
]
PROBLEMS = [
    "на улице {street} возле дома {house} огромная яма на дороге, машины объезжают по тротуару",
    "в доме {house} по ул. {street} третий день холодные батареи, управляющая компания не отвечает",
    "в {place} не вывозят мусор с контейнерной площадки уже неделю, баки переполнены",
    "не горят фонари на {street}, вечером дети идут из школы в полной темноте",
    "в {place} опять отключили свет, перепады напряжения, сгорел холодильник",
    "стая бездомных собак у остановки на {street}, бросаются на прохожих",
    "автобус до райцентра ходит по расписанию два раза в день, водитель не останавливается",
    "в поликлинике нет талонов к терапевту, записаться невозможно",
    "за {place} стихийная свалка строительного мусора у леса, дым от горящих отходов",
    "прорвало трубу водопровода на {street}, вода течёт по улице, во всём доме нет воды",
    "когда проведут газ в {place}? обещали подключить ещё в прошлом году",
    "детская площадка во дворе дома {house} сломана, качели висят на одной цепи",
    "в школе {place} не хватает учителей, уроки отменяют",
    "пропала сотовая связь и интернет в {place} после грозы",
    "очередь в детский сад не двигается второй год, места не дают",
]
ENDINGS = [
    "Примите меры!",
    "Когда это закончится?",
    "Жители ждут ответа.",
    "Спасибо.",
    "Очень просим разобраться.",
    "Фото прилагаю.",
    "",
]
PLACES = ["Бергуле", "Северном", "Биазе", "Остяцке", "Федосихе", "Чувашино", "Потюкане"]
STREETS = ["Ленина", "Советской", "Школьной", "Садовой", "Мира", "Лесной", "Набережной", "Гагарина"]


def make_messages(n: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        parts = [rnd.choice(OPENINGS)]
        for _ in range(rnd.choice((1, 2, 2, 3))):
            parts.append(
                rnd.choice(PROBLEMS)
                .format(street=rnd.choice(STREETS), place=rnd.choice(PLACES), house=rnd.randint(1, 120))
                .capitalize()
                + "."
            )
        parts.append(rnd.choice(ENDINGS))
        text = " ".join(p for p in parts if p)
        if rnd.random() < 0.33:
            text = "<p>" + text.replace(". ", ".&nbsp;</p><p>", 1) + "</p>"
        out.append(text)
    return out


CPU_SECONDS: list[float] = []  # this process's CPU time of each pass, beside the wall-clock time


def seconds(one_pass) -> float:
    t0, c0 = time.perf_counter(), time.process_time()
    one_pass()
    CPU_SECONDS.append(time.process_time() - c0)
    return time.perf_counter() - t0


def report(label: str, times: list[float], n: int) -> None:
    """Messages per second of the median pass, and the range when there were several; then the
    same per second of this process's CPU time, which other load on a shared machine (waiting
    for the core) does not count."""
    rates = sorted(n / t for t in times)
    median = statistics.median(rates)
    spread = f"; passes {rates[0]:,.0f}–{rates[-1]:,.0f}" if len(rates) > 1 else ""
    cpu = statistics.median(n / t for t in CPU_SECONDS[-len(times) :])
    print(
        f"{label}: {median:,.0f} messages/s on one core ({1e6 / median:.0f} µs each{spread}); "
        f"{cpu:,.0f} per CPU-second"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--model", type=Path, help="also measure with a trained model (batched)")
    parser.add_argument("--data", type=Path, help="measure on DIR/appeals/kursk_2022_categories.csv texts")
    parser.add_argument(
        "--repeat", type=int, default=5, help="passes to take the median of (a shared machine is noisy)"
    )
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as the target says
    from router.classifier import Router

    if args.data:
        from router.evaluate import load_rows

        real = [t for t, _ in load_rows(args.data)]
        messages = (real * (args.messages // len(real) + 1))[: args.messages]
    else:
        messages = make_messages(args.messages)
    when = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    t0 = time.perf_counter()
    router = Router.load()
    load_s = time.perf_counter() - t0
    for text in messages[:200]:  # warm-up
        router.route(text, when=when)
    print(
        f"router load: {load_s:.2f} s; {len(messages)} messages, mean {sum(map(len, messages)) / len(messages):.0f} chars"
    )

    def rules_pass() -> None:
        for text in messages:
            router.route(text, when=when)

    report("rules routing", [seconds(rules_pass) for _ in range(args.repeat)], len(messages))
    if args.model:
        model_router = Router.load(None, args.model)
        model_router.route_many(messages[:200], when=when)

        def model_pass() -> None:
            for i in range(0, len(messages), 256):
                model_router.route_many(messages[i : i + 256], when=when)

        # The first pass meets most words for the first time (their stems, n-grams and vectors
        # are worked out then); the next ones are the steady state of a router that has seen a
        # municipality's vocabulary.
        report("model routing (batches of 256, first pass)", [seconds(model_pass)], len(messages))
        times = [seconds(model_pass) for _ in range(args.repeat)]
        report("model routing (batches of 256, words known)", times, len(messages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
