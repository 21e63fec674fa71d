"""auth: sessions, recovery codes, login attempts; TOTP replay guard; encrypted TOTP secrets

Revision ID: 0002_auth
Revises: 0001
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import storage.tables

revision = '0002_auth'
down_revision = '0002_access'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = storage.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        # Fernet tokens of a 32-character secret are ~140 characters.
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=64), type_=sa.String(length=300),
                              existing_nullable=True)
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('password_changed_at', When, nullable=True))
    # Tokens issued before sessions existed stop working: log in again.
    op.execute("UPDATE users SET token_hash = NULL")

    op.create_table('sessions',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('user_id', Id, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('created_at', When, nullable=False),
    sa.Column('last_seen_at', When, nullable=False),
    sa.Column('idle_seconds', sa.Integer(), nullable=False),
    sa.Column('expires_at', When, nullable=False),
    sa.Column('revoked_at', When, nullable=True),
    sa.Column('revoke_reason', sa.String(length=40), nullable=True),
    sa.Column('second_factor_at', When, nullable=True),
    sa.Column('client_address', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('recovery_codes',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('user_id', Id, nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', When, nullable=False),
    sa.Column('used_at', When, nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_user_id'), ['user_id'], unique=False)

    op.create_table('login_attempts',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('at', When, nullable=False),
    sa.Column('login', sa.String(length=100), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_attempts_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_attempts_login'), ['login'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_attempts_address'), ['address'], unique=False)


def downgrade() -> None:
    for table, indexes in (('login_attempts', ('at', 'login', 'address')), ('recovery_codes', ('user_id',)),
                           ('sessions', ('user_id',))):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in indexes:
                batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
        op.drop_table(table)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('password_changed_at')
        batch_op.drop_column('totp_last_step')
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=300), type_=sa.String(length=64),
                              existing_nullable=True)
