"""one live duplicate rescan per form, and a heartbeat for every job

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

Two rescans of one form at once (two coordinators, or a double-click) deadlocked on the same records
and proposed the same pairs twice. A partial unique index now allows one `queued` or `running`
rescan per form, whichever server process asks; a second request gets the live job back.

`updated_at` is written with each page of progress: a live job silent for ten minutes is presumed
dead (its server stopped) and the next request for that form fails it and starts a new one, so a
crash never blocks a form's rescans for good. Jobs already doubled up are failed here, but the newest.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

LIVE_RESCAN = "kind = 'dedup_rescan' AND status IN ('queued', 'running')"


def upgrade() -> None:
    op.add_column(
        "export_jobs",
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.execute(
        "UPDATE export_jobs SET status = 'failed', finished_at = now(),"
        " error = 'Stopped: another rescan of this form was started at the same time.'"
        f" WHERE {LIVE_RESCAN} AND id NOT IN ("
        "  SELECT DISTINCT ON (project_id, params->>'form') id FROM export_jobs"
        f"  WHERE {LIVE_RESCAN} ORDER BY project_id, params->>'form', created_at DESC)"
    )
    op.create_index(
        "ux_export_jobs_live_rescan",
        "export_jobs",
        ["project_id", sa.text("(params->>'form')")],
        unique=True,
        postgresql_where=sa.text(LIVE_RESCAN),
    )


def downgrade() -> None:
    op.drop_index("ux_export_jobs_live_rescan", table_name="export_jobs")
    op.drop_column("export_jobs", "updated_at")
