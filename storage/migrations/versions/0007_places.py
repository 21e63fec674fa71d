"""places: the names of a case's location as plain text (`cases.place_names`), for reports (issue 18)

A quarter's report read each case's places by unpacking its `location` JSON in the database: half
of the main query's time over 100,000 cases. The names are now kept beside the JSON, set whenever
`location` is assigned (storage.tables.CaseRow), and filled here for the cases already stored.

Revision ID: 0007_places
Revises: 0006_staffbot
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

from storage.case_moments import place_names

revision = '0007_places'
down_revision = '0006_staffbot'
branch_labels = None
depends_on = None

BATCH = 2000


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite has it): a batch copy of `cases` would break 0004_console's
    # full-text triggers, which name the table.
    op.add_column('cases', sa.Column('place_names', sa.Text(), nullable=True))
    cases = sa.table('cases', sa.column('id', sa.Integer), sa.column('location', sa.JSON),
                     sa.column('place_names', sa.Text))
    conn = op.get_bind()
    update = (cases.update().where(cases.c.id == sa.bindparam('case_id'))
              .values(place_names=sa.bindparam('names')))
    last = 0
    while True:  # in batches by id, like 0004_finish's backfill
        rows = conn.execute(sa.select(cases.c.id, cases.c.location).where(cases.c.id > last)
                            .order_by(cases.c.id).limit(BATCH)).all()
        if not rows:
            return
        named = [{'case_id': cid, 'names': place_names(loc)} for cid, loc in rows if place_names(loc)]
        if named:
            conn.execute(update, named)
        last = rows[-1][0]


def downgrade() -> None:
    op.execute('ALTER TABLE cases DROP COLUMN place_names')  # SQLite 3.35+ and PostgreSQL alike
