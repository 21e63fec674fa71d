"""The curators' corrections memory (router.corrections): a near-identical message takes the
corrected route at once, unrelated ones keep theirs, and the memory is the corrections file, so it
survives a restart and sees what another process appended. Texts written for these tests."""

from __future__ import annotations

import json

from router.classifier import Router
from router.corrections import Correction, CorrectionMemory
from router.learning import record_correction
from router.text import normalize, words

CORRECTED = "На улице Садовой у дома 12 третью неделю не горят фонари, вечером темно"
NEAR = "На улице Садовой у дома 14 третью неделю не горят фонари, вечером темно!"
SAME_TOPIC_OTHER_TEXT = "На улице Ленина не горят фонари"
UNRELATED = "Во дворе дома 5 не вывозят мусор с контейнерной площадки"


def tokens(text: str) -> list[str]:
    return words(normalize(text))


def test_near_identical_matches_and_unrelated_does_not(tmp_path):
    path = tmp_path / "c.jsonl"
    record_correction(path, CORRECTED, "Дороги", "Освещение автомобильных дорог", "dorogi")
    memory = CorrectionMemory(path)
    assert len(memory) == 1
    hit = memory.match(tokens(NEAR))
    assert hit is not None
    assert hit[0] == Correction("Дороги", "Освещение автомобильных дорог", "dorogi")
    assert hit[1] == 1.0  # only the house number differs, and numbers are left out
    assert memory.match(tokens(SAME_TOPIC_OTHER_TEXT)) is None
    assert memory.match(tokens(UNRELATED)) is None
    assert memory.match([]) is None


def test_newest_correction_of_the_same_text_wins(tmp_path):
    path = tmp_path / "c.jsonl"
    record_correction(path, CORRECTED, "Дороги", None, "dorogi")
    record_correction(path, CORRECTED, "Благоустройство", "Уличное освещение", "blagoustroystvo")
    hit = CorrectionMemory(path).match(tokens(NEAR))
    assert hit is not None and hit[0].executor == "blagoustroystvo"


def test_reads_lines_appended_by_another_writer_and_a_replaced_file(tmp_path):
    path = tmp_path / "c.jsonl"
    memory = CorrectionMemory(path)  # no file yet: an empty memory
    assert len(memory) == 0 and memory.refresh() == 0
    record_correction(path, CORRECTED, "Дороги", None, "dorogi")
    with path.open("ab") as f:  # a line still being written is left for the next read
        f.write(json.dumps({"text": UNRELATED, "topic_group": "ЖКХ"}, ensure_ascii=False).encode()[:20])
    assert memory.refresh() == 1 and len(memory) == 1
    path.unlink()
    record_correction(path, UNRELATED, "Мусор/Свалки/ТКО", None, "ekologiya")
    assert memory.refresh() == 1 and len(memory) == 1  # the old file's corrections are gone
    assert memory.match(tokens(NEAR)) is None and memory.match(tokens(UNRELATED)) is not None


def test_unreadable_lines_are_skipped_without_the_text_in_the_log(tmp_path, caplog):
    path = tmp_path / "c.jsonl"
    path.write_text('not json at all, Иванов\n{"text": "x"}\n', encoding="utf-8")
    record_correction(path, CORRECTED, "Дороги", None, "dorogi")
    memory = CorrectionMemory(path)
    assert len(memory) == 1
    assert "Иванов" not in caplog.text and "unreadable line" in caplog.text


def test_router_applies_a_correction_at_once_and_leaves_other_routes(tmp_path):
    path = tmp_path / "c.jsonl"
    plain = Router.load()
    router = plain.with_corrections(path)
    before = {t: router.route(t) for t in (NEAR, SAME_TOPIC_OTHER_TEXT, UNRELATED)}
    assert before[NEAR].topic_group == "Благоустройство"  # what the rules say before the correction
    record_correction(path, CORRECTED, "Дороги", "Освещение автомобильных дорог", "dorogi")
    fixed = router.route(NEAR)
    assert (fixed.topic_group, fixed.topic, fixed.executors[0]) == ("Дороги", "Освещение автомобильных дорог", "dorogi")
    assert fixed.reasons[0] == "correction" and not fixed.needs_manual
    for text in (SAME_TOPIC_OTHER_TEXT, UNRELATED):
        assert router.route(text) == before[text]
    assert plain.corrections is None and plain.route(NEAR) == before[NEAR]  # the cached router is untouched
    # A restart: a new memory over the same file.
    again = Router.load().with_corrections(path).route_many([NEAR, UNRELATED])
    assert again[0].topic_group == "Дороги" and again[1] == before[UNRELATED]


def test_correction_without_topic_takes_a_topic_of_the_group_and_the_named_executor(tmp_path):
    path = tmp_path / "c.jsonl"
    record_correction(path, CORRECTED, "Дороги", None, "obrazovanie")
    routing = Router.load().with_corrections(path).route(NEAR)
    assert routing.topic_group == "Дороги" and routing.topic  # a topic of the group, from the rules
    assert routing.executors[0] == "obrazovanie"


def test_model_router_takes_corrections_too(tmp_path, history_rows):
    from router.model import TopicModel

    model = TopicModel.train([r["text"] for r in history_rows], [r["topic_group"] for r in history_rows])
    model_path = model.save(tmp_path / "m.joblib")
    path = tmp_path / "c.jsonl"
    router = Router.load(None, model_path).with_corrections(path)
    before = router.route_many([NEAR, UNRELATED])
    record_correction(path, CORRECTED, "Образование", None, "obrazovanie")
    after = router.route_many([NEAR, UNRELATED])
    assert before[0].topic_group != "Образование"
    assert (after[0].topic_group, after[0].executors[0]) == ("Образование", "obrazovanie")
    assert after[0].archive_topic is None and after[1] == before[1]
