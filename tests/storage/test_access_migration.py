"""Migration 0002_access on a database that already has users and cases: the departments
directory is seeded (the sample's names, plus any department a user names), users keep their role,
and the assignment history is rebuilt from cases.executors and the record's returns."""

import json
from datetime import UTC, datetime

import sqlalchemy as sa

from storage.db import make_engine
from storage.migrate import upgrade

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_upgrade_backfills_departments_and_assignments(database_url):
    engine = make_engine(database_url)
    upgrade(engine, "0001")
    with engine.begin() as c:
        c.execute(sa.text("INSERT INTO users (login, role, department, password_hash, active, created_at) VALUES "
                          "('exe', 'executor', 'dorogi', 'x', true, :t), ('old', 'executor', 'arkhiv', 'x', true, :t)"),
                  {"t": T0})
        for i in (1, 2):
            c.execute(sa.text("INSERT INTO messages (id, source, platform, external_id, thread, author_id, text, "
                              "created_at, attachments, raw, stored_at, processed, revision, fast_track, engagement) "
                              "VALUES (:i, 'tg', 'telegram', :e, '{}', '1', 't', :t, '[]', '{}', :t, true, 1, false, 0)"),
                      {"i": i, "e": f"m{i}", "t": T0})
        routed = {"responsible": "dorogi", "milestones": {"routed_at": "2026-11-02T10:00:00+00:00"}, "returns": []}
        returned = {"responsible": None, "returns": [{"department": "zhkh", "at": "2026-11-03T10:00:00+00:00"}]}
        for i, executors, record in ((1, ["dorogi", "ekologiya"], routed), (2, [], returned)):
            c.execute(sa.text("INSERT INTO cases (id, message_id, profile, channel, state, importance, needs_manual, "
                              "executors, location, record, created_at, updated_at, version) VALUES (:i, :i, "
                              "'severny', 'social', 'routed', 'normal', false, :x, '[]', :r, :t, :t, 1)"),
                      {"i": i, "x": json.dumps(executors), "r": json.dumps(record), "t": T0})
    upgrade(engine)
    with engine.connect() as c:
        names = dict(c.execute(sa.text("SELECT id, name FROM departments")).all())
        users = c.execute(sa.text("SELECT login, role, department FROM users ORDER BY login")).all()
        rows = c.execute(sa.text("SELECT case_id, department, role, assigned_at, unassigned_at "
                                 "FROM case_assignments ORDER BY case_id, department")).all()
    engine.dispose()
    assert names["dorogi"] == "Отдел дорожного хозяйства и транспорта" and names["arkhiv"] == "arkhiv"
    assert [tuple(u) for u in users] == [("exe", "executor", "dorogi"), ("old", "executor", "arkhiv")]
    assert [(r[0], r[1], r[2], r[4] is None) for r in rows] == [
        (1, "dorogi", "responsible", True), (1, "ekologiya", "co", True), (2, "zhkh", "responsible", False)]
