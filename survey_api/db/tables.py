"""The database schema as SQLAlchemy tables; Alembic migrations are the source of truth for changes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Sequence,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSON, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

change_seq = Sequence("record_change_seq")


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONB, list[Any]: JSONB, uuid.UUID: UUID(as_uuid=True)}


def created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class User(Base):
    __tablename__ = "users"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    password_hash: Mapped[str | None] = mapped_column(Text)
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = created()
    __table_args__ = (Index("uq_users_email_lower", func.lower(text("email")), unique=True),)


class Token(Base):
    __tablename__ = "tokens"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str | None] = mapped_column(Text)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_at: Mapped[datetime] = created()
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(Text, default="Asia/Bangkok")
    area: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created()
    # publish sends sensitive fields to the city database only when this is set (0009)
    publish_pii: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class Membership(Base):
    __tablename__ = "memberships"
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(Text)
    pii: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = created()


class Form(Base):
    __tablename__ = "forms"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(Text)
    dedup_policy: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created()
    __table_args__ = (UniqueConstraint("project_id", "key"), UniqueConstraint("id", "project_id"))


class FormVersion(Base):
    __tablename__ = "form_versions"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    form_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, default="draft")
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    hash: Mapped[str] = mapped_column(Text)
    warnings: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created()
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the uploaded XLSForm (0005), read only by its download: never loaded with the row
    xlsform: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True, deferred_raiseload=True)
    xlsform_type: Mapped[str | None] = mapped_column(Text)
    # the XForm compiled at publish (0010): its exact bytes are served, never regenerated
    xform: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True, deferred_raiseload=True)
    xform_md5: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("form_id", "version"),)


class FormMedia(Base):
    """A file attached to a form version by its name (0006): a list for select_one_from_file, an image."""

    __tablename__ = "form_media"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("form_versions.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    media_type: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(Text)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True, deferred_raiseload=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created()
    __table_args__ = (UniqueConstraint("version_id", "name"),)


class Attachment(Base):
    """A file a submission sent (0010); its bytes live in the media store under `sha256`."""

    __tablename__ = "attachments"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    submission_uuid: Mapped[str] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(Text)  # the answer path naming the file, where one does
    content_type: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created()
    __table_args__ = (UniqueConstraint("project_id", "submission_uuid", "filename"),)


class Submission(Base):
    """The append-only intake log; rejected rows are the quarantine."""

    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    uuid: Mapped[str | None] = mapped_column(Text, unique=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    form_key: Mapped[str | None] = mapped_column(Text)
    form_version: Mapped[str | None] = mapped_column(Text)
    device_id: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # no foreign key (0003)
    received_at: Mapped[datetime] = created()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    clock_skew_s: Mapped[float | None] = mapped_column(Double)
    started_at_raw: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at_raw: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    content_hash: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[Any] = mapped_column(JSON)  # the item's text as sent (json, not jsonb: 0003)
    outcome: Mapped[str] = mapped_column(Text)
    errors: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    record_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    __table_args__ = (
        Index("ix_submissions_quarantine", "project_id", "id", postgresql_where=text("outcome = 'rejected'")),
    )


class Record(Base):
    """One row per real-world thing; `change_seq` is the sync cursor and the publish watermark."""

    __tablename__ = "records"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # One foreign key for both, (form_id, project_id) -> forms (migration 0003).
    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    form_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    form_version: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(Text, default="ok")
    answers: Mapped[dict[str, Any]] = mapped_column(JSONB)
    issues: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    # The submission's metadata by kind (0007); `metadata` is the declarative base's own attribute.
    meta: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONB)
    lat: Mapped[float | None] = mapped_column(Double)
    lon: Mapped[float | None] = mapped_column(Double)
    accuracy: Mapped[float | None] = mapped_column(Double)
    cell_x: Mapped[int | None] = mapped_column(BigInteger)
    cell_y: Mapped[int | None] = mapped_column(BigInteger)
    duplicate_of: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    merged_into: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    observations: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str | None] = mapped_column(Text)
    device_id: Mapped[str | None] = mapped_column(Text)
    submission_uuid: Mapped[str | None] = mapped_column(Text)  # the submission that created it
    # No foreign keys on authors in the append-heavy tables (migration 0003): users are never deleted.
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    updated_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created()
    updated_at: Mapped[datetime] = created()
    observed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Both from the column defaults on insert and the `records_bump` trigger on update (migrations 0001, 0002).
    change_seq: Mapped[int] = mapped_column(BigInteger, change_seq, server_default=change_seq.next_value())
    change_xid: Mapped[int] = mapped_column(
        BigInteger, server_default=text("pg_current_xact_id()::text::bigint")
    )
    __table_args__ = (
        ForeignKeyConstraint(["form_id", "project_id"], ["forms.id", "forms.project_id"], ondelete="CASCADE"),
        Index("ix_records_project_change", "project_id", "change_xid", "change_seq"),
        Index("ix_records_form_change", "form_id", "change_xid", "change_seq"),
        Index(
            "ix_records_form_cell",
            "form_id",
            "cell_x",
            "cell_y",
            postgresql_include=["lat", "lon", "id"],
            postgresql_where=text("merged_into IS NULL"),
        ),
        Index(
            "ix_records_hash_form",
            "content_hash",
            "form_id",
            postgresql_where=text("merged_into IS NULL AND lat IS NULL"),
        ),
    )


class Observation(Base):
    """What a record's answers are made of while other records are merged into it.

    Rows exist only while the holder (`record_id`) has records merged into it: its own observation and
    one per merged record (`kind` "survey", `origin_id` the record it came from), plus the paths an edit
    changed meanwhile (`kind` "edit"). Survivorship recomputes the holder's answers from them.
    """

    __tablename__ = "observations"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    record_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), index=True)
    origin_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(Text, default="survey")
    submission_uuid: Mapped[str | None] = mapped_column(Text)
    answers: Mapped[dict[str, Any]] = mapped_column(JSONB)
    accuracy: Mapped[float | None] = mapped_column(Double)
    observed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created()


class RecordRevision(Base):
    __tablename__ = "record_revisions"
    record_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("records.id", ondelete="CASCADE"), primary_key=True
    )
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    submission_uuid: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # no foreign key (0003)
    # A first revision is written when its record first moves on (migration 0003); older ones may
    # lack answers (migration 0002): then the record, still at revision 1, holds them.
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    changed: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    created_at: Mapped[datetime] = created()


class DuplicatePair(Base):
    __tablename__ = "duplicate_pairs"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    form_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"))
    record_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"))
    candidate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Double)
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSONB)
    decision: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(Text)  # "system" or the reviewer's email
    decided_by_user: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    kept_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # the survivor of a merge
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created()
    __table_args__ = (
        UniqueConstraint("record_id", "candidate_id"),
        Index("ix_duplicate_pairs_queue", "project_id", "decision"),
        Index("ix_duplicate_pairs_candidate", "candidate_id"),
        Index("ix_duplicate_pairs_open_record", "record_id", postgresql_where=text("decision IS NULL")),
    )


class Conflict(Base):
    __tablename__ = "conflicts"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    record_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), index=True)
    submission_uuid: Mapped[str | None] = mapped_column(Text)
    base_revision: Mapped[int] = mapped_column(Integer)
    fields: Mapped[list[Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text, default="open")
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created()


LIVE_RESCAN = "kind = 'dedup_rescan' AND status IN ('queued', 'running')"


class Job(Base):
    __tablename__ = "export_jobs"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text, default="queued")
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    progress: Mapped[float] = mapped_column(Double, default=0.0)
    file_path: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created()
    updated_at: Mapped[datetime] = created()  # each report of progress: a heartbeat (migration 0004)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        Index(  # one live duplicate rescan per form (migration 0004)
            "ux_export_jobs_live_rescan",
            "project_id",
            text("(params->>'form')"),
            unique=True,
            postgresql_where=text(LIVE_RESCAN),
        ),
    )


class Area(Base):
    """One area of a project's layer (0008), in the layer's order; its polygons as GeoJSON."""

    __tablename__ = "areas"
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    layer: Mapped[str] = mapped_column(Text, primary_key=True)
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(Text)
    names: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    geometry: Mapped[dict[str, Any]] = mapped_column(JSONB)
    area_km2: Mapped[float] = mapped_column(Double)
    min_lon: Mapped[float] = mapped_column(Double)
    min_lat: Mapped[float] = mapped_column(Double)
    max_lon: Mapped[float] = mapped_column(Double)
    max_lat: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[datetime] = created()


class ProjectIndicators(Base):
    """The index's settings of a project (0008): indicators, aggregation, minimum coverage."""

    __tablename__ = "project_indicators"
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = created()


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = created()
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    project_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(Text)
    target: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
