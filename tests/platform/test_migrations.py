"""Migrations through the kit: SQLite batch rebuilds keep child rows."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import text

from flightdeck.cli.registry import service
from flightdeck.kit.db import create_engine
from flightdeck.kit.migrations import upgrade

PARENT_AND_CHILD = """
import sqlalchemy as sa
from alembic import op
revision = "0002"
down_revision = "0001"
def upgrade():
    op.create_table("parent", sa.Column("id", sa.Integer, primary_key=True))
    op.create_table(
        "child",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("parent.id", ondelete="CASCADE")),
    )
    op.execute("INSERT INTO parent (id) VALUES (1)")
    op.execute("INSERT INTO child (id, parent_id) VALUES (1, 1), (2, 1)")
"""

REBUILD_PARENT = """
import sqlalchemy as sa
from alembic import op
revision = "0003"
down_revision = "0002"
def upgrade():
    with op.batch_alter_table("parent", recreate="always") as batch:
        batch.add_column(sa.Column("name", sa.String(50)))
"""


async def test_a_sqlite_batch_rebuild_keeps_child_rows(tmp_path: Path) -> None:
    source = service("planning").directory
    directory = tmp_path / "svc"
    # The service's baseline only: our revisions stand in for the ones it has grown since.
    shutil.copytree(
        source / "migrations",
        directory / "migrations",
        ignore=lambda folder, names: [
            n for n in names if folder.endswith("versions") and n != "0001_baseline.py"
        ],
    )
    shutil.copy(source / "alembic.ini", directory / "alembic.ini")
    (directory / "migrations" / "versions" / "0002_parent.py").write_text(PARENT_AND_CHILD)
    (directory / "migrations" / "versions" / "0003_rebuild.py").write_text(REBUILD_PARENT)
    url = f"sqlite+aiosqlite:///{tmp_path / 'svc.db'}"
    await upgrade(directory, url)
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            children = (await conn.execute(text("SELECT count(*) FROM child"))).scalar()
            foreign_keys = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar()
    finally:
        await engine.dispose()
    assert children == 2
    assert foreign_keys == 1  # services run with foreign keys on
