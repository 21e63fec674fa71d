"""The «Кузбасс Онлайн» mapping on its own: what an answer and a take must carry (004 §2.3), and
broken appeals become our Malformed (or a rejected item), never a Python exception."""

import pytest

from connectors.errors import Fatal, Malformed
from connectors.kuzbass_online import mapping
from otklik.models import Attachment, Platform, Reply, Thread
from sandbox import cassette

APPEAL = cassette.load("kuzbass_online", "first_sync")["interactions"][0]["response"]["json"]["items"][0]


def reply(**kw) -> Reply:
    return Reply(id="r1", source="ko", platform=Platform.KUZBASS_ONLINE,
                 thread=Thread(kind="appeal", ids={"appeal_id": 51001}), text="Здравствуйте! Сделано.", **kw)


@pytest.mark.parametrize("outcome,result", [("решено", "решено"), ("Разъяснено", "разъяснено"),
                                            ("solved", "решено"), ("explained", "разъяснено")])
def test_004_2_3_the_answer_carries_its_result(outcome, result):
    body = mapping.answer_body(reply(outcome=outcome, attachments=[Attachment(type="doc", url="https://x.test/a.pdf")]))
    assert body == {"text": "Здравствуйте! Сделано.", "result": result, "client_reference": "r1",
                    "attachments": [{"url": "https://x.test/a.pdf", "name": "a.pdf"}]}


@pytest.mark.parametrize("kw", [{}, {"outcome": "отложено"}, {"outcome": "решено", "kind": "intermediate"}])
def test_004_2_3_an_answer_without_a_result_is_refused(kw):
    with pytest.raises(Fatal):
        mapping.answer_body(reply(**kw))


def test_004_2_3_a_take_names_category_subcategory_and_executor():
    assert mapping.take_body(APPEAL, category=None, subcategory=None, executor="Администрация") == {
        "category": "Дороги", "subcategory": "Прочее", "executor": "Администрация"}
    with pytest.raises(Fatal):
        mapping.take_body(APPEAL, category=None, subcategory=None, executor=None)
    with pytest.raises(Fatal):
        mapping.take_body({}, category=None, subcategory="Ямы", executor="Администрация")


def test_an_appeal_maps_and_a_broken_one_is_malformed():
    m = mapping.message_of(APPEAL, "ko")
    assert (m.external_id, m.thread.ids, m.platform_topic_group) == ("51001", {"appeal_id": 51001}, "Дороги")
    assert [a.type for a in m.attachments] == ["photo", "photo"] and m.platform_deadline is not None
    for broken in ({**APPEAL, "created_at": "вчера"}, {**APPEAL, "id": True}, {**APPEAL, "id": "x"}, [], None,
                   {**APPEAL, "history": [{"type": "rated", "rating": 99, "at": "2026-01-01T00:00:00Z"}]}):
        with pytest.raises(Malformed):
            mapping.message_of(broken, "ko")
            mapping.status_changes(broken)
