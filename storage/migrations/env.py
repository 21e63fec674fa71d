"""Alembic environment: the engine comes from storage.migrate (config.attributes["engine"])."""

from alembic import context
from sqlalchemy import create_engine

from storage.tables import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # plain `alembic` command line, e.g. for `revision --autogenerate`
    engine = create_engine(config.get_main_option("sqlalchemy.url"))

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    context.run_migrations()
