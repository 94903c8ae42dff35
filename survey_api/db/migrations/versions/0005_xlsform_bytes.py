"""a form version keeps the XLSForm workbook it was uploaded as

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

A coordinator downloads exactly the .xlsx or .xls they uploaded (`GET .../versions/{v}/xlsform`),
so the bytes and their media type live beside the definition read from them. Both are NULL for a
version uploaded as JSON, and for every version uploaded before this revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("form_versions", sa.Column("xlsform", sa.LargeBinary(), nullable=True))
    op.add_column("form_versions", sa.Column("xlsform_type", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("form_versions", "xlsform_type")
    op.drop_column("form_versions", "xlsform")
