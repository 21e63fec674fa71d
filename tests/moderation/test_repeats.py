from datetime import UTC, datetime, timedelta

import pytest

from moderation.filter import ModerationFilter
from moderation.profile import ModerationProfile, load_profile, profile_for
from moderation.repeats import LSH_FROM, RepeatIndex, features, similarity
from otklik.exceptions import ConfigError

T = datetime(2026, 1, 10, 9, 0)
TEXT = "На улице Ленина 5 не горит фонарь уже неделю, вечером темно и страшно ходить"


MOSKALENSKY = ModerationProfile(name="moskalensky", repeat_answered_not_processed=True)


def test_duplicate_repeat_answered_and_accepted_repeat():
    f = ModerationFilter(MOSKALENSKY)
    assert f.moderate("1", "tg:1", TEXT, T).decision == "accept"
    dup = f.moderate("2", "tg:1", TEXT + "!", T + timedelta(hours=1))
    assert (dup.decision, dup.reasons, dup.repeat_of) == ("drop", ["duplicate"], "1")
    assert f.moderate("3", "tg:2", TEXT, T).decision == "accept"  # another author is not a duplicate
    f.mark_answered("1")
    again = f.moderate(
        "4", "tg:1", "Снова на улице Ленина 5 не горит фонарь, темно и страшно ходить", T + timedelta(days=9)
    )
    assert (again.decision, again.repeat_of) == ("accept", "1")  # its answer must report the measures
    f.mark_answered("4")
    third = f.moderate(
        "5", "tg:1", "На улице Ленина 5 опять не горит фонарь, темно страшно ходить", T + timedelta(days=20)
    )
    assert (third.decision, third.reasons, third.repeat_of) == ("drop", ["repeat_answered"], "4")
    new_args = f.moderate(
        "6",
        "tg:1",
        "Фонарь на Ленина 5 так и не горит, а теперь ещё и провод оборван висит "
        "над детской площадкой, это опасно для детей",
        T + timedelta(days=21),
    )
    assert new_args.decision == "accept"  # new arguments: processed again


def test_a_repost_after_the_window_is_a_new_message():
    f = ModerationFilter(ModerationProfile(duplicate_window_hours=24))
    f.moderate("1", "vk:7", TEXT, T)
    assert f.moderate("2", "vk:7", TEXT, T + timedelta(hours=23)).reasons == ["duplicate"]
    later = f.moderate("3", "vk:7", TEXT, T + timedelta(days=3))
    assert later.decision == "accept" and later.repeat_of is None  # unanswered, outside the window


def test_the_number_of_answers_comes_from_the_profile():
    f = ModerationFilter(ModerationProfile(repeat_answered_not_processed=True, repeat_answered_after=1))
    f.moderate("1", "a", TEXT, T)
    f.mark_answered("1")
    v = f.moderate(
        "2", "a", "Опять на улице Ленина 5 не горит фонарь, вечером темно и страшно", T + timedelta(days=30)
    )
    assert (v.decision, v.reasons, v.repeat_of) == ("drop", ["repeat_answered"], "1")


def test_different_problem_of_the_same_author_is_not_a_repeat():
    f = ModerationFilter()
    f.moderate("1", "a", TEXT, T)
    f.mark_answered("1")
    v = f.moderate(
        "2",
        "a",
        "Во дворе дома 12 по Садовой третий месяц не вывозят мусор, контейнеры переполнены",
        T + timedelta(days=2),
    )
    assert (v.decision, v.repeat_of) == ("accept", None)


def test_houses_with_other_numbers_are_other_problems():
    a = features("На улице Ленина 5 не горит фонарь")
    b = features("На улице Ленина 7 не горит фонарь")
    assert similarity(set(a), a) == (1.0, 1.0) and similarity(set(a), b) == (0.0, 0.0)
    c = features("Ленина 5, кв. 12: не горит фонарь у подъезда")
    assert similarity(set(c), a)[1] > 0.45  # a shared number: the same house


def test_text_rules_win_and_the_message_is_still_recorded():
    f = ModerationFilter()
    v = f.moderate("1", "a", "бля, опять " + TEXT, T)
    assert v.reasons == ["obscene"]
    assert "1" in f.index  # a later clean re-post links to it
    assert f.moderate("2", "a", "опять " + TEXT, T + timedelta(hours=1)).repeat_of == "1"


def test_same_message_processed_twice_gets_the_same_verdict():
    f = ModerationFilter()
    assert f.moderate("1", "a", TEXT, T).decision == "accept"
    assert f.moderate("1", "a", TEXT, T).decision == "accept"  # not its own duplicate
    first = f.moderate("2", "a", TEXT, T + timedelta(hours=1))
    f.moderate("3", "a", "совсем другое: в парке сломали качели", T + timedelta(hours=2))
    assert f.moderate("2", "a", TEXT, T + timedelta(hours=1)) == first  # a retry: still the duplicate of 1
    assert len(f.index) == 3


def test_naive_and_aware_times_mix_and_missing_times_are_fine():
    f = ModerationFilter()
    f.moderate("1", "a", TEXT, T)
    assert f.moderate("2", "a", TEXT, T.replace(tzinfo=UTC) + timedelta(hours=1)).reasons == ["duplicate"]
    assert f.moderate("3", "b", TEXT).decision == "accept"
    assert f.moderate("4", "b", TEXT).reasons == ["duplicate"]


def test_unknown_ids_are_ignored():
    f = ModerationFilter()
    f.mark_answered("never-seen")
    assert len(f.index) == 0


def test_refilled_index_knows_answered_questions():
    index = RepeatIndex()
    index.add("1", "a", TEXT, T, answered=True)
    index.add("2", "a", "Опять на улице Ленина 5 не горит фонарь, темно и страшно ходить", T, answered=True)
    f = ModerationFilter(MOSKALENSKY, index=index)
    v = f.moderate(
        "3", "a", "Улица Ленина 5: фонарь не горит, вечером темно и страшно ходить", T + timedelta(days=40)
    )
    assert v.reasons == ["repeat_answered"]


def test_a_long_history_uses_buckets_and_still_finds_the_original():
    index = RepeatIndex()
    for i in range(LSH_FROM * 3):  # a prolific author: many different messages
        index.add(f"m{i}", "bot", f"Сообщение номер {i} про разное: тема {i * 7919 % 1000}, место {i}")
    index.add("target", "bot", TEXT)
    index.add("after", "bot", "Совсем другое: в парке сломали качели у пруда")
    found = index.find("bot", TEXT + " срочно")
    assert found and found[0].msg_id == "target" and found[0].similarity > 0.8
    assert index.find("someone-else", TEXT) == []


ANSWERED_TWICE = [
    ("1", TEXT),
    ("2", "Опять на улице Ленина 5 не горит фонарь, темно и страшно ходить"),
]
NO_NEW_ARGUMENTS = "Улица Ленина 5: фонарь не горит, вечером темно и страшно ходить"


def _answered_twice(profile: ModerationProfile) -> ModerationFilter:
    f = ModerationFilter(profile)
    for i, (msg_id, text) in enumerate(ANSWERED_TWICE):
        f.moderate(msg_id, "vk:9", text, T + timedelta(days=10 * i))
        f.mark_answered(msg_id)
    return f


def test_002_s18_p2_answered_several_times_no_new_arguments_is_not_processed():
    v = _answered_twice(load_profile("moskalensky")).moderate("3", "vk:9", NO_NEW_ARGUMENTS, T + timedelta(days=30))
    assert (v.decision, v.reasons, v.repeat_of) == ("drop", ["repeat_answered"], "2")


def test_002_s18_p2_does_not_apply_where_the_profile_lacks_it_the_repeat_is_processed():
    # 000 §20, 001 §17, 003 §15: processed, linked, and its answer must report the measures taken.
    for profile in (load_profile("default"), ModerationProfile()):
        v = _answered_twice(profile).moderate("3", "vk:9", NO_NEW_ARGUMENTS, T + timedelta(days=30))
        assert (v.decision, v.reasons, v.repeat_of) == ("accept", [], "2")


def test_002_s18_p2_switch_is_in_the_profile_data_and_validated(tmp_path):
    bad = tmp_path / "x.yaml"
    bad.write_text("name: x\nrepeat_answered_not_processed: maybe\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="repeat_answered_not_processed"):
        load_profile(str(bad))
    assert load_profile("moskalensky").repeat_answered_not_processed is True
    assert load_profile("default").repeat_answered_not_processed is False


def test_002_s18_p2_the_municipality_profile_picks_its_moderation_profile():
    assert profile_for("moskalensky") == "moskalensky"  # 002
    assert [profile_for(p) for p in ("severny", "sobolevo", "zarechny", "tashtagol", None)] == ["default"] * 5


def test_a_processed_repeat_asks_its_answer_for_the_measures_taken():
    from regulation.quality import check_answer

    def codes(text: str, repeat: bool) -> set[str]:
        return {q.code for q in check_answer(text, platform="vk", author_name=None, has_photos=False,
                                              kind="answer", repeat=repeat)}

    plain = "Здравствуйте! Спасибо за обращение, вопрос рассмотрен."
    assert codes(plain, True) - codes(plain, False)  # the repeat flag adds a problem
    done = "Здравствуйте! Фонарь заменили, освещение работает."
    assert codes(done, True) == codes(done, False)


def test_answered_messages_with_naive_and_aware_times_are_ordered_not_an_error():
    f = ModerationFilter()
    f.moderate("1", "a", TEXT, T)
    f.mark_answered("1")
    f.moderate("2", "a", "Опять на улице Ленина 5 не горит фонарь, темно и страшно ходить",
               (T + timedelta(days=5)).replace(tzinfo=UTC))
    f.mark_answered("2")
    v = f.moderate("3", "a", "Улица Ленина 5: фонарь не горит, вечером темно и страшно ходить", T + timedelta(days=40))
    assert (v.decision, v.repeat_of) == ("accept", "2")  # the later of the two answered messages
