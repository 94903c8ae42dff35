"""a project says whether publish sends personal data to the city database

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

`projects.publish_pii` (default false): the city tables' sensitive columns stay null unless the
project turns it on (`PUT /projects/{p}/publish/settings`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "projects",
        sa.Column("publish_pii", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("projects", "publish_pii")
