"""Alembic environment: runs the migrations against the URL the caller configured."""

from alembic import context
from sqlalchemy import create_engine, pool

from tfs.db.tables import described, metadata

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url is not None
connectable = create_engine(url, poolclass=pool.NullPool)
with connectable.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_name=described,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
connectable.dispose()
