"""scoped access: departments, users' extra roles, case assignment history, substitutes

Revision ID: 0002_access
Revises: 0001
Create Date: 2026-12-07
"""
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
import yaml
from alembic import op

import router
import storage.tables

revision = '0002_access'
down_revision = '0002_quarantine'
branch_labels = None
depends_on = None

# The sample municipality's departments seed the directory (names in Russian, as staff see them).
EXECUTORS = Path(router.__file__).resolve().parent / "data" / "executors.yaml"
Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
UTC_DT = storage.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    departments = op.create_table(
        'departments',
        sa.Column('id', sa.String(length=100), nullable=False),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('created_at', UTC_DT, nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_table(
        'case_assignments',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('case_id', Id, nullable=False),
        sa.Column('department', sa.String(length=100), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('assigned_at', UTC_DT, nullable=False),
        sa.Column('unassigned_at', UTC_DT, nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('case_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_assignments_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_assignments_department'), ['department'], unique=False)

    bind = op.get_bind()
    _seed_departments(bind, departments)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('roles', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.create_foreign_key('fk_users_department', 'departments', ['department'], ['id'])

    op.create_table(
        'substitutes',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('absent_login', sa.String(length=100), nullable=False),
        sa.Column('substitute_login', sa.String(length=100), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('reason', sa.String(length=20), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('created_at', UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(['absent_login'], ['users.login']),
        sa.ForeignKeyConstraint(['substitute_login'], ['users.login']),
        sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('substitutes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_substitutes_absent_login'), ['absent_login'], unique=False)
        batch_op.create_index(batch_op.f('ix_substitutes_substitute_login'), ['substitute_login'], unique=False)
    _backfill_assignments(bind)


def downgrade() -> None:
    op.drop_table('substitutes')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('fk_users_department', type_='foreignkey')
        batch_op.drop_column('roles')
    op.drop_table('case_assignments')
    op.drop_table('departments')


def _seed_departments(bind, departments: sa.Table) -> None:
    """The sample directory, plus every department a user or a case already names (named by its
    id until an admin renames it), so the users' foreign key holds."""
    names: dict[str, str] = {}
    if EXECUTORS.is_file():
        for d in (yaml.safe_load(EXECUTORS.read_text(encoding="utf-8")) or {}).get("departments") or []:
            names[str(d["id"])] = str(d.get("name") or d["id"])
    for (dept,) in bind.execute(sa.text("SELECT DISTINCT department FROM users WHERE department IS NOT NULL")):
        names.setdefault(dept, dept)
    at = datetime.now(UTC)
    if names:
        op.bulk_insert(departments, [{"id": k, "name": v, "created_at": at} for k, v in names.items()])


def _backfill_assignments(bind) -> None:
    """Who has each case now (cases.executors, the responsible from the record), and the
    departments that returned it earlier (record.returns), closed at their return."""
    cases = sa.table('cases', sa.column('id'), sa.column('executors', sa.JSON()), sa.column('record', sa.JSON()),
                     sa.column('created_at', UTC_DT))
    assignments = sa.table('case_assignments', sa.column('case_id'), sa.column('department'), sa.column('role'),
                           sa.column('assigned_at', UTC_DT), sa.column('unassigned_at', UTC_DT))
    rows = []
    for case_id, executors, record, created in bind.execute(
            sa.select(cases.c.id, cases.c.executors, cases.c.record, cases.c.created_at)):
        record = record or {}
        routed = (record.get("milestones") or {}).get("routed_at")
        since = datetime.fromisoformat(routed) if routed else created
        responsible = record.get("responsible")
        for dept in executors or []:
            rows.append({"case_id": case_id, "department": dept, "assigned_at": since, "unassigned_at": None,
                         "role": "responsible" if dept == responsible else "co"})
        for ret in record.get("returns") or []:
            if ret.get("department"):
                at = datetime.fromisoformat(ret["at"]) if ret.get("at") else created
                rows.append({"case_id": case_id, "department": ret["department"], "role": "responsible",
                             "assigned_at": created, "unassigned_at": at})
    if rows:
        op.bulk_insert(assignments, rows)
