"""Answer quality checks (000 §23, 001 §18, 003 §14, 003 прил. 1 §16). The texts are written
for these tests."""

import pytest

from regulation.quality import check_answer, load_quality_data

GOOD = (
    "Здравствуйте, Анна! Фонари на улице Садовой заменили сегодня утром, вечером улица освещена. "
    "Спасибо, что сообщили."
)


def codes(text, **kw):
    kw.setdefault("platform", "vk")
    return sorted({i.code for i in check_answer(text, **kw)})


def test_a_good_answer_passes():
    assert codes(GOOD, platform="telegram") == []
    assert codes(GOOD, platform="kamchatka", has_photos=True) == []


@pytest.mark.parametrize(
    "opening",
    ["Добрый день!", "Уважаемая Анна Петровна,", "Анна, здравствуйте.", "Приветствуем! ", "Доброе утро."],
)
def test_a_greeting_or_an_address_to_the_author(opening):
    text = f"{opening} Яму у дома 5 засыпали щебнем, весной положим асфальт. Спасибо за сигнал."
    assert "no_greeting" not in codes(text, author_name="Анна Петрова")


def test_without_a_greeting():
    issues = check_answer("Яму у дома 5 засыпали щебнем, весной положим асфальт.", platform="vk")
    (issue,) = [i for i in issues if i.code == "no_greeting"]
    assert issue.severity == "error"


def test_bureaucratese_with_a_plainer_alternative_and_its_place():
    text = "Здравствуйте! В рамках программы осуществлён ремонт, на данный момент данная дорога открыта."
    issues = [i for i in check_answer(text, platform="vk") if i.code == "bureaucratese"]
    found = {text[i.span[0] : i.span[1]].lower() for i in issues}
    assert found == {"в рамках", "осуществлён", "на данный момент", "данная"}
    assert any("чтобы" in p.instead for p in load_quality_data().phrases if p.phrase == "в целях")
    assert all(i.severity == "warning" for i in issues)


def test_plain_words_that_merely_begin_like_bureaucratese_are_not_flagged():
    text = "Здравствуйте! Персональные данные мы не передаём, а приветствие ваше прочитали. Вопрос решён сегодня."
    assert codes(text) == []


def test_rudeness_and_familiarity():
    assert "rude" in codes("Здравствуйте. Сами виноваты, что поставили машину у контейнеров на всю ночь.")
    assert "familiar" in codes("Привет! Короче, щас всё починим, не переживай за свой двор и подъезд.")
    assert "familiar" in codes(
        "Здравствуйте! Тебе ответили ещё вчера, посмотри выше в комментариях, там всё."
    )
    assert "familiar" in codes("Здравствуйте! Всё сделаем в срок, не волнуйтесь!!! Спасибо)))")
    # "Приветствуем" is a greeting, not "привет".
    assert codes("Приветствуем! Снег с площадки вывезли сегодня утром, спасибо за обращение.") == []


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "Здравствуйте! Мы мы приедем завтра утром и всё осмотрим на месте вместе с вами.",
            "повтор слова «Мы»",
        ),
        (
            "Здравствуйте! Приедем завтра , осмотрим двор и напишем вам о результатах здесь.",
            "пробел перед знаком",
        ),
        ("Здравствуйте! Приедем завтра. осмотрим двор и напишем вам о результатах здесь.", "строчной буквы"),
        (
            "Здравствуйте! Приедем завтра,осмотрим двор и напишем вам о результатах здесь.",
            "нет пробела после знака",
        ),
        (
            "Здравствуйте! Приедем завтра.Осмотрим двор и напишем вам о результатах здесь.",
            "нет пробела после точки",
        ),
        ("Здравствуйте! Извените за задержку, в течении недели вывезем весь мусор со двора.", "→ «извините»"),
        (
            "Здравствуйте! Подьезд покрасят по окончанию отопительного сезона, это в мае.",
            "«Подьезд» → «подъезд…»",
        ),
    ],
    ids=[
        "doubled word",
        "space before comma",
        "lowercase sentence",
        "no space after comma",
        "no space after stop",
        "misspelling",
        "misspelling with a stem",
    ],
)
def test_light_spelling(text, expected):
    messages = [i.message for i in check_answer(text, platform="vk") if i.code == "spelling"]
    assert any(expected in m for m in messages), messages


def test_abbreviations_and_ellipses_do_not_end_sentences():
    text = (
        "Здравствуйте! На ул. Садовой, д. 5 работы закончили, т. е. проезд открыт. Стоимость 120 тыс. "
        "рублей, работы шли до вечера... и всё успели."
    )
    assert codes(text) == []


def test_length_fits_the_network():
    assert "too_long" in codes("Здравствуйте! " + "Очень подробно. " * 300, platform="telegram")  # > 4096
    long = codes("Здравствуйте! " + "Очень подробно. " * 100, platform="telegram")  # 1600: readable, but long
    assert "long" in long and "too_long" not in long
    assert "long" not in codes("Здравствуйте! " + "Очень подробно. " * 100, platform="pos")
    assert "too_short" in codes("Здравствуйте! Решено.", platform="vk")
    assert "too_short" not in codes("Здравствуйте! Решено.", platform="vk", kind="intermediate")


def test_kamchatka_requires_confirming_photos_for_the_answer():
    """000 прил. 2 §2.5."""
    assert "photos_missing" in codes(GOOD, platform="kamchatka")
    assert "photos_missing" not in codes(GOOD, platform="kamchatka", has_photos=True)
    assert "photos_missing" not in codes(GOOD, platform="kamchatka", kind="intermediate")
    assert "photos_missing" not in codes(GOOD, platform="vk")


def test_an_answer_to_a_repeat_reports_the_measures_taken():
    """000 §20, 001 §17, 002 §15, 003 §13."""
    vague = "Здравствуйте, Анна! Ваше сообщение получили, спасибо, что написали нам снова об этом дворе."
    assert "no_measures" in codes(vague, repeat=True)
    assert "no_measures" not in codes(vague, repeat=False)
    assert "no_measures" not in codes(GOOD, repeat=True)  # "заменили"


def test_a_clarifying_question_asks_something():
    assert "no_question" in codes("Здравствуйте! Уточните, пожалуйста, номер дома.", kind="clarify")
    assert "no_question" not in codes("Здравствуйте! Какой номер дома?", kind="clarify")
