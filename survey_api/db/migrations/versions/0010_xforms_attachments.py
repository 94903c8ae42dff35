"""XForms stored with their versions; attachments of submissions (photos, audio, files)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

`form_versions.xform` holds the exact XForm bytes compiled at publish (ODK Collect compares the md5
in the form list with the file it holds, so the bytes are never regenerated); `xform_md5` is their
hash. `attachments` lists the files a submission sent: one row per (project, submission uuid, file
name), the bytes themselves stored by sha256 in the media store (`SURVEY_MEDIA_DIR`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("form_versions", sa.Column("xform", sa.LargeBinary(), nullable=True))
    op.add_column("form_versions", sa.Column("xform_md5", sa.Text(), nullable=True))
    op.create_table(
        "attachments",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("project_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("submission_uuid", sa.Text(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("field", sa.Text(), nullable=True),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("created_by", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_attachments_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint(
            "project_id",
            "submission_uuid",
            "filename",
            name=op.f("uq_attachments_project_id_submission_uuid_filename"),
        ),
    )


def downgrade() -> None:
    op.drop_table("attachments")
    op.drop_column("form_versions", "xform_md5")
    op.drop_column("form_versions", "xform")
