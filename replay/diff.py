"""What a rebuilt generation of a read model would change, table by table, before it is swapped in.

Both generations' tables are compared in SQL (EXCEPT ALL over the columns they share), rows
matched by the table's primary key as the catalog gives it: a row is added (its key is only in
the new generation), removed (only in the old one) or changed (in both, with other values).
A table without a primary key is matched on all its columns, so its rows are only ever added
or removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from projections.base import Projection

DIFF_EXAMPLES = 5
"""Rows shown per kind of difference and table: enough to recognise a rule change, and short."""

JSON_TYPES = frozenset({"json"})
"""Types without an equality operator, compared as jsonb instead."""


@dataclass(frozen=True)
class TableDiff:
    """How one table of a read model differs between its old and new generation."""

    table: str
    key: tuple[str, ...]
    added: int = 0
    removed: int = 0
    changed: int = 0
    added_examples: tuple[dict[str, Any], ...] = ()
    removed_examples: tuple[dict[str, Any], ...] = ()
    changed_examples: tuple[tuple[dict[str, Any], dict[str, Any]], ...] = ()
    """Each an (old row, new row) pair with the same key."""
    columns_added: tuple[str, ...] = ()
    columns_removed: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.added or self.removed or self.changed or self.columns_added or self.columns_removed
        )


@dataclass(frozen=True)
class Diff:
    """How a new generation of a read model differs from the old one, at their log positions."""

    projection: str
    old_generation: int | None
    new_generation: int
    old_position: int
    new_position: int
    tables: tuple[TableDiff, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return all(table.empty for table in self.tables)


def diff(
    conn: psycopg.Connection[Any],
    projection: Projection,
    old_generation: int | None,
    new_generation: int,
) -> Diff:
    """Compare two generations' tables as they are now (see `rebuild.compare` for one position)."""
    old_schema = projection.schema(old_generation) if old_generation is not None else None
    new_schema = projection.schema(new_generation)
    old_tables = _tables(conn, old_schema) if old_schema else []
    new_tables = _tables(conn, new_schema)
    with conn.transaction():
        tables = tuple(
            _table_diff(
                conn,
                old_schema if table in old_tables else None,
                new_schema if table in new_tables else None,
                table,
            )
            for table in sorted(set(old_tables) | set(new_tables))
        )
    return Diff(
        projection=projection.name,
        old_generation=old_generation,
        new_generation=new_generation,
        old_position=_position(conn, projection.name, old_generation),
        new_position=_position(conn, projection.name, new_generation),
        tables=tables,
    )


def _position(conn: psycopg.Connection[Any], name: str, generation: int | None) -> int:
    if generation is None:
        return 0
    row = conn.execute(
        "SELECT position FROM projection_generations WHERE projection = %s AND generation = %s",
        (name, generation),
    ).fetchone()
    return int(row[0]) if row else 0


def _tables(conn: psycopg.Connection[Any], schema: str) -> list[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname",
        (schema,),
    ).fetchall()
    return [str(row[0]) for row in rows]


def _columns(conn: psycopg.Connection[Any], schema: str | None, table: str) -> dict[str, str]:
    """Column name -> type name, in table order."""
    if schema is None:
        return {}
    rows = conn.execute(
        "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass "
        "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (schema, table),
    ).fetchall()
    return {str(name): str(type_name) for name, type_name in rows}


def _primary_key(conn: psycopg.Connection[Any], schema: str | None, table: str) -> list[str]:
    if schema is None:
        return []
    rows = conn.execute(
        "SELECT a.attname FROM pg_index i "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass "
        "AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)",
        (schema, table),
    ).fetchall()
    return [str(row[0]) for row in rows]


def _table_diff(
    conn: psycopg.Connection[Any], old_schema: str | None, new_schema: str | None, table: str
) -> TableDiff:
    old_columns = _columns(conn, old_schema, table)
    new_columns = _columns(conn, new_schema, table)
    if old_columns and new_columns:
        shared = [c for c in new_columns if c in old_columns]
    else:
        shared = list(new_columns or old_columns)
    key = next(
        (
            k
            for k in (_primary_key(conn, new_schema, table), _primary_key(conn, old_schema, table))
            if k and all(c in shared for c in k)
        ),
        [],
    )
    by_primary_key = bool(key)
    key = key or shared
    types = {**old_columns, **new_columns}
    select = sql.SQL(", ").join(
        sql.SQL("{}::jsonb AS {}").format(sql.Identifier(c), sql.Identifier(c))
        if types[c] in JSON_TYPES
        else sql.Identifier(c)
        for c in shared
    )
    present = new_schema or old_schema

    def side(schema: str | None) -> sql.Composable:
        """A generation's rows; none at all when the table is not in that generation."""
        return sql.SQL("SELECT {} FROM {}.{}{}").format(
            select,
            sql.Identifier(schema or str(present)),
            sql.Identifier(table),
            sql.SQL("") if schema else sql.SQL(" WHERE false"),
        )

    for name, first, second in (
        ("diff_removed", old_schema, new_schema),
        ("diff_added", new_schema, old_schema),
    ):
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(
            sql.SQL("CREATE TEMP TABLE {} AS {} EXCEPT ALL {}").format(
                sql.Identifier(name), side(first), side(second)
            )
        )
    match = _match(key, by_primary_key)
    added = _only_in(conn, "diff_added", "diff_removed", key, match)
    removed = _only_in(conn, "diff_removed", "diff_added", key, match)
    changed = _changed(conn, key, match) if by_primary_key else (0, ())
    for name in ("diff_removed", "diff_added"):
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
    return TableDiff(
        table=table,
        key=tuple(key),
        added=added[0],
        removed=removed[0],
        changed=changed[0],
        added_examples=added[1],
        removed_examples=removed[1],
        changed_examples=changed[1],
        columns_added=tuple(c for c in new_columns if old_schema and c not in old_columns),
        columns_removed=tuple(c for c in old_columns if new_schema and c not in new_columns),
    )


def _match(key: list[str], by_primary_key: bool) -> sql.Composable:
    """`(a.k1, a.k2) = (b.k1, b.k2)`; without a primary key, nulls match nulls too."""
    left = sql.SQL(", ").join(sql.Identifier("a", c) for c in key)
    right = sql.SQL(", ").join(sql.Identifier("b", c) for c in key)
    operator = sql.SQL("=") if by_primary_key else sql.SQL("IS NOT DISTINCT FROM")
    return sql.SQL("(ROW({}) {} ROW({}))").format(left, operator, right)


def _order(key: list[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier("a", c) for c in key)


def _only_in(
    conn: psycopg.Connection[Any], here: str, there: str, key: list[str], match: sql.Composable
) -> tuple[int, tuple[dict[str, Any], ...]]:
    """Rows whose key is only on one side: how many, and the first few by key."""
    rows = conn.execute(
        sql.SQL(
            "SELECT count(*) OVER (), to_jsonb(a) FROM {} a "
            "WHERE NOT EXISTS (SELECT 1 FROM {} b WHERE {}) ORDER BY {} LIMIT {}"
        ).format(
            sql.Identifier(here),
            sql.Identifier(there),
            match,
            _order(key),
            sql.Literal(DIFF_EXAMPLES),
        )
    ).fetchall()
    return (int(rows[0][0]) if rows else 0), tuple(row[1] for row in rows)


def _changed(
    conn: psycopg.Connection[Any], key: list[str], match: sql.Composable
) -> tuple[int, tuple[tuple[dict[str, Any], dict[str, Any]], ...]]:
    """Rows whose key is on both sides with other values: how many, and the first few."""
    rows = conn.execute(
        sql.SQL(
            "SELECT count(*) OVER (), to_jsonb(a), to_jsonb(b) FROM diff_removed a "
            "JOIN diff_added b ON {} ORDER BY {} LIMIT {}"
        ).format(match, _order(key), sql.Literal(DIFF_EXAMPLES))
    ).fetchall()
    return (int(rows[0][0]) if rows else 0), tuple((row[1], row[2]) for row in rows)
