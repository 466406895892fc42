"""The audit chain: what it records, and that every kind of tampering is found and named.

Tampering is done the way an attacker with database access would do it, with raw SQL. On PostgreSQL
the append-only trigger refuses UPDATE and DELETE (tested below); the tamper tests switch it off for
their own transaction with `session_replication_role = replica`, as a superuser could, so that the
detection tests run on both databases.
"""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from amparo.conftest import TRUNCATE_TRIGGER
from amparo.core import audit
from amparo.core.audit import CoreAudit
from amparo.core.models import AuditEntry, AuditHead

SYSTEM = audit.Actor.system("tests")
on_postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only trigger exists on PostgreSQL only"
)


def append(n: int) -> list[AuditEntry]:
    entries = []
    for i in range(n):
        with transaction.atomic():
            entries.append(audit.record(SYSTEM, CoreAudit.AGENCY_UPDATE, ("core.agency", str(i)), ["name"]))
    return entries


def tamper(sql: str, params: list[Any] | None = None) -> None:
    """Run raw SQL against the audit table, bypassing PostgreSQL's append-only trigger."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params or [])


def raw_insert(entry: AuditEntry) -> None:
    """INSERT an entry with raw SQL (no audit.record(), no head update)."""
    columns = list(AuditEntry._meta.concrete_fields)
    names = ", ".join(connection.ops.quote_name(f.column) for f in columns)
    marks = ", ".join(["%s"] * len(columns))
    values = [f.get_db_prep_save(getattr(entry, f.attname), connection) for f in columns]
    tamper(f"INSERT INTO core_auditentry ({names}) VALUES ({marks})", values)  # noqa: S608  (column names from the model)


def next_entry(after: AuditEntry, **changes: Any) -> AuditEntry:
    entry = AuditEntry(
        id=after.pk + 1,
        uuid=uuid.uuid4(),
        chain=after.chain,
        at=timezone.now(),
        actor_channel="tests",
        action=str(CoreAudit.USER_CREATE),
        object_type="core.user",
        object_id="x",
        fields=["username"],
        prev_hash=after.hash,
    )
    entry.hash = audit.compute_hash(entry)
    for name, value in changes.items():
        setattr(entry, name, value)
    return entry


def problems() -> list[audit.ChainProblem]:
    return list(audit.verify())


# --- What is recorded ----------------------------------------------------------------------------


def test_record_refuses_to_run_outside_a_transaction():
    # No database marker: pytest-django opens no transaction, as in autocommit code.
    assert not transaction.get_connection().in_atomic_block
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit.record(SYSTEM, CoreAudit.KEYS_ROTATE, ("core.datakey", "1"))


@pytest.mark.django_db
def test_record_refuses_actions_that_are_not_enum_members():
    with transaction.atomic(), pytest.raises(TypeError, match="enum"):
        audit.record(SYSTEM, "core:keys:rotate", ("core.datakey", "1"))  # type: ignore[arg-type]
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_entries_chain_each_to_the_one_before_and_the_head_follows():
    first, second = append(2)
    assert first.prev_hash == audit.GENESIS
    assert second.prev_hash == first.hash
    head = AuditHead.objects.get(chain=settings.ORIGIN)
    assert (head.count, head.last_id, head.last_hash) == (2, second.pk, second.hash)


# --- Detection -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_intact_chain_verifies():
    append(5)
    assert problems() == []


@pytest.mark.django_db
def test_edited_action_is_found_at_that_entry():
    entries = append(5)
    tamper("UPDATE core_auditentry SET action = %s WHERE id = %s", [str(CoreAudit.AUDIT_READ), entries[2].pk])
    [problem] = problems()
    assert problem.entry_id == entries[2].pk
    assert "edited" in problem.reason


@pytest.mark.django_db
def test_edited_fields_are_found_at_that_entry():
    entries = append(5)
    tamper("UPDATE core_auditentry SET fields = %s WHERE id = %s", ['["password"]', entries[1].pk])
    [problem] = problems()
    assert problem.entry_id == entries[1].pk
    assert "edited" in problem.reason


@pytest.mark.django_db
def test_deleted_entry_in_the_middle_is_found_at_the_entry_after_it():
    entries = append(5)
    tamper("DELETE FROM core_auditentry WHERE id = %s", [entries[2].pk])
    [problem] = problems()
    assert problem.entry_id == entries[3].pk
    assert "deleted or inserted" in problem.reason


@pytest.mark.django_db
def test_deleted_newest_entry_is_found_by_the_head():
    entries = append(5)
    tamper("DELETE FROM core_auditentry WHERE id = %s", [entries[-1].pk])
    [problem] = problems()
    assert problem.entry_id is None
    assert f"expects 5 entries ending at #{entries[-1].pk}" in problem.reason
    assert f"found 4 ending at #{entries[-2].pk}" in problem.reason
    assert "deleted" in problem.reason


@pytest.mark.django_db
def test_inserted_entry_with_a_forged_hash_is_found_at_that_entry():
    entries = append(3)
    forged = next_entry(entries[-1], hash="f" * 64)
    raw_insert(forged)
    [problem] = problems()
    assert problem.entry_id == forged.pk
    assert "edited" in problem.reason


@pytest.mark.django_db
def test_inserted_entry_with_a_well_formed_hash_is_found_at_that_entry_by_its_mac():
    entries = append(3)
    # The link is unkeyed: an attacker can compute it, not the entry's MAC (nor move the signed head).
    raw_insert(forged := next_entry(entries[-1]))
    [problem] = problems()
    assert problem.entry_id == forged.pk
    assert "MAC does not match" in problem.reason


@pytest.mark.django_db
def test_inserted_entry_with_a_well_formed_hash_and_mac_is_found_by_the_head():
    entries = append(3)
    # Even with the key (a copy of the MAC is the best a database writer could do), the head is not moved.
    forged = next_entry(entries[-1])
    audit.sign_entry(forged)
    raw_insert(forged)
    [problem] = problems()
    assert problem.entry_id is None
    assert "inserted without updating the head" in problem.reason


@pytest.mark.django_db
def test_inserted_entry_in_the_middle_is_found_at_that_entry():
    entries = append(4)
    tamper("DELETE FROM core_auditentry WHERE id = %s", [entries[2].pk])
    # A replacement in the gap, pointing at the right predecessor but with other content.
    replacement = next_entry(entries[1])
    replacement.id = entries[2].pk
    raw_insert(replacement)
    [problem] = problems()
    # The replacement links back fine but has no valid MAC (a signed one's successor would not link).
    assert problem.entry_id == replacement.pk


# --- Keyed chain: a database writer cannot re-link it (issue 16, item 5) -------------------------------


def relink_from(entry_id: int) -> None:
    """What an attacker with write access to the database (and the project's code, but not the master
    key) does after editing an entry: recompute every link from there on with the project's public
    hash function, write the entries back and move the head to the new last hash."""
    entries = list(AuditEntry.objects.filter(chain=settings.ORIGIN).order_by("id"))
    prev = audit.GENESIS
    for entry in entries:
        if entry.pk >= entry_id:
            entry.prev_hash = prev
            entry.hash = audit.compute_hash(entry)
            tamper(
                "UPDATE core_auditentry SET prev_hash = %s, hash = %s WHERE id = %s",
                [entry.prev_hash, entry.hash, entry.pk],
            )
        prev = entry.hash
    tamper(
        "UPDATE core_audithead SET last_id = %s, last_hash = %s, count = %s WHERE chain = %s",
        [entries[-1].pk, prev, len(entries), settings.ORIGIN],
    )


@pytest.mark.django_db
def test_an_edited_entry_relinked_with_the_public_hash_function_and_a_moved_head_is_caught():
    entries = append(5)
    tamper("UPDATE core_auditentry SET action = %s WHERE id = %s", ["core:user:create", entries[1].pk])
    relink_from(entries[1].pk)
    [problem] = problems()
    assert "head's MAC does not match" in problem.reason
    # Even with the old head row put back, the re-linked entries' MACs give them away.
    tamper("UPDATE core_audithead SET last_hash = %s WHERE chain = %s", [entries[-1].hash, settings.ORIGIN])
    [problem] = problems()
    assert problem.entry_id == entries[1].pk
    assert "MAC does not match" in problem.reason


@pytest.mark.django_db
def test_a_deleted_entry_relinked_with_a_moved_head_is_caught():
    entries = append(5)
    tamper("DELETE FROM core_auditentry WHERE id = %s", [entries[2].pk])
    relink_from(entries[3].pk)
    [problem] = problems()
    assert problem.entry_id is None
    assert "head's MAC does not match" in problem.reason


@pytest.mark.django_db
def test_a_head_rewritten_without_the_key_is_caught():
    append(3)
    tamper("UPDATE core_audithead SET legacy_until = 99 WHERE chain = %s", [settings.ORIGIN])
    [problem] = problems()
    assert problem.entry_id is None
    assert "head's MAC does not match" in problem.reason


def _head_row() -> list[Any]:
    return list(
        AuditHead.objects.filter(chain=settings.ORIGIN)
        .values_list("last_id", "last_hash", "count", "mac")
        .get()
    )


@pytest.mark.django_db
def test_truncating_the_newest_entries_back_to_an_old_signed_head_is_caught_by_the_checkpoint():
    append(3)
    old_head = _head_row()  # an attacker who once copied the head row can put it back later
    entries = append(2)
    assert audit.write_checkpoints() == 1
    tamper("DELETE FROM core_auditentry WHERE id >= %s", [entries[0].pk])
    tamper(
        "UPDATE core_audithead SET last_id = %s, last_hash = %s, count = %s, mac = %s WHERE chain = %s",
        [*old_head, settings.ORIGIN],
    )
    [problem] = problems()
    assert problem.entry_id is None
    assert f"records 5 entries ending at #{entries[-1].pk}" in problem.reason
    assert "the database holds 3 up to that entry, and not that entry" in problem.reason


@pytest.mark.django_db
def test_a_chain_deleted_whole_is_caught_by_the_checkpoint():
    append(2)
    audit.write_checkpoints()
    tamper("DELETE FROM core_auditentry")
    tamper("DELETE FROM core_audithead")
    [problem] = problems()
    assert problem.chain == settings.ORIGIN
    assert "records 2 entries" in problem.reason


@pytest.mark.django_db
def test_checkpoints_go_to_the_file_and_the_log_and_a_forged_line_is_named(caplog):
    entries = append(2)
    with caplog.at_level("INFO", logger="amparo.audit"):
        audit.write_checkpoints()
    path = settings.AUDIT_CHECKPOINT_FILE
    [line] = path.read_text().splitlines()
    point = json.loads(line)
    assert (point["chain"], point["count"], point["last_id"]) == (settings.ORIGIN, 2, entries[-1].pk)
    assert f"mac={point['mac']}" in caplog.text
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    assert problems() == []
    # A line written by someone without the key (here: claiming fewer entries, to hide a truncation).
    forged = {**point, "count": 1, "mac": "0" * 64}
    with path.open("a") as f:
        f.write(json.dumps(forged) + "\n")
    [problem] = problems()
    assert "line 2 of the checkpoint file" in problem.reason


def test_the_worker_writes_audit_checkpoints_periodically():
    from amparo.core import schedule

    jobs = {job.name: job for job in schedule.periodic_jobs()}
    assert jobs["core.audit_checkpoint"].job is audit.write_checkpoints


@pytest.mark.django_db
def test_entries_written_before_the_chain_was_keyed_are_vouched_for_by_the_signed_head():
    entries = append(3)
    # As the migration leaves a chain written by earlier versions: no MACs, legacy_until at its end.
    tamper("UPDATE core_auditentry SET mac = ''")
    head = AuditHead.objects.get(chain=settings.ORIGIN)
    head.legacy_until = entries[-1].pk
    head.mac = audit.head_mac(audit.audit_key(), head)
    head.save()
    assert problems() == []
    append(1)  # new entries are keyed
    assert problems() == []
    tamper("UPDATE core_auditentry SET action = %s WHERE id = %s", ["core:user:create", entries[0].pk])
    relink_from(entries[0].pk)
    [problem] = problems()
    assert "head's MAC does not match" in problem.reason


@pytest.mark.django_db
def test_entries_appended_while_verifying_are_not_mistaken_for_deletions():
    append(3)
    appended = []

    def append_just_before_the_head_is_read(execute, sql, params, many, context):  # noqa: ANN001, ANN202
        if not appended and "core_audithead" in sql and sql.lstrip().upper().startswith("SELECT"):
            appended.append(True)
            append(1)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(append_just_before_the_head_is_read):
        found = list(audit.verify(settings.ORIGIN))
    assert appended
    assert found == []
    assert AuditEntry.objects.count() == 4


@pytest.mark.django_db
def test_a_broken_chain_does_not_hide_another_chain():
    append(2)
    with transaction.atomic():
        district = audit.record(
            SYSTEM, CoreAudit.AGENCY_UPDATE, ("core.agency", "d"), ["name"], chain="mz0702"
        )
    tamper("UPDATE core_auditentry SET object_id = %s WHERE id = %s", ["forged", district.pk])
    assert [(p.chain, p.entry_id) for p in problems()] == [("mz0702", district.pk)]


# --- PostgreSQL's append-only trigger ----------------------------------------------------------------


@on_postgresql_only
@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE core_auditentry SET action = 'core:audit:read'",
        "DELETE FROM core_auditentry",
        "TRUNCATE core_auditentry",
    ],
)
def test_postgresql_refuses_to_change_the_audit_log(sql):
    append(2)
    with connection.cursor() as cursor:  # rolled back with the test (see amparo/conftest.py)
        cursor.execute(f"ALTER TABLE core_auditentry ENABLE TRIGGER {TRUNCATE_TRIGGER}")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert AuditEntry.objects.count() == 2
    assert problems() == []


# --- amparo audit_verify -----------------------------------------------------------------------------


def run_verify(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit_verify", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_audit_verify_exits_0_with_a_one_line_summary_when_intact():
    append(3)
    with transaction.atomic():
        audit.record(SYSTEM, CoreAudit.AGENCY_UPDATE, ("core.agency", "d"), ["name"], chain="mz0702")
    code, out, err = run_verify()
    assert code == 0
    assert out.strip() == f"Audit log intact: 4 entries checked (mz0702: 1; {settings.ORIGIN}: 3)."
    assert err == ""


@pytest.mark.django_db
def test_audit_verify_records_nothing():
    append(3)
    run_verify()
    run_verify("--json")
    assert AuditEntry.objects.count() == 3


@pytest.mark.django_db
def test_audit_verify_exits_1_naming_the_first_bad_entry():
    entries = append(4)
    tamper(
        "UPDATE core_auditentry SET action = %s WHERE id IN (%s, %s)",
        [str(CoreAudit.LOGIN), entries[1].pk, entries[2].pk],
    )
    code, out, err = run_verify()
    assert code == 1
    assert out == ""
    assert f"broken at entry #{entries[1].pk}: its content does not match its hash" in err
    assert f"#{entries[2].pk}" not in err


@pytest.mark.django_db
def test_audit_verify_json_reports_intact_chains():
    append(2)
    code, out, _ = run_verify("--json")
    assert code == 0
    assert json.loads(out) == {
        "ok": True,
        "chains": {settings.ORIGIN: {"ok": True, "entries_checked": 2}},
        "problems": [],
    }


@pytest.mark.django_db
def test_audit_verify_json_names_the_first_bad_entry():
    entries = append(3)
    tamper("DELETE FROM core_auditentry WHERE id = %s", [entries[1].pk])
    code, out, err = run_verify("--json")
    assert code == 1
    result = json.loads(out)
    assert result["ok"] is False
    assert result["chains"][settings.ORIGIN] == {"ok": False, "entries_checked": 1}
    [problem] = result["problems"]
    assert problem["entry_id"] == entries[2].pk
    assert problem["chain"] == settings.ORIGIN
    assert "deleted or inserted" in problem["reason"]
    assert err == ""


@pytest.mark.django_db
def test_audit_verify_checks_only_the_chain_asked_for():
    entries = append(2)
    with transaction.atomic():
        audit.record(SYSTEM, CoreAudit.AGENCY_UPDATE, ("core.agency", "d"), ["name"], chain="mz0702")
    tamper("UPDATE core_auditentry SET object_id = %s WHERE id = %s", ["forged", entries[0].pk])
    assert run_verify("--chain", "mz0702")[0] == 0
    assert run_verify("--chain", settings.ORIGIN)[0] == 1


@pytest.mark.django_db
def test_audit_verify_refuses_an_unknown_chain():
    append(1)
    with pytest.raises(CommandError, match="no audit chain named 'nowhere'"):
        call_command("audit_verify", "--chain", "nowhere", stdout=io.StringIO())
