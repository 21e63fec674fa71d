"""Migration 0007_places on a database with cases: the names in each case's `location` are copied
into `cases.place_names` (the backfill), a case naming no place gets NULL; and an ORM write of
`location` keeps the column in step. SQLite and PostgreSQL."""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from storage.case_moments import PLACE_SEP, place_names
from storage.db import make_engine
from storage.migrate import alembic_config, current, upgrade
from storage.tables import CaseRow
from tests.storage.test_migration_finish import CASES, MESSAGES

T0 = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
PLACES = [{"name": "посёлок Заречный", "kind": "settlement", "start": 0, "end": 5},
          {"name": "ул. Лесная, 4", "kind": "address", "start": 9, "end": 20}]


def _seed(conn) -> None:
    for n, location in ((1, PLACES), (2, [])):
        conn.execute(sa.insert(MESSAGES).values(
            id=n, source="vk", platform="vk", external_id=f"m{n}", author_id="0", text="…", fast_track=False,
            engagement=0, processed=True, revision=1, thread={"kind": "wall"}, attachments=[], raw={}, created_at=T0,
            stored_at=T0))
        conn.execute(sa.insert(CASES).values(
            id=n, message_id=n, profile="severny", channel="social", state="published", importance="normal",
            needs_manual=False, version=1, executors=[], location=location, record={}, created_at=T0, updated_at=T0))


def _names(conn) -> dict[int, str | None]:
    table = sa.table("cases", sa.column("id"), sa.column("place_names"))
    return dict(conn.execute(sa.select(table.c.id, table.c.place_names)).all())


def test_backfill_copies_the_names_then_down_and_up(database_url):
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0006_staffbot")
        with engine.begin() as conn:
            _seed(conn)
        upgrade(engine, "0007_places")
        with engine.begin() as conn:
            assert _names(conn) == {1: f"посёлок Заречный{PLACE_SEP}ул. Лесная, 4", 2: None}
        command.downgrade(alembic_config(engine), "0006_staffbot")
        assert current(engine) == "0006_staffbot"
        upgrade(engine)
        with engine.begin() as conn:
            assert _names(conn)[1].split(PLACE_SEP) == ["посёлок Заречный", "ул. Лесная, 4"]
    finally:
        engine.dispose()


def test_assigning_location_keeps_the_names():
    row = CaseRow(location=PLACES)
    assert row.place_names == f"посёлок Заречный{PLACE_SEP}ул. Лесная, 4"
    row.location = [{"name": "село Берёзовка"}, {"kind": "no name"}, "not a place"]
    assert row.place_names == "село Берёзовка"
    row.location = []
    assert row.place_names is None


def test_a_separator_inside_a_name_cannot_split_it():
    assert place_names([{"name": f"a{PLACE_SEP}b"}]).split(PLACE_SEP) == ["a b"]
