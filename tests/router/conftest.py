"""Shared fixtures for the router tests: small data files and a synthetic history, all written
for these tests (no real citizen's text)."""

from __future__ import annotations

import random

import pytest

GROUP_TEMPLATES = {
    "Дороги": [
        "На улице {street} огромные ямы на дороге, асфальт разбит, машины ломают подвеску",
        "Когда отремонтируют дорогу на {street}? Выбоины по колено, проехать невозможно",
        "Дорогу к {place} не чистят от снега, гололёд, машины буксуют",
        "Нужен пешеходный переход и светофор у перекрёстка на {street}",
    ],
    "ЖКХ": [
        "В доме {house} по улице {street} холодные батареи, отопление не работает",
        "Управляющая компания не ремонтирует крышу, течёт в подъезде дома {house}",
        "Нет горячей воды в квартире, водопровод в подвале протекает, дом {house}",
        "Канализация засорилась во дворе дома {house} на {street}, стоки текут",
    ],
    "Мусор/Свалки/ТКО": [
        "Мусор с контейнерной площадки на {street} не вывозят уже неделю",
        "За {place} у леса стихийная свалка строительного мусора",
        "Региональный оператор не вывозит отходы, баки переполнены на {street}",
        "Контейнеры для мусора сломаны, мусор лежит прямо на земле у дома {house}",
    ],
    "Образование": [
        "В школе {place} не хватает учителей, уроки отменяют каждую неделю",
        "Очередь в детский сад в {place} не двигается, воспитателей нет",
        "Школьный автобус не довозит учеников до школы вовремя",
        "Дети учатся во вторую смену, в классах по тридцать учеников",
    ],
}
PLACES = ["Бергуле", "Биазе", "Остяцке", "Федосихе", "Потюкане"]
STREETS = ["Ленина", "Советской", "Школьной", "Садовой", "Мира"]


def synthetic_history(per_group: int = 15, seed: int = 3) -> list[dict]:
    rnd = random.Random(seed)
    rows = []
    for group, templates in GROUP_TEMPLATES.items():
        for _ in range(per_group):
            text = rnd.choice(templates).format(
                place=rnd.choice(PLACES), street=rnd.choice(STREETS), house=rnd.randint(1, 60)
            )
            rows.append({"text": text, "topic_group": group, "topic": None, "executor": None})
    rnd.shuffle(rows)
    return rows


@pytest.fixture(scope="session")
def history_rows() -> list[dict]:
    return synthetic_history()


@pytest.fixture(scope="session")
def make_history():
    return synthetic_history
