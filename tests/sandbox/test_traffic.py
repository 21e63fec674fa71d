"""The traffic generator: realistic, labelled, deterministic citizens' messages; pacing from a
trickle to thousands per second; delivery into the emulators."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from otklik.exceptions import ConfigError
from sandbox.runner import serving
from sandbox.telegram.emulator import TelegramEmulator
from sandbox.traffic import (
    CitizenEvent,
    InjectRefused,
    TrafficGenerator,
    TrafficMix,
    deliver,
    inject_payload,
)
from sandbox.traffic_feed import Feeder
from sandbox.traffic_texts import (
    DIGIT_LOOKALIKE,
    LATIN_LOOKALIKE,
    CitizenTexts,
    Municipality,
    disguise,
    fill,
    load_abuse_texts,
    load_citizen_texts,
)

# DESIGN.md, "Topic classifier": the 26 groups, spelled exactly.
DESIGN_GROUPS = """Безопасность; Благоустройство; Газ и топливо; Государственная собственность; Дороги; ЖКХ;
Здравоохранение/Медицина; Коронавирус; Культура; МФЦ «Мои документы»; Мобилизация; Мусор/Свалки/ТКО;
Образование; Общественный транспорт; Памятники и объекты культурного наследия; Погребение и похоронное дело;
Роспотребнадзор; Связь и телевидение; Социальное обслуживание и защита; Спецпроекты; Строительство и
архитектура; Торговля; Физическая культура и спорт; Экология; Экономика и бизнес; Электроснабжение"""
GROUPS = {" ".join(g.split()) for g in DESIGN_GROUPS.split(";")}
LEFTOVER = re.compile(r"[{}\[\]|]")
URL_OR_PHONE = re.compile(r"https?://|t\.me/|bit\.ly/|\+7 9\d\d \d{3}-\d\d-\d\d")


def sample(
    n: int, seed: int = 1, shares: TrafficMix | None = None
) -> tuple[TrafficGenerator, list[CitizenEvent]]:
    gen = TrafficGenerator(seed=seed, shares=shares)
    return gen, [gen.next_event() for _ in range(n)]


def mat_words() -> list[str]:
    mat = load_abuse_texts().mat
    return mat.interj + mat.noun + mat.verb


def disguised_pattern(word: str) -> re.Pattern[str]:
    """The word however it is disguised: each letter itself, a look-alike or `*`, possibly
    stretched, with a separator between letters."""
    parts = []
    for ch in word:
        options = {
            re.escape(ch),
            re.escape(LATIN_LOOKALIKE.get(ch, ch)),
            re.escape(DIGIT_LOOKALIKE.get(ch, ch)),
            r"\*",
        }
        parts.append(f"(?:{'|'.join(sorted(options))})+")
    return re.compile(r"[.\-_ *]?".join(parts), re.I)


# -- the texts ------------------------------------------------------------------------------------
def test_data_files_cover_the_26_groups_with_several_templates_each():
    texts = load_citizen_texts()
    assert set(texts.legit) == GROUPS and len(GROUPS) == 26
    assert all(len(t) >= 5 for t in texts.legit.values())


def test_a_data_file_missing_a_group_is_refused_with_file_and_line(tmp_path):
    texts = load_citizen_texts().model_dump()
    del texts["legit"]["Дороги"]
    bad = tmp_path / "citizens.yaml"
    import yaml

    bad.write_text(yaml.safe_dump(texts, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"citizens\.yaml:\d+: legit: .*Дороги"):
        from otklik.datafile import load_model

        load_model(bad, CitizenTexts)


def test_every_template_renders_without_leftover_slots():
    gen = TrafficGenerator(seed=3)
    rng = random.Random(3)
    abuse = load_abuse_texts()
    for group, templates in gen.texts.legit.items():
        for template in templates:
            for _ in range(5):
                text = fill(template, gen._place_slots(), rng)
                assert not LEFTOVER.search(text), (group, text)
                assert text[0].isupper()
    for key in ("obscene", "obscene_tails", "insult", "insult_tails", "threat", "threat_tails", "spam"):
        for template in getattr(abuse, key):
            for disguised in (False, True):
                text = fill(template, gen._place_slots() | gen._abuse_slots(disguised), rng)
                assert not LEFTOVER.search(text.replace("*", "")), (key, text)


def test_an_unknown_slot_is_an_error_not_a_silent_blank():
    with pytest.raises(KeyError, match="nowhere"):
        fill("Яма {nowhere}", {}, random.Random(0))


def test_disguise_never_leaves_the_plain_word_and_still_spells_it():
    rng = random.Random(5)
    for word in mat_words():
        for _ in range(40):
            hidden = disguise(word, rng)
            assert hidden != word
            assert disguised_pattern(word).fullmatch(hidden), (word, hidden)


def test_municipality_from_any_gazetteer_uses_invariant_forms(tmp_path):
    gazetteer = tmp_path / "gazetteer.yaml"
    gazetteer.write_text(
        "settlements:\n  - {name: Кедровка, stem: кедров, kind: посёлок}\nstreets: [Таёжная]\n",
        encoding="utf-8",
    )
    town = Municipality.from_gazetteer(gazetteer)
    gen = TrafficGenerator(seed=2, municipality=town)
    texts = " ".join(gen.next_event().text for _ in range(300))
    assert "пос. Кедровка" in texts and "ул. Таёжная" in texts
    assert "Северн" not in texts  # nothing of the default municipality leaks in


# -- the events -----------------------------------------------------------------------------------
def test_the_same_seed_gives_the_same_citizens():
    _, a = sample(400, seed=7)
    _, b = sample(400, seed=7)
    _, c = sample(400, seed=8)
    assert [e.model_dump() for e in a] == [e.model_dump() for e in b]
    assert [e.text for e in a] != [e.text for e in c]


def test_shares_are_respected():
    shares = TrafficMix(
        obscene=0.05,
        obscene_disguised=0.05,
        insult=0.05,
        threat=0.02,
        spam=0.08,
        duplicate=0.05,
        repeat=0.05,
        edit=0.06,
        delete=0.02,
        rate=0.03,
        dispute=0.02,
    )
    _, events = sample(20_000, seed=11, shares=shares)
    kinds = Counter(e.kind for e in events)
    labels = Counter(e.label for e in events if e.kind == "new")
    n = len(events)
    for kind in ("edit", "delete", "rate", "dispute"):
        assert abs(kinds[kind] / n - getattr(shares, kind)) < 0.01, kind
    for label in ("obscene", "obscene_disguised", "insult", "threat", "spam", "duplicate", "repeat"):
        assert abs(labels[label] / n - getattr(shares, label)) < 0.01, label
    legit = 1 - sum(shares.shares().values())
    assert abs(labels["legit"] / n - legit) < 0.015


def test_shares_that_add_up_to_more_than_one_are_refused():
    with pytest.raises(ValueError, match="add up"):
        TrafficMix(spam=0.6, insult=0.6)
    with pytest.raises(ValueError, match="topic groups"):
        TrafficMix(groups={"Погода": 1.0})


def test_labels_mean_what_they_say():
    shares = TrafficMix(rate=0.03, dispute=0.02)
    gen, events = sample(6000, seed=4, shares=shares)
    by_seq = {e.seq: e for e in events}
    plain = [re.compile(rf"(?<!\w){re.escape(w)}(?!\w)", re.I) for w in mat_words()]
    abuse = load_abuse_texts()
    openings = tuple(gen.texts.repeat_openings)
    deleted: set[int] = set()
    seen = Counter()
    for e in events:
        seen[(e.kind, e.label)] += 1
        orig = by_seq.get(e.ref) if e.ref is not None else None
        if e.ref is not None:
            assert orig is not None and orig.seq < e.seq and orig.kind == "new" and orig.label == "legit"
            assert (orig.author_id, orig.author_name) == (e.author_id, e.author_name)
            assert e.ref not in deleted, "nothing happens to a deleted message"
        if e.kind == "new" and e.label == "legit":
            assert e.topic_group in GROUPS and e.ref is None
        elif e.label == "duplicate":
            assert e.text.startswith(orig.text) and e.topic_group == orig.topic_group
        elif e.label == "repeat":
            assert e.text.startswith(openings) and e.topic_group == orig.topic_group
        elif e.kind == "edit":
            assert e.text.startswith(orig.text) and len(e.text) > len(orig.text)
        elif e.kind == "delete":
            assert e.text == ""
            deleted.add(e.ref)
        elif e.kind == "rate":
            assert 1 <= e.rating <= 5
        elif e.kind == "dispute":
            assert e.text
        elif e.label == "obscene":
            assert any(p.search(e.text) for p in plain), e.text
        elif e.label == "obscene_disguised":
            assert not any(p.search(e.text) for p in plain), e.text
            assert any(disguised_pattern(w).search(e.text) for w in mat_words()), e.text
        elif e.label == "insult":
            words = abuse.insult_word + abuse.insult_words
            assert any(re.search(rf"(?<!\w){w}(?!\w)", e.text, re.I) for w in words), e.text
        elif e.label == "spam":
            assert e.topic_group is None and URL_OR_PHONE.search(e.text), e.text
        elif e.label == "threat":
            assert e.text
    kinds_seen = {k for k, _ in seen}
    assert kinds_seen == {"new", "edit", "delete", "rate", "dispute"}
    assert {lbl for k, lbl in seen if k == "new"} == {
        "legit",
        "obscene",
        "obscene_disguised",
        "insult",
        "threat",
        "spam",
        "duplicate",
        "repeat",
    }


def test_authors_have_invented_names_and_some_write_often():
    gen, events = sample(3000, seed=9)
    people = gen.texts.people
    known_first = set(people.male) | set(people.female)
    for e in events:
        first = e.author_name.split()[0]
        assert first in known_first or e.author_name.rstrip("0123456789") in people.nicknames, e.author_name
    per_author = Counter(e.author_id for e in events if e.kind == "new")
    assert max(per_author.values()) >= 5 * (sum(per_author.values()) / len(per_author))


def test_feedback_refers_to_the_answered_message():
    gen, events = sample(50, seed=2)
    first = next(e for e in events if e.kind == "new" and e.label == "legit")
    first.platform = "kamchatka"
    kinds = {gen.feedback(first.seq, dispute_share=share).kind for share in (0.0, 1.0)}
    assert kinds == {"rate", "dispute"}
    assert all(e.ref == first.seq and e.platform == "kamchatka" for e in list(gen.history.values())[-2:])


# -- pacing -----------------------------------------------------------------------------------------
class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_high_rates_come_in_bursts_on_schedule():
    t = FakeTime()
    gen = TrafficGenerator(seed=1)
    emitted = []
    async for _ in gen.paced(2000, duration=3.0, clock=t.clock, sleep=t.sleep):
        emitted.append(t.now)
        assert len(emitted) <= t.now * 2000 + 1, "never ahead of the schedule"
    assert len(emitted) == 6000
    assert len(t.sleeps) <= 3.0 / 0.01 + 2, "one sleep per tick, not one per event"
    assert max(Counter(round(x, 6) for x in emitted).values()) >= 15  # bursts


async def test_a_trickle_sleeps_between_events():
    t = FakeTime()
    gen = TrafficGenerator(seed=1)
    times = [t.now async for _ in gen.paced(0.1, count=3, clock=t.clock, sleep=t.sleep)]
    assert times == pytest.approx([0.0, 10.0, 20.0])


async def test_a_slow_consumer_gets_the_backlog_without_sleeping():
    t = FakeTime()
    gen = TrafficGenerator(seed=1)
    async for _ in gen.paced(1000, count=500, clock=t.clock, sleep=t.sleep):
        t.now += 0.005  # the consumer needs 5 ms per event, the schedule allows 1 ms
    assert all(s == 0 for s in t.sleeps)


async def test_rate_must_be_positive():
    with pytest.raises(ValueError):
        async for _ in TrafficGenerator().paced(0):
            pass


# -- delivery -----------------------------------------------------------------------------------------
def test_inject_payload_targets_and_what_a_platform_cannot_carry():
    gen, events = sample(400, seed=6, shares=TrafficMix(rate=0.05, delete=0.05))
    new = [e for e in events if e.kind == "new"]
    chats = Counter(inject_payload(e, "telegram")["chat"] for e in new)
    assert (
        set(chats) == {"private", "group", "channel_comment"} and chats["private"] > chats["channel_comment"]
    )
    assert {inject_payload(e, "telegram", spread=False)["chat"] for e in new} == {"private"}
    legit = next(e for e in new if e.label == "legit")
    assert inject_payload(legit, "incident_management")["topic_group"] == legit.topic_group
    rate = next(e for e in events if e.kind == "rate")
    orig = gen.original(rate)
    assert inject_payload(rate, "telegram", orig) is None  # social networks have no ratings
    assert inject_payload(rate, "kamchatka", orig) is None  # the original never arrived
    orig.target = {"id": 17, "number": "КВП-17"}
    body = inject_payload(rate, "kamchatka", orig)
    assert body["id"] == 17 and body["kind"] == "rate" and body["rating"] == rate.rating
    delete = next(e for e in events if e.kind == "delete")
    gen.original(delete).target = {"id": 3}
    assert inject_payload(delete, "pos", gen.original(delete)) is None  # ПОС appeals are not withdrawn


async def test_deliver_into_the_telegram_emulator_new_edit_delete():
    gen, events = sample(300, seed=1, shares=TrafficMix(edit=0.3, delete=0.1))
    delete = next(
        e for e in events if e.kind == "delete" and any(x.kind == "edit" and x.ref == e.ref for x in events)
    )
    new = gen.original(delete)
    edit = next(x for x in events if x.kind == "edit" and x.ref == new.seq)
    emulator = TelegramEmulator()
    with serving(emulator) as server:
        answer = await deliver(new, server.url, "telegram")
        assert new.platform == "telegram" and set(new.target) >= {"chat_id", "message_id"}
        key = (new.target["chat_id"], new.target["message_id"])
        assert answer["message_id"] == key[1]
        assert server.call(lambda: emulator.messages[key]["text"]) == new.text
        await deliver(edit, server.url, "telegram", original=new)
        assert server.call(lambda: emulator.messages[key]["text"]) == edit.text
        await deliver(delete, server.url, "telegram", original=new)
        assert server.call(lambda: key in emulator.messages) is False
        with pytest.raises(InjectRefused):  # the message is gone: the emulator says so
            await deliver(edit, server.url, "telegram", original=new)


async def test_feeder_spreads_citizens_over_emulators_and_keeps_edits_with_their_originals():
    from sandbox.incident_management.emulator import IncidentManagementEmulator

    shares = TrafficMix(edit=0.15, delete=0.05, duplicate=0.1)
    tg, im = TelegramEmulator(), IncidentManagementEmulator()
    with serving(tg) as s1, serving(im) as s2:
        gen = TrafficGenerator(seed=5, shares=shares)
        feeder = Feeder(gen, {"telegram": s1.url, "incident_management": s2.url}, concurrency=8)
        stats = await feeder.run(1000, count=120)
    assert stats.errors == 0 and stats.sent + stats.skipped == 120
    assert set(stats.by_platform) == {"telegram", "incident_management"}
    assert sum(stats.by_kind.values()) == stats.sent
    for e in gen.history.values():
        orig = gen.original(e)
        if orig is not None and e.platform is not None:
            assert e.platform == orig.platform, "edits, deletions and repeats go where the original went"
    assert len(im.world.incidents) == stats.by_platform["incident_management"]


async def test_citizens_rate_or_dispute_answers_on_a_feedback_platform():
    import aiohttp

    from sandbox.kamchatka.emulator import API_KEY, KamchatkaEmulator

    quiet = TrafficMix(**dict.fromkeys(TrafficMix().shares(), 0.0))
    emulator = KamchatkaEmulator()
    with serving(emulator) as server:
        gen = TrafficGenerator(seed=3, shares=quiet)
        feeder = Feeder(gen, {"kamchatka": server.url}, feedback_share=1.0)
        stats = await feeder.run(1000, count=6)
        assert stats.sent == 6
        answered = [e for e in gen.history.values() if e.kind == "new"][:3]
        async with aiohttp.ClientSession() as session:
            assert await feeder.answer_back(session) == 0  # nothing answered yet: nobody rates
            for e in answered:
                async with session.post(
                    f"{server.url}/api/executor/v1/messages/{e.target['id']}/answers",
                    json={"kind": "answer", "text": "Сделано.", "no_photo_reason": "работы под землёй"},
                    headers={"Authorization": f"Bearer {API_KEY}"},
                ) as r:
                    assert r.status in (200, 201), await r.text()
            assert await feeder.answer_back(session) == 3
            assert await feeder.answer_back(session) == 0  # each answer is judged once
    feedback = [e for e in gen.history.values() if e.kind in ("rate", "dispute")]
    assert sorted(e.ref for e in feedback) == sorted(e.seq for e in answered)
    for e in feedback:
        msg = emulator.world.messages[gen.original(e).target["id"]]
        if e.kind == "rate":
            assert msg["feedback"]["rating"] == e.rating
        else:
            assert msg["status"] == "rework"
