"""The city's own views on our tables: set aside while a column they read changes type, then made again
as they were (definition, options, comment, grants), in the same transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg


def q(name: str) -> str:
    """A quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str | None) -> str:
    return "NULL" if text is None else "'" + text.replace("'", "''") + "'"


DEPENDENT_VIEWS = """
WITH RECURSIVE column_of AS (
  SELECT attrelid, attnum FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2
), views(oid, depth) AS (
  SELECT DISTINCT r.ev_class, 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid, column_of c
  WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = c.attrelid AND d.refobjsubid = c.attnum
    AND r.ev_class <> c.attrelid
  UNION
  SELECT DISTINCT r.ev_class, v.depth + 1 FROM views v
  JOIN pg_depend d ON d.refobjid = v.oid AND d.classid = 'pg_rewrite'::regclass
  JOIN pg_rewrite r ON r.oid = d.objid WHERE r.ev_class <> v.oid AND v.depth < 50
)
SELECT n.nspname, c.relname, c.relkind::text AS relkind, c.reloptions, pg_get_viewdef(c.oid) AS definition,
  obj_description(c.oid, 'pg_class') AS comment,
  (SELECT array_agg(ARRAY[g.rolname, a.privilege_type]) FROM aclexplode(c.relacl) a
   LEFT JOIN pg_roles g ON g.oid = a.grantee WHERE a.grantee <> c.relowner) AS grants
FROM (SELECT oid, max(depth) AS depth FROM views GROUP BY oid) v
JOIN pg_class c ON c.oid = v.oid JOIN pg_namespace n ON n.oid = c.relnamespace
ORDER BY v.depth
"""
"""The views (nested ones too) reading a column, shallowest first: what a type change sets aside."""
_KIND = {"v": "VIEW", "m": "MATERIALIZED VIEW"}


@asynccontextmanager
async def set_aside(conn: asyncpg.Connection, table: str, column: str) -> AsyncIterator[None]:
    """The views reading `table.column` (and views on them) dropped for the block, then made again."""
    views = await conn.fetch(DEPENDENT_VIEWS, table, column)
    for view in reversed(views):
        await conn.execute(f"DROP {_KIND[view['relkind']]} {q(view['nspname'])}.{q(view['relname'])}")
    yield
    for view in views:
        await _recreate(conn, view)


async def _recreate(conn: asyncpg.Connection, view: Any) -> None:
    name = f"{q(view['nspname'])}.{q(view['relname'])}"
    kind = _KIND[view["relkind"]]
    options = f" WITH ({', '.join(view['reloptions'])})" if view["reloptions"] else ""
    await conn.execute(f"CREATE {kind} {name}{options} AS {view['definition']}")
    if view["comment"] is not None:
        await conn.execute(f"COMMENT ON {kind} {name} IS {literal(view['comment'])}")
    for grantee, privilege in view["grants"] or []:
        await conn.execute(f"GRANT {privilege} ON {name} TO {'PUBLIC' if grantee is None else q(grantee)}")
