from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime

import pytest

from otklik.exceptions import ConfigError
from router.classifier import Router, RouterProfile, resolve_profile
from router.executors import Executors, ExecutorsFile
from router.importance import load_importance
from router.location import load_gazetteer
from router.rubricator import GROUPS, load_rubricator

WINTER = datetime(2026, 1, 20, 6, 0, tzinfo=UTC)
SUMMER = datetime(2026, 7, 20, 6, 0, tzinfo=UTC)

# Messages written for these tests, one or more per group of the regional classifier.
MESSAGES = [
    ("Драка и пьяные компании каждую ночь у магазина, вызываем полицию — не приезжают", "Безопасность"),
    ("Весной опять подтопление, паводок заливает огороды, нужна помощь МЧС", "Безопасность"),
    ("На улице Лесной не горят фонари, уличное освещение не работает второй месяц", "Благоустройство"),
    ("Во дворе сломаны качели и горка на детской площадке", "Благоустройство"),
    ("Стая бродячих собак бросается на прохожих у остановки", "Благоустройство"),
    ("Сухое аварийное дерево нависает над тротуаром, просим спилить", "Благоустройство"),
    ("Когда проведут газ в деревню? Газификацию обещают десять лет", "Газ и топливо"),
    ("Нужны дрова и уголь для пенсионеров с печным отоплением", "Газ и топливо"),
    ("Сосед самовольно захватил часть земельного участка, нужно межевание", "Государственная собственность"),
    ("Огромные ямы на дороге, асфальт разбит, весь транспорт объезжает по обочине", "Дороги"),
    ("Дорогу до села не чистят от снега, гололёд, машины съезжают в кювет", "Дороги"),
    ("Просим установить светофор и нанести разметку на пешеходном переходе", "Дороги"),
    ("В квартире холодные батареи, отопление еле тёплое, управляющая компания молчит", "ЖКХ"),
    ("Из крана течёт ржавая вода, напор слабый, водоканал не реагирует", "ЖКХ"),
    ("Течёт крыша, в подъезде плесень, капремонт дома всё откладывают", "ЖКХ"),
    (
        "Не могу записаться к терапевту, талонов в поликлинике нет, фельдшер в ФАП уволился",
        "Здравоохранение/Медицина",
    ),
    ("В аптеке нет льготных лекарств, инсулин не выдают по рецепту", "Здравоохранение/Медицина"),
    ("Не пришёл сертификат о вакцинации от ковида, куда обращаться?", "Коронавирус"),
    ("В доме культуры нет отопления, концерты и кружки самодеятельности отменили", "Культура"),
    ("В МФЦ огромная очередь, электронная очередь не работает", "МФЦ «Мои документы»"),
    ("Мужа мобилизовали, какие выплаты положены семье мобилизованного?", "Мобилизация"),
    ("Мусор с контейнерной площадки не вывозят две недели, баки переполнены", "Мусор/Свалки/ТКО"),
    ("За селом стихийная свалка, везут строительный мусор в лес", "Мусор/Свалки/ТКО"),
    ("Учительница математики уволилась, дети остались без уроков", "Образование"),
    ("Очередь в детский сад не двигается, в ясли не берут", "Образование"),
    ("Автобус до райцентра ходит два раза в день, расписание не соблюдают", "Общественный транспорт"),
    (
        "Обелиск павшим воинам разрушается, мемориал требует ремонта",
        "Памятники и объекты культурного наследия",
    ),
    (
        "Кладбище заросло, нет подъезда, ритуальные услуги берут втридорога за захоронение",
        "Погребение и похоронное дело",
    ),
    ("В столовой просроченные продукты, отравление у детей, нужен Роспотребнадзор", "Роспотребнадзор"),
    ("В селе нет сотовой связи и интернета, вышка не работает", "Связь и телевидение"),
    (
        "Не назначают пособие многодетной семье, соцзащита отказала в выплате",
        "Социальное обслуживание и защита",
    ),
    ("Одинокой пожилой инвалидке нужен социальный работник", "Социальное обслуживание и защита"),
    ("Как проголосовать за народный проект инициативного бюджетирования?", "Спецпроекты"),
    (
        "Застройщик ведёт стройку без разрешения на строительство, котлован не огорожен",
        "Строительство и архитектура",
    ),
    ("Стихийная торговля с машин у рынка, продавцы без чеков", "Торговля"),
    ("Залейте каток и почините хоккейную коробку у стадиона", "Физическая культура и спорт"),
    ("Предприятие сбрасывает отходы в реку, выбросы и вонь, нечем дышать", "Экология"),
    ("Работодатель не выплачивает зарплату три месяца, центр занятости не помогает", "Экономика и бизнес"),
    ("Опять отключили электричество, перепады напряжения, РЭС не отвечает", "Электроснабжение"),
]


@pytest.fixture(scope="module")
def router() -> Router:
    return Router.load()


@pytest.mark.parametrize("text, group", MESSAGES, ids=[g for _, g in MESSAGES])
def test_rules_route_messages_to_their_group(router, text, group):
    r = router.route(text, when=SUMMER)
    assert r.topic_group == group
    assert r.topic in {t.name for t in router.rubricator.topics if t.group == group}
    assert r.topic_group in GROUPS


def test_messages_cover_every_group():
    assert {g for _, g in MESSAGES} == set(GROUPS)


def test_routing_carries_location_importance_and_executors(router):
    r = router.route(
        "<p>В Бергуле на ул. Ленина, д. 5 нет света&nbsp;третьи сутки, дети мёрзнут</p>", when=WINTER
    )
    assert r.topic_group == "Электроснабжение"
    assert [m.name for m in r.location] == ["село Бергуль", "ул. Ленина, д. 5"]
    assert r.importance == "high" and "no_power" in r.reasons
    assert r.executors == ["zhkh"]
    assert not r.needs_manual and 0 < r.confidence <= 1


def test_unclear_message_goes_to_the_curator(router):
    r = router.route("Спасибо большое, всё хорошо", when=SUMMER)
    assert r.needs_manual and r.confidence == 0
    assert r.topic_group in GROUPS  # still spelled as a group, for the curator's form


def test_platform_topic_wins_when_it_names_ours(router):
    r = router.route("Прошу разобраться", platform_topic="Дороги", when=SUMMER)
    assert (r.topic_group, r.confidence, r.needs_manual) == ("Дороги", 1.0, False)
    assert "platform" in r.reasons
    r = router.route("Яма на дороге", platform_topic="Что-то своё", when=SUMMER)
    assert r.topic_group == "Дороги" and "rules" in r.reasons


def test_location_specific_route_and_substitute(router):
    r = router.route("В Бергуле сломали качели на детской площадке", when=SUMMER)
    assert r.executors == ["adm_bergul", "blagoustroystvo"]
    r = router.route("В Биазе сломали качели на детской площадке", when=SUMMER)
    assert r.executors == ["blagoustroystvo"]


def test_confidence_orders_clear_above_vague(router):
    clear = router.rules("Мусор не вывозят, контейнеры переполнены, региональный оператор молчит")
    vague = router.rules("Во дворе непорядок, примите меры у дома")
    assert clear.confidence > vague.confidence


def test_route_many_matches_route(router):
    texts = [t for t, _ in MESSAGES[:8]]
    assert [r.topic_group for r in router.route_many(texts, when=SUMMER)] == [
        router.route(t, when=SUMMER).topic_group for t in texts
    ]


def test_profile_by_name_and_path(tmp_path):
    assert resolve_profile("default").name == "default.yaml"
    with pytest.raises(ConfigError, match="unknown router profile 'nowhere'"):
        resolve_profile("nowhere")
    profile = tmp_path / "p.yaml"
    profile.write_text("timezone: Mars/Olympus\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"p.yaml:1: timezone: .*unknown time zone"):
        Router.load(profile)


def test_profile_thresholds_decide_needs_manual(tmp_path):
    profile = tmp_path / "strict.yaml"
    profile.write_text("min_confidence: 0.99\n", encoding="utf-8")
    r = Router.load(profile).route("Яма на дороге", when=SUMMER)
    assert r.needs_manual


def test_executor_routes_must_name_known_topics_and_places():
    data = ExecutorsFile.model_validate(
        {
            "departments": [{"id": "a", "name": "A"}],
            "routes": [{"group": "ЖКХ", "topic": "Нет такой темы", "executors": ["a"]}],
        }
    )
    with pytest.raises(ConfigError, match="no such topic"):
        Router(
            load_rubricator(), Executors(data), load_gazetteer(), load_importance(), profile=RouterProfile()
        )
    data = ExecutorsFile.model_validate(
        {
            "departments": [{"id": "a", "name": "A"}],
            "routes": [{"group": "ЖКХ", "location": "Атлантида", "executors": ["a"]}],
        }
    )
    with pytest.raises(ConfigError, match="no such settlement"):
        Router(
            load_rubricator(), Executors(data), load_gazetteer(), load_importance(), profile=RouterProfile()
        )


def test_absent_responsible_is_replaced_on_the_local_date(tmp_path):
    data = textwrap.dedent("""
        departments:
          - {id: roads, name: Дороги, substitute: deputy, absent: [{from: 2026-07-01, to: 2026-07-20, reason: leave}]}
          - {id: deputy, name: Заместитель}
        routes:
          - {group: Дороги, executors: [roads]}
    """)
    (tmp_path / "ex.yaml").write_text(data, encoding="utf-8")
    (tmp_path / "p.yaml").write_text("timezone: Asia/Novosibirsk\nexecutors: ex.yaml\n", encoding="utf-8")
    router = Router.load(tmp_path / "p.yaml")
    # 17:30 UTC on 20 July is already 21 July in Novosibirsk: the leave is over there.
    assert router.route("Яма на дороге", when=datetime(2026, 7, 20, 17, 30, tzinfo=UTC)).executors == [
        "roads"
    ]
    r = router.route("Яма на дороге", when=datetime(2026, 7, 20, 10, 0, tzinfo=UTC))
    assert r.executors == ["deputy"] and "substitute:roads->deputy (leave)" in r.reasons
    assert date(2026, 7, 1)  # dates in the file are local calendar days


def test_platform_group_keeps_the_rules_topic_inside_it(router):
    r = router.route("Нет горячей воды и холодные батареи", platform_topic="ЖКХ", when=SUMMER)
    assert (r.topic_group, r.topic) == ("ЖКХ", "Отопление")
