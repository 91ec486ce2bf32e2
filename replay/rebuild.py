"""Rebuilding a read model beside the live one, comparing the two, and swapping them safely.

After a rule change (a read model's `version` bumped) or to prove a model sound, a developer
rebuilds it: a new generation is created in a schema of its own and the whole log is applied
to it in batches, while commands keep arriving and readers keep reading the live one. Then:

- `compare` brings both generations to one log position and diffs them table by table in one
  consistent snapshot (replay/diff.py), without holding up the live runner while it compares;
- `swap`, in one transaction, locks the live generation's row (the live runner, in any process,
  waits on it), applies to the new generation whatever the log gained since, up to the head,
  and promotes it: readers see the old views or the new ones, never a half-built model. The live
  runner (`Runner.following_live`) continues with the new generation from its next batch. The
  old generation is dropped afterwards unless kept;
- `discard` drops a new generation that is not wanted (a dry run, or a "no").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from ledger import store
from ledger.database import Database
from projections import generations
from projections.base import Projection, install_functions, stage
from projections.generations import Generation, Stop
from projections.registry import all_projections
from projections.runner import BATCH_SIZE, Runner, Target
from replay.diff import Diff, TableDiff, diff

__all__ = [
    "LAG_COUNT_MAX",
    "Diff",
    "ModelStatus",
    "Rebuilt",
    "Swapped",
    "TableDiff",
    "compare",
    "diff",
    "discard",
    "head_position",
    "rebuild",
    "rebuild_many",
    "status",
    "swap",
]

WORKERS = 2
"""Runners a rebuild of several read models uses at once: one per core of a small machine."""
LAG_COUNT_MAX = 1_000_000
"""Events behind the head are counted up to this many: beyond it, "very far behind" is enough."""

Progress = Callable[[int, int], None]
"""Told after each batch the log position the new generation reached and the head of the log."""


class NotRebuildable(Exception):
    """The generation asked for cannot be swapped in: it is unknown, or live already."""


@dataclass(frozen=True)
class Rebuilt:
    """A new generation of a read model, built from the whole log beside the live one."""

    projection: str
    generation: int
    live_generation: int | None
    """The generation that was live when the rebuild started."""
    position: int
    applied: int
    """Log positions applied."""
    seconds: float


@dataclass(frozen=True)
class Swapped:
    """A new generation made live; what was applied at the last moment, and what was dropped."""

    projection: str
    generation: int
    old_generation: int | None
    position: int
    caught_up: int
    """Log positions applied inside the swap, the events that arrived since the rebuild."""
    old_dropped: bool


@dataclass(frozen=True)
class ModelStatus:
    """A read model's live generation, how far behind the log it is, and any being built."""

    name: str
    code_version: int | None
    """The version of the running code; None for a read model this code no longer has."""
    live: Generation | None
    lag: int
    """Events in the log after the live generation's position (at most LAG_COUNT_MAX)."""
    building: tuple[Generation, ...]
    """Its other generations: being rebuilt, or kept after a swap (`--keep-old`)."""
    stop: Stop | None = None
    """Why the live runner stopped the live generation, if it did (the event and the error)."""

    @property
    def position(self) -> int:
        return self.live.position if self.live else 0

    @property
    def needs_rebuild(self) -> bool:
        """The live generation was built by another version of the rules than the code's."""
        return (
            self.code_version is not None
            and self.live is not None
            and self.live.version != self.code_version
        )


def head_position(conn: psycopg.Connection[Any]) -> int:
    """The last position of the log (0 when it is empty)."""
    row = conn.execute(store.HEAD).fetchone()
    return int(row[0]) if row else 0


def rebuild(
    database: Database,
    projection: Projection,
    progress: Progress | None = None,
    *,
    batch_size: int = BATCH_SIZE,
) -> Rebuilt:
    """Build a new generation of a read model from the whole log, beside the live one.

    A build that fails leaves nothing behind: its generation is dropped.
    """
    [rebuilt] = rebuild_many(database, [projection], progress, batch_size=batch_size, workers=1)
    return rebuilt


def rebuild_many(
    database: Database,
    projections: list[Projection],
    progress: Progress | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    workers: int = WORKERS,
) -> list[Rebuilt]:
    """Build new generations of several read models at once, beside the live ones.

    The read models are shared out among `workers` runners, each in a thread of its own with
    its own connection (PostgreSQL does the work, so threads run in parallel), heaviest first
    to the least loaded (`Projection.weight`). Each runner stages a batch once for all of its
    read models. If any build fails, every new generation is dropped.
    """
    started = time.monotonic()
    with database.connect() as conn:
        install_functions(conn)
        lives = {p.name: generations.live(conn, p.name) for p in projections}
        created = [Target(p, generations.create(conn, p)) for p in projections]
        head = head_position(conn)
    groups = _share(created, max(1, min(workers, len(created))))
    runners = [
        Runner(database.connect, group, events_table=store.EVENTS_TABLE, batch_size=batch_size)
        for group in groups
    ]
    reached = [0] * len(runners)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def run(index: int) -> None:
        def moved(step: int) -> None:
            with lock:
                reached[index] += step
                if progress is not None:
                    progress(min(reached), max(head, *reached))

        try:
            runners[index].catch_up(progress=moved)
        except BaseException as error:  # re-raised below, in the caller's thread
            failures.append(error)
        finally:
            runners[index].close()

    if progress is not None:
        progress(0, head)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(runners))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        with database.connect() as conn:
            for target in created:
                generations.drop(conn, target.projection, target.generation)
        raise failures[0]
    seconds = time.monotonic() - started
    with database.connect() as conn:
        positions = {
            (g.projection, g.generation): g.position
            for p in projections
            for g in generations.generations(conn, p.name)
        }
    results = []
    for target in created:
        live = lives[target.projection.name]
        position = positions[(target.projection.name, target.generation)]
        results.append(
            Rebuilt(
                projection=target.projection.name,
                generation=target.generation,
                live_generation=live.generation if live else None,
                position=position,
                applied=position,
                seconds=seconds,
            )
        )
    return results


def _share(targets: list[Target], workers: int) -> list[list[Target]]:
    """Targets shared out among workers, heaviest first to the least loaded."""
    groups: list[list[Target]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for target in sorted(targets, key=lambda t: -t.projection.weight):
        least = loads.index(min(loads))
        groups[least].append(target)
        loads[least] += target.projection.weight
    return [group for group in groups if group]


def compare(database: Database, projection: Projection, generation: int) -> Diff:
    """Diff a new generation against the live one, both at the same log position.

    A live generation behind the new one is first brought to its position (holding the live
    row a moment: the live runner waits). Then one consistent snapshot is read: the new
    generation is brought to the position the live one has in it, and the two are compared
    without holding anything the live runner needs, however long the comparison takes. A live
    generation built by another version of the code is never advanced: the diff then says at
    which positions it compared.
    """
    with database.connect() as conn:
        stage(conn)
        with conn.transaction():
            live, new = _lock(conn, projection, generation)
            if live and live.position < new.position and live.version == projection.version:
                _apply(conn, [Target(projection, live.generation)], new.position)
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            live, new = _generations(conn, projection, generation)
            if live is not None and new.position < live.position:
                # Only this transaction writes the new generation's row: no conflict.
                _apply(conn, [Target(projection, generation)], live.position)
            return diff(conn, projection, live.generation if live else None, generation)


def swap(
    database: Database, projection: Projection, generation: int, *, keep_old: bool = False
) -> Swapped:
    """Make a rebuilt generation live, at or beyond the live one's position, atomically."""
    with database.connect() as conn:
        # Statistics first, outside the lock: the live runner's statements are planned on them
        # from its next batch on, and a freshly built table has none.
        schema = projection.schema(generation)
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
        ).fetchall()
        for (table,) in tables:
            conn.execute(
                sql.SQL("ANALYZE {}.{}").format(sql.Identifier(schema), sql.Identifier(str(table)))
            )
        stage(conn)
        with conn.transaction():
            live, new = _lock(conn, projection, generation)
            until = max(head_position(conn), live.position if live else 0)
            caught_up = _apply(conn, [Target(projection, generation)], until)
            generations.promote(conn, projection, generation)
        dropped = live is not None and not keep_old
        if live is not None and dropped:
            generations.drop(conn, projection, live.generation)
    return Swapped(
        projection=projection.name,
        generation=generation,
        old_generation=live.generation if live else None,
        position=max(new.position, until),
        caught_up=caught_up,
        old_dropped=dropped,
    )


def discard(database: Database, projection: Projection, generation: int) -> None:
    """Drop a generation that will not be swapped in (a dry run, or a swap declined)."""
    with database.connect() as conn:
        generations.drop(conn, projection, generation)


class ReadModelNeedsRebuild(Exception):
    """A read met a table or column its read model's live generation lacks, because an older
    version built it: after an upgrade that changed the read model's rules, until
    `ledgerline projections rebuild` (the runtime logs `projection_needs_rebuild` at start).
    Answered 503 `read_model_needs_rebuild`, naming them, rather than a 500."""

    def __init__(self, outdated: list[ModelStatus]) -> None:
        self.projections = [model.name for model in outdated]
        names = " ".join(self.projections)
        super().__init__(
            f"The read model {', '.join(self.projections)} was built by an earlier version of "
            f"Ledgerline; it answers again once rebuilt: ledgerline projections rebuild {names}"
        )


def status(conn: psycopg.Connection[Any]) -> list[ModelStatus]:
    """Every read model, the code's and any other with generations in the database."""
    code = {p.name: p.version for p in all_projections()}
    rows = conn.execute(
        "SELECT projection, generation, version, position, live FROM projection_generations "
        "ORDER BY projection, generation"
    ).fetchall()
    found: dict[str, list[Generation]] = {}
    for row in rows:
        found.setdefault(str(row[0]), []).append(Generation(*row))
    names = list(code) + sorted(set(found) - set(code))
    stopped = generations.stops(conn)
    # A database no ledger has started on yet has no log table: nothing is behind it.
    has_log = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (store.EVENTS_TABLE,)).fetchone()
    models = []
    for name in names:
        own = found.get(name, [])
        live = next((g for g in own if g.live), None)
        models.append(
            ModelStatus(
                name=name,
                code_version=code.get(name),
                live=live,
                lag=_lag(conn, live.position if live else 0) if has_log and has_log[0] else 0,
                building=tuple(g for g in own if not g.live),
                stop=stopped.get(name),
            )
        )
    return models


def _lag(conn: psycopg.Connection[Any], position: int) -> int:
    row = conn.execute(
        sql.SQL(
            "SELECT count(*) FROM (SELECT 1 FROM {} WHERE notification_id > %s LIMIT %s) behind"
        ).format(sql.Identifier(store.EVENTS_TABLE)),
        (position, LAG_COUNT_MAX),
    ).fetchone()
    return int(row[0]) if row else 0


def _lock(
    conn: psycopg.Connection[Any], projection: Projection, generation: int
) -> tuple[Generation | None, Generation]:
    """Lock the live generation's row and the new one's, until the transaction ends."""
    return _generations(conn, projection, generation, lock=True)


def _generations(
    conn: psycopg.Connection[Any], projection: Projection, generation: int, *, lock: bool = False
) -> tuple[Generation | None, Generation]:
    """The live generation (if any) and the new one, which must exist and not be live."""
    rows = conn.execute(
        sql.SQL(
            "SELECT projection, generation, version, position, live FROM projection_generations "
            "WHERE projection = %s AND (live OR generation = %s) ORDER BY generation{}"
        ).format(sql.SQL(" FOR UPDATE") if lock else sql.SQL("")),
        (projection.name, generation),
    ).fetchall()
    found = [Generation(*row) for row in rows]
    new = next((g for g in found if g.generation == generation), None)
    if new is None or new.live:
        state = "unknown" if new is None else "live already"
        raise NotRebuildable(f"generation {generation} of {projection.name} is {state}")
    return next((g for g in found if g.live), None), new


def _apply(conn: psycopg.Connection[Any], targets: list[Target], until: int) -> int:
    """Apply the log up to `until` to these generations, inside the caller's transaction."""
    if not targets:
        return 0
    runner = Runner(lambda: conn, targets, events_table=store.EVENTS_TABLE)
    moved = 0
    while True:
        step, done = runner.run_once(conn, until)
        # Each batch's events are needed no more; the next batch must not see them.
        conn.execute("DELETE FROM batch_events")
        moved += step
        if done:
            return moved
