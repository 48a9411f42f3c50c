"""Alembic environment: runs on the connection ``engine.storage.db.Database.migrate`` hands it.

On SQLite a batch migration rebuilds a table (a copy is made, the old table dropped): with
foreign keys enforced, dropping ``leads`` would cascade-delete every email that references it.
So they are off for the migration (set before its transaction begins, the only time SQLite takes
the PRAGMA; refused to go on if it did not take) and every reference is checked before the
commit. ``Database.migrate`` then drops its connections so the next ones enforce them again.
"""

from alembic import context

from engine.storage.models import Base

connection = context.config.attributes.get("connection")
sqlite = connection is not None and connection.dialect.name == "sqlite"
if sqlite and connection is not None:
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    if connection.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            "SQLite foreign keys could not be turned off for the migration (a transaction was "
            "already open): refusing to rebuild tables that other rows reference"
        )
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=sqlite,
)
with context.begin_transaction():
    context.run_migrations()
    if sqlite and connection is not None:
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"the migration left rows referencing nothing: {broken[:5]}")
