"""The city database: every statement publish sends there, over one asyncpg connection of its own.

Its URL holds a password: no message, log line or error of this module ever shows the URL, only
`user@host:port/database`. Failures become problems saying which: the server does not answer (503),
it refuses the login or the privilege (502), or a table of ours is not ours (409).
"""

from __future__ import annotations

import hashlib
import logging
import socket
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg
import msgspec

from exports.city import TEXT, TEXT_ARRAY, CityTable, identifier, widen
from survey_api.errors import BadGateway, Conflict, Unavailable
from survey_api.stores import city_views
from survey_api.stores.city_views import literal, q

log = logging.getLogger("survey_api.publish")

STATE = "_survey_publish"
CONNECT_TIMEOUT_S = 10.0


class State(msgspec.Struct, frozen=True, kw_only=True):
    """What the target remembers of one form (or index layer) of a project after its last publish."""

    names: dict[str, Any]
    fingerprint: str
    cursor: tuple[int, int]


def where(url: str) -> str:
    """`user@host:port/database` of a URL: what messages may say about the target (no password)."""
    try:
        parts = urlsplit(url.replace("+asyncpg", "", 1))
        host, port = parts.hostname or "localhost", parts.port or 5432
    except ValueError:
        return "the city database (its URL cannot be read)"
    user = unquote(parts.username or "") or "(default user)"
    return f"{user}@{host}:{port}/{parts.path.lstrip('/') or user}"


def lock_key(project: str) -> int:
    """The advisory lock a publish of the project holds in the city database."""
    return int.from_bytes(
        hashlib.sha256(f"survey-publish:{project}".encode()).digest()[:8], "big", signed=True
    )


class Target:
    """One connection to the city database, holding the project's publish lock while it is open."""

    def __init__(self, conn: asyncpg.Connection, schema: str, place: str) -> None:
        self.conn, self.schema, self.place = conn, schema, place
        self.postgis: str | None = None
        """The schema PostGIS is installed in, if it is."""

    def t(self, name: str) -> str:
        return f"{q(self.schema)}.{q(name)}"

    async def lock(self, project: str) -> None:
        """The project's publish lock, until the connection closes: a second publish at once is a 409."""
        key = lock_key(project)
        if not await self.conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
            raise Conflict(
                f"Project {project!r} is being published by someone else right now; try again soon."
            )

    async def prepare(self) -> None:
        """The schema and the state table, made once (concurrent first publishes take turns)."""
        self.postgis = await self.conn.fetchval(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname = 'postgis'"
        )
        if self.postgis is not None:  # lines and shapes are sent as EWKB, which geometry's input reads
            await self.conn.set_type_codec(
                "geometry", schema=self.postgis, encoder=bytes, decoder=bytes, format="binary"
            )
        async with self.conn.transaction():
            await self.conn.execute("SELECT pg_advisory_xact_lock(20261130)")
            if not await self.conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", self.schema):
                await self.conn.execute(f"CREATE SCHEMA {q(self.schema)}")  # needs CREATE on the database
            if await self.conn.fetchval("SELECT to_regclass($1) IS NULL", self.t(STATE)):
                await self.conn.execute(
                    f"CREATE TABLE {self.t(STATE)} (project text, form text, names jsonb NOT NULL,"
                    " fingerprint text NOT NULL, change_xid bigint NOT NULL, change_seq bigint NOT NULL,"
                    " published_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (project, form));"
                    f" COMMENT ON TABLE {self.t(STATE)} IS 'What survey-api published here: each form''s"
                    " table names and how far its records were sent. Leave it be.'"
                )

    async def states(self, project: str) -> dict[str, State]:
        rows = await self.conn.fetch(
            f"SELECT form, names, fingerprint, change_xid, change_seq FROM {self.t(STATE)} WHERE project = $1",
            project,
        )
        return {
            r["form"]: State(
                names=msgspec.json.decode(r["names"]),
                fingerprint=r["fingerprint"],
                cursor=(r["change_xid"], r["change_seq"]),
            )
            for r in rows
        }

    async def save(self, project: str, form: str, state: State) -> None:
        await self.conn.execute(
            f"INSERT INTO {self.t(STATE)} (project, form, names, fingerprint, change_xid, change_seq)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (project, form) DO UPDATE SET names = $3,"
            " fingerprint = $4, change_xid = $5, change_seq = $6, published_at = now()",
            project,
            form,
            msgspec.json.encode(state.names).decode(),
            state.fingerprint,
            *state.cursor,
        )

    async def existing(self, names: Iterable[str]) -> dict[str, dict[str, tuple[str, str | None]]]:
        """Table name -> its columns (name -> (type, comment)); the table's comment under ""."""
        rows = await self.conn.fetch(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type,"
            " col_description(c.oid, a.attnum) AS comment, obj_description(c.oid, 'pg_class') AS table_comment"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
            " WHERE n.nspname = $1 AND c.relname = ANY($2::text[])",
            self.schema,
            list(names),
        )
        found: dict[str, dict[str, tuple[str, str | None]]] = {}
        for r in rows:
            table = found.setdefault(r["relname"], {"": ("", r["table_comment"])})
            if r["attname"] is not None:
                kind = r["type"].removeprefix(f"{self.postgis}.").removeprefix(f"{q(self.postgis or '')}.")
                table[r["attname"]] = (kind, r["comment"])
        return found

    async def apply(self, tables: Sequence[CityTable]) -> tuple[bool, list[list[str]]]:
        """Each table created or brought up to its layout (columns added, types widened, comments set);
        (whether a table or column had to be made, so its rows must all be sent again; each table's
        column types as they now are)."""
        now = await self.existing(t.name for t in tables)
        created, kinds = False, []
        for table in tables:
            have = now.get(table.name)
            if have is None:
                created = True
                await self.conn.execute(self._create(table))
                have = {"": ("", None)}
                have |= {c.name: (c.type, None) for c in table.columns}
            else:
                for column in table.columns:
                    if column.name not in have:
                        await self.conn.execute(
                            f"ALTER TABLE {self.t(table.name)} ADD COLUMN {q(column.name)} {self.sql_type(column.type)}"
                        )
                        have[column.name] = (column.type, None)
                        created = True
                    else:
                        old, note = have[column.name]
                        have[column.name] = (
                            await self.widen(table.name, column.name, old, column.type),
                            note,
                        )
            if have[""][1] != table.comment:
                await self.conn.execute(f"COMMENT ON TABLE {self.t(table.name)} IS {literal(table.comment)}")
            for column in table.columns:
                if have[column.name][1] != column.comment:
                    await self.conn.execute(
                        f"COMMENT ON COLUMN {self.t(table.name)}.{q(column.name)} IS {literal(column.comment)}"
                    )
            kinds.append([have[c.name][0] for c in table.columns])
        return created, kinds

    async def widen(self, table: str, column: str, old: str, wanted: str) -> str:
        """The column altered to the narrowest type holding both `old` and `wanted`, values kept."""
        new = widen(old, wanted)
        if new == old:
            return old
        value = f"{q(column)}::{new}"
        if old == TEXT_ARRAY and new == TEXT:
            value = f"array_to_string({q(column)}, ' ')"
        elif old.startswith("geometry") and new == TEXT:
            value = f"{q(self.postgis or 'public')}.st_astext({q(column)})"
        async with city_views.set_aside(
            self.conn, self.t(table), column
        ):  # PostgreSQL alters no column a view reads
            await self.conn.execute(
                f"ALTER TABLE {self.t(table)} ALTER COLUMN {q(column)} TYPE {new} USING {value}"
            )
        log.info("publish: %s.%s widened from %s to %s", table, column, old, new)
        return new

    def sql_type(self, kind: str) -> str:
        """A column type as DDL says it: PostGIS's own in the schema it was installed in."""
        return f"{q(self.postgis)}.{kind}" if kind.startswith("geometry") and self.postgis else kind

    def _create(self, table: CityTable) -> str:
        columns = [f"{q(c.name)} {self.sql_type(c.type)}" for c in table.columns]
        if table.parent is None:
            columns[0] += " PRIMARY KEY"
        else:
            columns[0] += " PRIMARY KEY"
            columns[1] += f" NOT NULL REFERENCES {self.t(table.parent)} ON DELETE CASCADE"
        statements = [f"CREATE TABLE {self.t(table.name)} ({', '.join(columns)})"]
        if table.parent is not None:
            statements.append(f"CREATE INDEX ON {self.t(table.name)} ({q(table.columns[1].name)})")
        elif self.postgis is not None and any(c.path == "_lon" for c in table.columns):
            statements += self._geometry(table)
        return ";\n".join(statements)

    def _geometry(self, table: CityTable) -> list[str]:
        """A Point 4326 made from lon/lat by the database itself (a stored generated column), indexed."""
        gis = q(self.postgis or "public")
        lon, lat = (next(c.name for c in table.columns if c.path == p) for p in ("_lon", "_lat"))
        point = f"{gis}.st_setsrid({gis}.st_makepoint({q(lon)}, {q(lat)}), 4326)"
        return [
            f"ALTER TABLE {self.t(table.name)} ADD COLUMN geom {gis}.geometry(Point,4326)"
            f" GENERATED ALWAYS AS ({point}) STORED",
        ]  # its GiST index comes after the rows (`index_geometry`): built once, faster than row by row

    async def index_geometry(self, table: CityTable) -> None:
        """The GiST index of a form table's `geom`, if it has one and the index is not there yet."""
        if self.postgis is not None and any(c.path == "_lon" for c in table.columns):
            index = q(identifier(f"{table.name}_geom_idx"))
            await self.conn.execute(
                f"CREATE INDEX IF NOT EXISTS {index} ON {self.t(table.name)} USING gist (geom)"
            )

    async def delete(self, table: CityTable, records: Sequence[Any] | None) -> list[Any]:
        """The rows of these records (every row for None) deleted; their keys (record_id, or a repeat
        entry's `_key`)."""
        key = q(table.columns[0].name)
        if records is None:
            rows = await self.conn.fetch(f"DELETE FROM {self.t(table.name)} RETURNING {key}")
        else:
            owner = q(table.columns[0 if table.parent is None else 1].name)
            rows = await self.conn.fetch(
                f"DELETE FROM {self.t(table.name)} WHERE {owner} = ANY($1::uuid[]) RETURNING {key}",
                list(records),
            )
        return [r[0] for r in rows]

    async def keys(self, table: CityTable) -> list[Any]:
        """Every row's key (record_id, or a repeat entry's `_key`)."""
        return [
            r[0]
            for r in await self.conn.fetch(f"SELECT {q(table.columns[0].name)} FROM {self.t(table.name)}")
        ]

    async def put_areas(
        self, table: CityTable, rows: Sequence[tuple[Any, ...]], geojson: Sequence[str]
    ) -> None:
        """An index layer's rows with their polygons: a MultiPolygon 4326 with PostGIS, else GeoJSON."""
        gis = q(self.postgis or "public")
        name = self.t(table.name)
        if self.postgis is not None:
            await self.conn.execute(
                f"ALTER TABLE {name} ADD COLUMN IF NOT EXISTS geom {gis}.geometry(MultiPolygon,4326)"
            )
            index = q(identifier(f"{table.name}_geom_idx"))
            await self.conn.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {name} USING gist (geom)")
            shape = (
                f"{gis}.st_multi({gis}.st_setsrid({gis}.st_geomfromgeojson(${len(table.columns) + 1}), 4326))"
            )
            column = "geom"
        else:
            await self.conn.execute(f"ALTER TABLE {name} ADD COLUMN IF NOT EXISTS geojson jsonb")
            shape, column = f"${len(table.columns) + 1}::jsonb", "geojson"
        names = ", ".join([*(q(c.name) for c in table.columns), column])
        values = ", ".join([*(f"${i + 1}" for i in range(len(table.columns))), shape])
        await self.conn.executemany(
            f"INSERT INTO {name} ({names}) VALUES ({values})",
            [(*r, g) for r, g in zip(rows, geojson, strict=True)],
        )

    async def copy(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        if rows:
            await self.conn.copy_records_to_table(
                table, schema_name=self.schema, columns=list(columns), records=rows
            )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        async with self.conn.transaction():
            yield


@asynccontextmanager
async def connect(url: str, schema: str) -> AsyncIterator[Target]:
    """A connection to the city database; its failures (here or in the block) as problems naming it."""
    place = where(url)
    try:
        conn = await asyncpg.connect(url.replace("+asyncpg", "", 1), timeout=CONNECT_TIMEOUT_S)
    except Exception as exc:
        raise _problem(exc, place) from None
    try:
        yield Target(conn, schema, place)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
        raise _problem(exc, place) from None
    finally:
        conn.terminate() if conn.is_closed() else await _close(conn)


async def _close(conn: asyncpg.Connection) -> None:
    try:
        await conn.close(timeout=5)
    except Exception:
        conn.terminate()


def _problem(exc: Exception, place: str) -> Exception:
    """The error as a problem saying what went wrong at the target, without its URL."""
    kind = type(exc).__name__
    log.warning("publish: the city database %s failed: %s", place, kind)
    if isinstance(exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError):
        return BadGateway(f"The city database {place} refused the login (wrong password or user).")
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return BadGateway(f"The city database {place} does not exist on that server.")
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return BadGateway(
            f"The city database {place} refused a privilege publish needs: {exc.args[0] if exc.args else kind}."
            " Its user needs CREATE on the database and the schema, and to own the tables it made."
        )
    if isinstance(exc, asyncpg.PostgresError) and not isinstance(exc, asyncpg.PostgresConnectionError):
        sqlstate = getattr(exc, "sqlstate", "?")
        return BadGateway(
            f"The city database {place} refused a statement ({sqlstate}: {exc.args[0] if exc.args else kind})."
        )
    if isinstance(exc, socket.gaierror):
        return Unavailable(f"The city database's host in {place} cannot be found.")
    if isinstance(exc, ValueError | asyncpg.ClientConfigurationError):
        return Unavailable("The city database URL (SURVEY_CITY_DATABASE_URL) cannot be read.")
    return Unavailable(f"The city database {place} does not answer or dropped the connection; try again.")
