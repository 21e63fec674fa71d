"""finish: the case record's lifecycle moments and outcome as columns of cases, for reports (issue 18),
with a backfill from the JSON record of the rows already there

Revision ID: 0004_finish
Revises: 0003_reports
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import storage.tables
from storage.case_moments import COLUMNS, MOMENT_PATHS, moments

revision = '0004_finish'
down_revision = '0003_reports'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = storage.tables.UTCDateTime(timezone=True)
BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        for name in MOMENT_PATHS:
            batch_op.add_column(sa.Column(name, When, nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('reopened', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('repeat_of', Id, nullable=True))
        batch_op.add_column(sa.Column('ratings', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_created_at'), ['created_at'], unique=False)
    _backfill()


def _backfill() -> None:
    """Every existing case gets its columns from its record, in batches by id."""
    cases = sa.table('cases', sa.column('id', Id), sa.column('record', sa.JSON),
                     *[sa.column(n, When) for n in MOMENT_PATHS], sa.column('outcome', sa.String),
                     sa.column('reopened', sa.Integer), sa.column('repeat_of', Id), sa.column('ratings', sa.JSON))
    conn = op.get_bind()
    update = (cases.update().where(cases.c.id == sa.bindparam('case_id'))
              .values({n: sa.bindparam(n) for n in COLUMNS}))
    last = 0
    while True:
        rows = conn.execute(sa.select(cases.c.id, cases.c.record).where(cases.c.id > last)
                            .order_by(cases.c.id).limit(BATCH)).all()
        if not rows:
            return
        conn.execute(update, [{'case_id': cid, **moments(record)} for cid, record in rows])
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_created_at'))
        for name in (*MOMENT_PATHS, 'outcome', 'reopened', 'repeat_of', 'ratings'):
            batch_op.drop_column(name)
