"""What an upgrade will do to the database: the pending migrations and which of them may take long.

A migration is *long* when one of its operations rewrites or scans a table that holds many rows
(`LARGE_TABLE_ROWS`): changing a column's type (`AlterField`), data migrations (`RunPython`, `RunSQL`),
and building an index or a constraint, which on PostgreSQL holds a lock that blocks writes for as long as
the build runs unless the migration builds it `CONCURRENTLY`. Row counts are the planner's estimates on
PostgreSQL (`pg_class.reltuples`, instant) and exact counts on SQLite.

A migration may say more itself, for operators planning the upgrade: a class attribute
``operator_note = "…"`` (how long it took on a copy of national data, whether it can run while serving).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection, migrations
from django.db.migrations.executor import MigrationExecutor

LARGE_TABLE_ROWS = 100_000

# Operations that rewrite or scan the table, or hold a lock while an index or constraint is built.
_HEAVY: dict[type, str] = {
    migrations.AlterField: "may rewrite the table (column type or constraint change)",
    migrations.RunPython: "data migration: may touch every row",
    migrations.RunSQL: "raw SQL: may touch every row",
    migrations.AddIndex: "builds an index (blocks writes on PostgreSQL unless built concurrently)",
    migrations.AddConstraint: "validates a constraint over every row",
    migrations.AlterUniqueTogether: "builds a unique index",
    migrations.AlterIndexTogether: "builds an index",
}
_CONCURRENT = {"AddIndexConcurrently", "RemoveIndexConcurrently"}


@dataclass
class Step:
    app: str
    name: str
    operations: list[str]
    tables: dict[str, int | None]
    reasons: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def long(self) -> bool:
        return bool(self.reasons)

    def as_dict(self) -> dict[str, Any]:
        return {
            "migration": f"{self.app}.{self.name}",
            "operations": self.operations,
            "tables": self.tables,
            "long": self.long,
            "reasons": self.reasons,
            "note": self.note,
        }


def _rows(table: str) -> int | None:
    if table not in set(connection.introspection.table_names()):
        return 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [table])
            row = cursor.fetchone()
            # -1: never analysed, so unknown (and treated as large).
            return int(row[0]) if row and row[0] is not None and row[0] >= 0 else None
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 - a table name from the migration state
        return int(cursor.fetchone()[0])


def _table_of(state: Any, app: str, operation: Any) -> str | None:
    model_name = getattr(operation, "model_name", None) or getattr(operation, "name", None)
    if not model_name:
        return None
    try:
        model = state.apps.get_model(app, model_name)
    except LookupError:
        return None
    return model._meta.db_table


def pending() -> list[Step]:
    """The migrations `migrate` would apply, in order, each with its tables and why it may be long."""
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return steps_for(plan, executor._create_project_state(with_applied_migrations=True))  # noqa: SLF001


def steps_for(plan: list[tuple[Any, bool]], state: Any) -> list[Step]:
    """Each forward migration of `plan`, with its operations, tables and reasons to take long."""
    steps = []
    for migration, backwards in plan:
        if backwards:
            continue
        step = Step(migration.app_label, migration.name, [], {}, note=getattr(migration, "operator_note", ""))
        for operation in migration.operations:
            kind = type(operation).__name__
            step.operations.append(kind)
            table = _table_of(state, migration.app_label, operation)
            rows = None
            if table:
                if table not in step.tables:
                    step.tables[table] = _rows(table)
                rows = step.tables[table]
            reason = next((why for cls, why in _HEAVY.items() if isinstance(operation, cls)), None)
            if kind in _CONCURRENT:
                reason = None
            large = rows is None or rows >= LARGE_TABLE_ROWS
            if reason and (
                large if table else isinstance(operation, migrations.RunPython | migrations.RunSQL)
            ):
                where = f"{table} (~{rows} rows)" if table else "unknown tables"
                step.reasons.append(f"{kind} on {where}: {reason}")
            operation.state_forwards(migration.app_label, state)
        steps.append(step)
    return steps
