"""An installation made by an earlier release, with demo data in it, upgrades to this code: `amparo upgrade
--check` names exactly the migrations added since, `amparo upgrade` applies them, and the audit chain
still verifies. The earlier release is the code at `BASE` (read from git), run as its own process."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from django.db import connection

from amparo.core import upgrade
from amparo.core.tests.installations import installation_env, other_database, run

BASE = "d3ce638"  # issue 19's starting point; move it to the last release tag once there is one
PROJECT = Path(__file__).resolve().parents[3]


def base_code(target: Path) -> Path | None:
    """The `amparo` package as it was at BASE, or None when git or that commit is not at hand."""
    if not shutil.which("git") or not (PROJECT / ".git").exists():
        return None
    archive = subprocess.run(  # noqa: S603
        [shutil.which("git") or "git", "-C", str(PROJECT), "archive", BASE, "amparo"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        return None
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target


def migrations_in(package_root: Path) -> set[str]:
    return {
        f"{path.parent.parent.name}.{path.stem}" for path in package_root.glob("amparo/*/migrations/0*.py")
    }


def run_old(code: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "amparo", *args],
        env={**env, "PYTHONPATH": str(code)},
        cwd=code,  # `-m` puts the working directory first on the path: it must not be this checkout
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.django_db
def test_an_installation_of_the_earlier_release_with_demo_data_upgrades_and_its_audit_verifies(tmp_path):
    code = base_code(tmp_path / "base")
    if code is None:
        pytest.skip(f"needs git and commit {BASE} (a full clone)")
    with other_database(tmp_path) as url:
        upgrade_and_verify(code, installation_env(tmp_path / "data", url))


def upgrade_and_verify(code: Path, env: dict[str, str]) -> None:
    env.update(AMPARO_TASKS_BACKEND="immediate", AMPARO_DEMO="1")  # seed_demo runs only in demo mode
    for args in (["migrate", "--noinput", "-v0"], ["seed_demo", "--cases", "25"]):
        made = run_old(code, args, env)
        assert made.returncode == 0, made.stderr[-2000:]

    made = run_old(code, ["shell", "-c", "import amparo; print(amparo.__file__)"], env)
    assert made.stdout.strip().splitlines()[-1].startswith(str(code))  # the earlier release really ran
    new = migrations_in(PROJECT) - migrations_in(code)
    checked = run(["upgrade", "--check", "--json"], env)
    plan = json.loads(checked.stdout)
    assert {step["migration"] for step in plan["pending"]} == new
    assert checked.returncode == (1 if new else 0)

    upgraded = run(["upgrade", "--without-backup", "--json"], env)
    assert upgraded.returncode == 0, upgraded.stderr[-2000:]
    result = json.loads(upgraded.stdout.strip().splitlines()[-1])
    assert result["migrated"] is bool(new)
    audit = result["audit"]
    assert audit["ok"] is True
    assert sum(chain["entries_checked"] for chain in audit["chains"].values()) > 25  # the demo's entries
    assert run(["migrate", "--check"], env).returncode == 0
    counted = run(["shell", "-c", "from amparo.cases.models import Case; print(Case.objects.count())"], env)
    assert counted.stdout.strip().splitlines()[-1] == "25"


def plan_of(*operations):  # noqa: ANN002, ANN201
    from django.db import migrations
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    migration = migrations.Migration("0999_example", "core")
    migration.operations = list(operations)
    migration.operator_note = "Took 40 s on a copy of national data; safe while serving."
    return [(migration, False)], executor._create_project_state(with_applied_migrations=True)  # noqa: SLF001


@pytest.mark.django_db
def test_upgrade_check_flags_data_migrations_and_index_builds_on_large_tables(monkeypatch):
    from django.db import migrations, models

    from amparo.core.models import Agency

    agencies = Agency.objects.count()  # the national agencies a data migration put there
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE core_agency")  # the row estimate upgrade reads
    monkeypatch.setattr(upgrade, "LARGE_TABLE_ROWS", agencies)
    (step,) = upgrade.steps_for(
        *plan_of(
            migrations.AddIndex("agency", models.Index(fields=["name"], name="core_agency_name_x")),
            migrations.AddField("agency", "example", models.CharField(max_length=4, blank=True, default="")),
        )
    )
    assert step.long
    assert step.tables == {"core_agency": agencies}
    assert step.operations == ["AddIndex", "AddField"]
    assert step.reasons == [
        f"AddIndex on core_agency (~{agencies} rows): builds an index (blocks writes on PostgreSQL unless built concurrently)"
    ]
    assert step.note.startswith("Took 40 s")


@pytest.mark.django_db
def test_upgrade_check_does_not_flag_small_tables_or_cheap_operations():
    from django.db import migrations, models

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE core_agency")
    (step,) = upgrade.steps_for(
        *plan_of(
            migrations.AddIndex("agency", models.Index(fields=["name"], name="core_agency_name_x")),
            migrations.AddField("agency", "example", models.CharField(max_length=4, blank=True, default="")),
        )
    )
    assert not step.long  # a few agencies are far below LARGE_TABLE_ROWS
    (step,) = upgrade.steps_for(*plan_of(migrations.RunPython(migrations.RunPython.noop)))
    assert step.long  # a data migration on tables it does not name: always worth a look
    assert step.reasons == ["RunPython on unknown tables: data migration: may touch every row"]


@pytest.mark.django_db
def test_upgrade_check_on_an_up_to_date_database_says_so_and_exits_0():
    from django.core.management import call_command

    out = io.StringIO()
    call_command("upgrade", check=True, stdout=out)
    assert out.getvalue().strip() == "The database is up to date: no migration is pending."
