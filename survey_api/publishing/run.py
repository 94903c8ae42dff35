"""One publish of a project to the city database: per form, one target transaction that brings its
tables up to the form's layout, sends the clean records changed since the watermark kept there, deletes
those no longer clean, and moves the watermark, so a run that fails leaves every form as it was.

A new version of a form (or a change of `publish_pii`) changes how rows look: that form is then sent
whole once, in the same one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from exports import city, city_values
from exports.layout import schema_of
from exports.rows import Flattener, Options
from forms.model import load_definition
from forms.values import ATTACHMENTS
from survey_api.db.session import Session
from survey_api.errors import Conflict
from survey_api.exporting.run import files_url, record_of
from survey_api.publishing import index_layers
from survey_api.stores import city as city_store
from survey_api.stores import city_changes, city_copy
from survey_api.stores import forms as forms_store
from survey_api.stores import projects as projects_store
from survey_api.web.access import ProjectAccess

Progress = Callable[[int, int], None]
"""(records sent so far, records to send)."""


class TableCount(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    upserted: int
    deleted: int


class Published(msgspec.Struct, frozen=True, kw_only=True):
    tables: list[TableCount]


class Target(msgspec.Struct, frozen=True, kw_only=True):
    url: str | None
    schema: str = "survey"
    base_url: str | None = None
    """The survey server's address: photo and other file columns hold links to the files there."""


class _Form(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    layout: city.Layout


async def publish(
    db: Session, access: ProjectAccess, target: Target, on_progress: Progress | None = None
) -> Published:
    """The project's clean records (and index layers) made current in the city database."""
    if not target.url:
        raise Conflict(
            "No city database is set up on this server: its operator sets SURVEY_CITY_DATABASE_URL to publish."
        )
    project = await projects_store.by_slug(db, access.slug)
    pii = bool(project and project.publish_pii)
    definitions = {}
    for key, _ in await forms_store.catalogue(db, access.id):
        form = await forms_store.form(db, access.id, key)
        assert form is not None
        versions = await forms_store.versions(db, form.id, published_only=True)
        definitions[key] = (form.id, [load_definition(v.definition) for v in versions])
    counts: list[TableCount] = []
    runs = await index_layers.runs(db, access)  # before anything is written: its faults write nothing
    async with city_store.connect(target.url, target.schema) as city_db:
        await city_db.lock(access.slug)
        await city_db.prepare()
        states = await city_db.states(access.slug)
        forms = []
        for key, (form_id, defs) in definitions.items():
            layout = city.plan(
                access.slug,
                schema_of(key, defs),
                defs,
                _names(states, key),
                pii=pii,
                postgis=city_db.postgis is not None,
                files=files_url(target.base_url, access.slug),
            )
            forms.append(_Form(id=form_id, layout=layout))
        layers = [index_layers.layout(access.slug, r, _names(states, f"index:{r.layer}")) for r in runs]
        names = [t.name for f in forms for t in f.layout.tables] + [layer.table.name for layer in layers]
        await _refuse_foreign(city_db, names, states)
        totals = [await city_changes.count_changed(db, f.id, _cursor(f.layout, states)) for f in forms]
        done, total = 0, sum(totals)
        for form in forms:
            options = Options(pii=pii, files=files_url(target.base_url, access.slug))
            sent = await _send(
                db,
                city_db,
                access.slug,
                form,
                states.get(form.layout.form),
                options,
                done,
                total,
                on_progress,
            )
            counts += sent
            done += totals[forms.index(form)]
        sent_layers = await index_layers.send(city_db, access.slug, layers, states)
        counts += [TableCount(name=n, upserted=u, deleted=d) for n, u, d in sent_layers]
    return Published(tables=counts)


def _names(states: dict[str, city_store.State], key: str) -> city.Names | None:
    return states[key].names if key in states else None


def _cursor(layout: city.Layout, states: dict[str, city_store.State]) -> tuple[int, int]:
    state = states.get(layout.form)
    return state.cursor if state is not None and state.fingerprint == layout.fingerprint else (0, 0)


async def _refuse_foreign(
    city_db: city_store.Target,
    names: Sequence[str],
    states: dict[str, city_store.State],
) -> None:
    """A 409 before anything is written when a table we would write is there but not ours."""
    ours = {t["name"] for s in states.values() for t in s.names.values()}
    foreign = sorted(n for n in await city_db.existing(names) if n not in ours)
    if foreign:
        raise Conflict(
            f"The city database {city_db.place} already has {', '.join(repr(n) for n in foreign)} in schema"
            f" {city_db.schema!r}, made by someone else: rename or drop it, or publish to another schema."
        )


async def _send(
    db: Session,
    city_db: city_store.Target,
    project: str,
    form: _Form,
    state: city_store.State | None,
    options: Options,
    done: int,
    total: int,
    on_progress: Progress | None,
) -> list[TableCount]:
    layout = form.layout
    flattener = Flattener(layout.schema, options, lists=True)
    pii = options.pii
    async with city_db.transaction():
        created, kinds = await city_db.apply(layout.tables)
        full = state is None or created or state.fingerprint != layout.fingerprint
        cursor = (0, 0) if full else state.cursor
        sending = _Sending(db, city_db, form, flattener, kinds, full, done, total, on_progress)
        if full:
            for i in reversed(range(len(layout.tables))):  # repeats first: their rows hang on the record's
                sending.gone[i].update(await city_db.delete(layout.tables[i], None))
        linked = options.files is not None and any(
            c.type in ATTACHMENTS for c in layout.schema.fields.values()
        )
        plan = city_copy.plan(layout, kinds, pii) if full and not linked else None  # links: flattened
        if plan is None:
            cursor = await sending.flatten(cursor)
        else:
            cursor = await sending.pipe(plan, cursor)
        await city_db.index_geometry(layout.tables[0])
        await city_db.save(
            project,
            layout.form,
            city_store.State(names=layout.names, fingerprint=layout.fingerprint, cursor=cursor),
        )
    sent, gone = sending.sent, sending.gone
    return [
        TableCount(name=t.name, upserted=len(sent[i]), deleted=len(gone[i] - sent[i]))
        for i, t in enumerate(layout.tables)
    ]


class _Sending:
    """One form's send in progress: where its rows go, what was sent and deleted, how far it got."""

    def __init__(
        self,
        db: Session,
        city_db: city_store.Target,
        form: _Form,
        flattener: Flattener,
        kinds: list[list[str]],
        full: bool,
        done: int,
        total: int,
        on_progress: Progress | None,
    ) -> None:
        self.db, self.city_db, self.form, self.flattener, self.kinds = db, city_db, form, flattener, kinds
        self.full, self.done, self.total, self.on_progress = full, done, total, on_progress
        self.gone: list[set[Any]] = [set() for _ in form.layout.tables]
        self.sent: list[set[Any]] = [set() for _ in form.layout.tables]

    def count(self, records: int) -> None:
        self.done += records
        if self.on_progress is not None:
            self.on_progress(self.done, self.total)

    async def flatten(
        self, cursor: tuple[int, int], upto: tuple[int, int] | None = None, also: str | None = None
    ) -> tuple[int, int]:
        """The changed records through the export's flattener, page by page; the cursor reached."""
        layout, city_db = self.form.layout, self.city_db
        copying = _Copying(
            city_db, layout, self.sent
        )  # a page is copied while the next is read and converted
        try:
            async for page in city_changes.changed_pages(self.db, self.form.id, cursor, upto=upto, also=also):
                rows = await _rows(city_db, layout, self.flattener, self.kinds, page, copying)
                await copying.wait()
                if not self.full:
                    ids = [row[0] for row in page]
                    for i in reversed(range(len(layout.tables))):
                        self.gone[i].update(await city_db.delete(layout.tables[i], ids))
                copying.start(rows)
                cursor = (page[-1][-2], page[-1][-1])
                self.count(len(page))
            await copying.wait()
        finally:
            await copying.cancel()
        return cursor

    async def pipe(self, plan: city_copy.Plan, cursor: tuple[int, int]) -> tuple[int, int]:
        """A first send: the plain records piped, then the others through the flattener; the cursor
        reached."""
        layout, city_db = self.form.layout, self.city_db
        upto = await city_changes.last_changed(self.db, self.form.id, cursor)
        where = city_copy.records(self.form.id, cursor, upto)
        copied = await city_copy.pipe(self.db, city_db.conn, city_db.schema, plan, where, self.count)
        if copied.others:
            before = [list(k) for k in self.kinds]
            ids = ", ".join(f"'{i}'" for i in copied.others)
            await self.flatten(cursor, upto, also=f"records.id IN ({ids})")
            if self.kinds != before:  # a column widened: every row as the flattener writes it to text
                for i in reversed(range(len(layout.tables))):
                    await city_db.delete(layout.tables[i], None)
                for keys in self.sent:
                    keys.clear()
                await self.flatten(cursor, upto)
        for i, table in enumerate(layout.tables):
            self.sent[i].update(await city_db.keys(table))
        return upto


class _Copying:
    """The COPY of one page's rows into the tables, running while the next page is prepared."""

    def __init__(self, city_db: city_store.Target, layout: city.Layout, sent: list[set[Any]]) -> None:
        self.city_db, self.layout, self.sent = city_db, layout, sent
        self.task: asyncio.Task[None] | None = None

    def start(self, rows: list[list[tuple[Any, ...]]]) -> None:
        self.task = asyncio.create_task(self._copy(rows))

    async def _copy(self, rows: list[list[tuple[Any, ...]]]) -> None:
        for i, table in enumerate(self.layout.tables):
            await self.city_db.copy(table.name, [c.name for c in table.columns], rows[i])
            self.sent[i].update(r[0] for r in rows[i])

    async def wait(self) -> None:
        if self.task is not None:
            task, self.task = self.task, None
            await task

    async def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task
            self.task = None


async def _rows(
    city_db: city_store.Target,
    layout: city.Layout,
    flattener: Flattener,
    kinds: list[list[str]],
    page: Sequence[Any],
    copying: _Copying,
) -> list[list[tuple[Any, ...]]]:
    """The page's clean records as rows of each table (in a thread); a column a value does not fit is
    widened to text first."""
    while True:
        rows, misfits = await asyncio.to_thread(_convert, layout, flattener, kinds, page)
        if not misfits:
            return rows
        await copying.wait()  # the connection is free again
        for i, column in sorted(misfits):
            table = layout.tables[i]
            kinds[i][column] = await city_db.widen(
                table.name, table.columns[column].name, kinds[i][column], city.TEXT
            )


def _convert(
    layout: city.Layout, flattener: Flattener, kinds: list[list[str]], page: Sequence[Any]
) -> tuple[list[list[tuple[Any, ...]]], set[tuple[int, int]]]:
    rows: list[list[tuple[Any, ...]]] = [[] for _ in layout.tables]
    misfits: set[tuple[int, int]] = set()
    converters = [city_values.converter(t, k) for t, k in zip(layout.tables, kinds, strict=True)]
    for source in page:
        if source[-3] is not None or source[2] != "ok":  # merged away, or waiting for a review
            continue
        for i, cells in flattener.rows(record_of(source[:13])):
            try:
                rows[i].append(converters[i](cells))
            except city_values.Misfit as exc:
                misfits.add((i, exc.column))
    return rows, misfits
