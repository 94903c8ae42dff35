"""observations, double-tap index, duplicate pair survivor

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# On update only (inserts take the column defaults). A new record's first revision is written without
# its answers, which equal the record's own while it stays at revision 1; the update that moves it on
# copies them into that revision first, so the intake path writes each new record's answers once.
BUMP_ON_UPDATE = """
CREATE OR REPLACE FUNCTION records_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_seq := nextval('record_change_seq');
    NEW.change_xid := pg_current_xact_id()::text::bigint;
    NEW.updated_at := clock_timestamp();
    IF OLD.revision = 1 AND NEW.revision <> 1 THEN
        UPDATE record_revisions SET answers = OLD.answers
        WHERE record_id = OLD.id AND revision = 1 AND answers IS NULL;
    END IF;
    RETURN NEW;
END
$$
"""

BUMP_BEFORE = """
CREATE OR REPLACE FUNCTION records_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_seq := nextval('record_change_seq');
    NEW.change_xid := pg_current_xact_id()::text::bigint;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := clock_timestamp();
    END IF;
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    # Held by a record while others are merged into it: its own observation ("survey"), one per record
    # folded in, and the fields an edit changed meanwhile ("edit"), so undoing a merge keeps the edit.
    op.create_table(
        "observations",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("record_id", sa.UUID(), nullable=False),
        sa.Column("origin_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("submission_uuid", sa.Text(), nullable=True),
        sa.Column("answers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("accuracy", sa.Double(), nullable=True),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_observations_record_id_records"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["origin_id"], ["records.id"], name=op.f("fk_observations_origin_id_records"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observations")),
    )
    op.create_index(op.f("ix_observations_record_id"), "observations", ["record_id"])
    # Double taps of items without a location (a located one is found in its own grid cell); hash
    # first, so the planner never mistakes it for the cell index.
    op.create_index(
        "ix_records_hash_form",
        "records",
        ["content_hash", "form_id"],
        postgresql_where=sa.text("merged_into IS NULL AND lat IS NULL"),
    )
    # The candidate index covers what a probe filters on (the search box) and returns (id): probes are
    # index-only scans, so a dense form reads no table rows it then throws away.
    op.drop_index(
        "ix_records_form_cell", table_name="records", postgresql_where=sa.text("merged_into IS NULL")
    )
    op.create_index(
        "ix_records_form_cell",
        "records",
        ["form_id", "cell_x", "cell_y"],
        postgresql_include=["lat", "lon", "id"],
        postgresql_where=sa.text("merged_into IS NULL"),
    )
    # Inserts take change_seq and change_xid from the column defaults; the trigger is for updates only,
    # which saves a PL/pgSQL call per new record on the intake path.
    op.execute("DROP TRIGGER records_bump ON records")
    op.execute(BUMP_ON_UPDATE)
    op.execute(
        "CREATE TRIGGER records_bump BEFORE UPDATE ON records FOR EACH ROW EXECUTE FUNCTION records_bump()"
    )
    # A record's first revision keeps its answers only once the record moves past it (BUMP_ON_UPDATE).
    op.alter_column("record_revisions", "answers", nullable=True)
    op.add_column("duplicate_pairs", sa.Column("kept_id", sa.UUID(), nullable=True))
    op.add_column("duplicate_pairs", sa.Column("decided_by_user", sa.UUID(), nullable=True))
    op.create_index("ix_duplicate_pairs_candidate", "duplicate_pairs", ["candidate_id"])
    op.create_index(
        "ix_duplicate_pairs_open_record",
        "duplicate_pairs",
        ["record_id"],
        postgresql_where=sa.text("decision IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_records_form_cell", table_name="records", postgresql_where=sa.text("merged_into IS NULL")
    )
    op.create_index(
        "ix_records_form_cell",
        "records",
        ["form_id", "cell_x", "cell_y"],
        postgresql_where=sa.text("merged_into IS NULL"),
    )
    op.drop_index("ix_duplicate_pairs_open_record", table_name="duplicate_pairs")
    op.drop_index("ix_duplicate_pairs_candidate", table_name="duplicate_pairs")
    op.drop_column("duplicate_pairs", "decided_by_user")
    op.drop_column("duplicate_pairs", "kept_id")
    op.execute(
        "UPDATE record_revisions v SET answers = r.answers FROM records r"
        " WHERE v.answers IS NULL AND r.id = v.record_id AND v.revision = 1"
    )
    op.alter_column("record_revisions", "answers", nullable=False)
    op.execute("DROP TRIGGER records_bump ON records")
    op.execute(BUMP_BEFORE)
    op.execute(
        "CREATE TRIGGER records_bump BEFORE INSERT OR UPDATE ON records FOR EACH ROW EXECUTE FUNCTION records_bump()"
    )
    op.drop_index("ix_records_hash_form", table_name="records")
    op.drop_index(op.f("ix_observations_record_id"), table_name="observations")
    op.drop_table("observations")
