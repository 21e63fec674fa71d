"""Comments under the community's photos, videos and market items; restores; the error codes an
operator must act on (7, 17) and the refusals (15, 260). Mapping on VK's documented event objects,
the connector on the recorded cassettes, and a reply end to end on the live emulator."""

import pytest
from sqlalchemy import select

from connectors.errors import AuthFailed, Fatal
from connectors.vk import mapping
from connectors.vk.client import classify
from connectors.vk.connector import VkConnector
from otklik.models import Batch, EventKind
from otklik.poller import PollLoop, poll_once
from sandbox.runner import serving
from sandbox.vk.emulator import COMMUNITY_TOKEN, VkEmulator
from storage.tables import MessageRow
from tests.connectors.vk.test_cassettes import calls, connector, drain, form, replay, reply_to
from tests.connectors.vk.test_live import connector as live_connector
from tests.connectors.vk.test_live import reply as live_reply

GROUP = 218000001
# (kind, the object's id key, its owner key in new/edit/restore events, the reply method)
MEDIA = [
    ("photo", "photo_id", "photo_owner_id", "photos.createComment"),
    ("video", "video_id", "video_owner_id", "video.createComment"),
    ("market", "item_id", "market_owner_id", "market.createComment"),
]


def comment_event(kind, id_key, owner_key, what="new", *, obj_id=457239017, cid=7, **extra):
    """An event as VK 5.199 documents it: the comment object plus the object's id and owner."""
    obj = {"id": cid, "from_id": 501, "date": 1767250811, "text": "Когда уберут снег?",
           id_key: obj_id, owner_key: -GROUP, **extra}
    return {"group_id": GROUP, "type": f"{kind}_comment_{what}", "event_id": "e1", "v": "5.199", "object": obj}


@pytest.mark.parametrize(("kind", "id_key", "owner_key", "method"), MEDIA)
@pytest.mark.parametrize(("what", "event"), [("new", EventKind.NEW), ("edit", EventKind.EDIT),
                                             ("restore", EventKind.RESTORE)])
def test_media_comment_events_map(kind, id_key, owner_key, method, what, event):
    [m] = mapping.map_event(comment_event(kind, id_key, owner_key, what), "vk:main", GROUP)
    assert m.external_id == f"{kind}-{GROUP}_457239017_7" and m.event == event
    assert m.thread.kind == kind and m.thread.ids == {"owner_id": -GROUP, id_key: 457239017, "comment_id": 7}
    assert m.text == "Когда уберут снег?" and m.author.id == "501" and m.reply_to == f"{kind}-{GROUP}_457239017"
    assert m.url.startswith("https://vk.com/") and str(457239017) in m.url
    assert mapping.MEDIA[kind].method == method


@pytest.mark.parametrize(("kind", "id_key", "owner_key", "method"), MEDIA)
def test_media_comment_delete_and_reply_and_own(kind, id_key, owner_key, method):
    # The delete event names the owner `owner_id` and carries no text (VK's documented shape).
    body = {"group_id": GROUP, "type": f"{kind}_comment_delete",
            "object": {"owner_id": -GROUP, "id": 7, "user_id": 501, "deleter_id": 501, id_key: 457239017}}
    [m] = mapping.map_event(body, "vk:main", GROUP)
    assert m.event == EventKind.DELETE and m.external_id == f"{kind}-{GROUP}_457239017_7"
    [r] = mapping.map_event(comment_event(kind, id_key, owner_key, reply_to_comment=5, reply_to_user=9),
                            "vk:main", GROUP)
    assert r.reply_to == f"{kind}-{GROUP}_457239017_5"
    own = comment_event(kind, id_key, owner_key)
    own["object"]["from_id"] = -GROUP  # our answer coming back in the stream
    assert mapping.map_event(own, "vk:main", GROUP) == []
    missing = comment_event(kind, id_key, owner_key)
    del missing["object"][id_key]
    with pytest.raises(Exception) as exc:  # a broken event is the parser's one error, not a crash
        mapping.map_event(missing, "vk:main", GROUP)
    assert type(exc.value).__name__ == "Malformed"


@pytest.mark.parametrize("kind", ["wall_reply_restore", "board_post_restore"])
def test_restores_are_restores_not_edits(kind):
    obj = {"id": 3, "from_id": 501, "date": 1767250811, "text": "Вернул комментарий",
           "owner_id": -GROUP, "post_id": 2, "topic_owner_id": -GROUP, "topic_id": 40000001}
    [m] = mapping.map_event({"type": kind, "group_id": GROUP, "object": obj}, "vk:main", GROUP)
    assert m.event == EventKind.RESTORE


def test_restore_undeletes_the_stored_message(db):
    new = comment_event("photo", "photo_id", "photo_owner_id")
    gone = {"group_id": GROUP, "type": "photo_comment_delete",
            "object": {"owner_id": -GROUP, "id": 7, "user_id": 501, "deleter_id": 501, "photo_id": 457239017}}
    back = comment_event("photo", "photo_id", "photo_owner_id", "restore")
    def ingest(body):
        return db.ingest("vk:main", Batch(messages=mapping.map_event(body, "vk:main", GROUP)))

    def deleted_at():
        with db.session() as s:
            return s.execute(select(MessageRow.deleted_at)).scalar_one()

    assert ingest(new).new == 1
    assert ingest(gone).deleted == 1 and deleted_at() is not None
    result = ingest(back)
    assert result.updated == 1 and result.stored_ids == [] and deleted_at() is None  # same text: no re-run
    assert ingest(gone).deleted == 1  # and it can be deleted again
    back["object"]["text"] = "Когда уберут снег во дворе?"
    result = ingest(back)  # restored with another text: moderated and routed again
    assert result.updated == 1 and len(result.stored_ids) == 1 and deleted_at() is None
    assert ingest(back).duplicates == 1  # a repeated restore changes nothing


async def test_media_comments_cassette():
    conn = connector()
    with replay("media_comments") as seen:
        _, cursor = await drain(conn)
        first = await conn.fetch(cursor)
        photo, thread, video, market = first.messages
        assert [m.thread.kind for m in first.messages] == ["photo", "photo", "video", "market"]
        assert thread.reply_to == photo.external_id
        changes = await conn.fetch(first.next_cursor)
        assert [(m.external_id, m.event) for m in changes.messages] == [
            (photo.external_id, EventKind.EDIT), (thread.external_id, EventKind.DELETE),
            (thread.external_id, EventKind.RESTORE)]
        answers = ("Здравствуйте! Площадку уберут до пятницы.", "Запись опубликуем на этой неделе.",
                   "Да, оплатить можно на месте.")
        deliveries = [await conn.send(reply_to(m, text)) for m, text in zip((photo, video, market), answers, strict=True)]
        again = await conn.send(reply_to(photo, answers[0]))
        assert again.external_id == deliveries[0].external_id  # the same guid: VK posts nothing new
        assert [d.external_id.split("_")[0] for d in deliveries] == [f"{k}-{GROUP}" for k in ("photo", "video", "market")]
        own = await conn.fetch(changes.next_cursor)
        assert own.messages == []  # our three answers came back and are not citizens' messages
    sent = [r for r in seen if r.url.path.endswith("createComment")]
    assert calls(sent) == ["photos.createComment", "video.createComment", "market.createComment",
                           "photos.createComment"]
    params = form(sent[0])
    assert params["from_group"] == "1" and params["reply_to_comment"] == "1" and params["guid"].startswith("otklik-")
    assert params["photo_id"] == "457239017" and params["owner_id"] == f"-{GROUP}"
    assert params["access_token"] == "{user_token}"  # VK allows these methods to user tokens only
    assert form(sent[1])["video_id"] and form(sent[2])["item_id"]


async def test_media_reply_without_user_token_alerts():
    conn = connector(secrets={"token": "{token}"})
    m = mapping.map_event(comment_event("photo", "photo_id", "photo_owner_id"), "vk:main", GROUP)[0]
    with replay("media_comments"), pytest.raises(AuthFailed) as exc:
        await conn.send(reply_to(m, "Здравствуйте!"))
    assert exc.value.alert and "user_token" in str(exc.value)


@pytest.mark.parametrize(("code", "cls", "alert"), [(7, AuthFailed, True), (17, AuthFailed, True),
                                                    (15, Fatal, False), (260, Fatal, False)])
def test_error_codes_by_what_the_operator_must_do(code, cls, alert):
    error = classify({"error_code": code, "error_msg": "x",
                      "redirect_uri": "https://m.vk.com/login?act=security_check&api_hash=SECRETHASH"})
    assert type(error) is cls and error.alert is alert and error.code == code
    assert "SECRETHASH" not in str(error)


async def test_error_7_on_a_photo_reply_parks_it():
    conn = connector()
    # The recorded request: the cassette's photo, its first comment, the same reply id and text.
    m = mapping.map_event(comment_event("photo", "photo_id", "photo_owner_id", cid=1), "vk:main", GROUP)[0]
    with replay("error_7_permission"), pytest.raises(AuthFailed) as exc:
        await conn.send(reply_to(m, "Здравствуйте!"))
    assert exc.value.code == 7 and exc.value.alert and "right" in str(exc.value)


async def test_error_15_on_a_video_reply_fails_it():
    conn = connector()
    m = mapping.map_event(comment_event("video", "video_id", "video_owner_id", obj_id=456239018, cid=1),
                          "vk:main", GROUP)[0]
    with replay("error_15_access"), pytest.raises(Fatal) as exc:
        await conn.send(reply_to(m, "Здравствуйте!"))
    assert exc.value.code == 15 and not exc.value.alert


async def test_error_17_reaches_the_operator(db):
    """Validation required while polling: the source pauses and the operator is told, once."""
    alerts = []

    async def on_alert(kind, source, text):
        alerts.append((kind, source, text))

    loop = PollLoop(connector(), db, on_alert=on_alert)
    with replay("error_17_validation") as seen:
        delay = await loop.step()
        assert calls(seen) == ["groups.getLongPollServer"]  # not retried: a person must act
    assert delay > 0 and len(alerts) == 1
    kind, source, text = alerts[0]
    assert kind == "auth_failed" and source == "vk:main" and "security check" in text
    assert "api_hash" not in text


async def test_reply_to_a_photo_comment_thread_on_the_emulator(db):
    emulator = VkEmulator(long_poll_cap=0.2)
    with serving(emulator) as server:
        conn: VkConnector = live_connector(server)
        await poll_once(conn, db)  # takes the stream's position
        first = server.call(emulator.inject, {"text": "На фото яма", "where": "photo", "author_id": 31})
        server.call(emulator.inject, {"text": "Она там с весны", "where": "photo", "author_id": 32,
                                      "comment_id": first["comment_id"]})
        batch = await conn.fetch(db.get_cursor("vk"))
        db.ingest("vk", batch)
        root, answer_to = batch.messages
        assert root.external_id == first["id"] and answer_to.reply_to == root.external_id
        delivery = await conn.send(live_reply(answer_to, "Здравствуйте! Яму заделают."))
        again = await conn.send(live_reply(answer_to, "Здравствуйте! Яму заделают."))
        assert again.external_id == delivery.external_id
        posted = [r for r in emulator.replies if r["method"] == "photos.createComment"]
        assert len(posted) == 1 and posted[0]["from_id"] == -GROUP
        assert posted[0]["reply_to"] == answer_to.external_id  # under the citizen's comment
        result = await poll_once(conn, db)  # our answer comes back in the stream
        assert (result.new, result.own_replies) == (0, 0) and db.count_messages("vk") == 2
        # A community token alone cannot answer there (VK: user tokens only).
        lone = live_connector(server, secrets={"token": COMMUNITY_TOKEN})
        with pytest.raises(AuthFailed):
            await lone.send(live_reply(root, "Здравствуйте!"))
        await conn.aclose()
        await lone.aclose()


@pytest.mark.parametrize(("kind", "id_key", "owner_key", "method"), MEDIA)
def test_normalize_reads_callback_bodies_and_bare_objects(kind, id_key, owner_key, method, tmp_path):
    """`otklik normalize` on a Callback body of each kind, and on the bare event object."""
    import json
    import subprocess
    import sys

    body = comment_event(kind, id_key, owner_key)
    for payload in (body, body["object"]):
        f = tmp_path / "p.json"
        f.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        r = subprocess.run([sys.executable, "-m", "otklik", "normalize", "--platform", "vk", str(f)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        [m] = [json.loads(line) for line in r.stdout.splitlines()]
        assert m["external_id"] == f"{kind}-{GROUP}_457239017_7" and m["thread"]["kind"] == kind
