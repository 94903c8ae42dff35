"""a record keeps its submission's metadata (start, end, today, deviceid, username, ...)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

An XLSForm's metadata rows are no questions: what the tablet recorded about the submission is kept
beside the answers, by kind (`{"start": "2026-11-30T02:12:00Z", "deviceid": "collect:..."}`). NULL
for a record whose submission sent none, and for every record stored before this revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("records", sa.Column("metadata", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("records", "metadata")
