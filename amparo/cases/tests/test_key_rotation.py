"""`amparo rotate_keys` on real encrypted rows (cases and persons), and the audit entries of case writes,
which name the fields written and never their values. (The command's other behaviour is tested with
core's other operator commands, in amparo/core/tests/test_commands.py.)"""

from __future__ import annotations

import io
import json
import os

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from amparo.core import audit, crypto
from amparo.core.audit import CoreAudit
from amparo.core.models import AuditEntry, DataKey


def rotate(*args: str) -> str:
    out = io.StringIO()
    call_command("rotate_keys", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_rotate_keys_rotates_the_data_key_by_default(make_case):
    case = make_case(narrative="Um relato inventado.", victim_name="Zélia Inventada")
    old = crypto.active_key(DataKey.Purpose.FIELD)[0]
    out = rotate()
    new = DataKey.objects.get(purpose=DataKey.Purpose.FIELD, active=True)
    assert new.pk != old
    assert out.startswith(f"Rotated the data-key to key {new.pk}: values re-encrypted (")
    assert "cases.case: 1" in out
    assert "cases.person: 1" in out
    assert f"retired key(s) {old}" in out
    crypto.clear_cache()
    assert type(case).objects.get(pk=case.pk).narrative == "Um relato inventado."


@pytest.mark.django_db
def test_rotate_keys_json_prints_one_summary_object(make_case):
    make_case(narrative="Um relato inventado.")
    summary = json.loads(rotate("--json"))
    [rotation] = summary["rotations"]
    assert rotation["kind"] == "data-key"
    assert rotation["models"]["cases.case"] == 1
    assert rotation["audit_entry"] == AuditEntry.objects.latest("id").pk


@pytest.mark.django_db
def test_rotate_keys_runs_several_rotations_master_first_each_audited(make_case, settings):
    make_case(victim_name="Zélia Inventada", victim_phone="+258 84 000 1111")
    settings.AMPARO_OLD_MASTER_KEYS = [settings.AMPARO_MASTER_KEY]
    settings.AMPARO_MASTER_KEY = os.urandom(32)
    summary = json.loads(rotate("--index-key", "--data-key", "--master-key", "--json"))
    assert [r["kind"] for r in summary["rotations"]] == ["master-key", "data-key", "index-key"]
    entries = AuditEntry.objects.filter(action=CoreAudit.KEYS_ROTATE).order_by("id")
    assert [(e.object_type, e.actor_channel) for e in entries] == [
        ("core.masterkey", "rotate_keys"),
        ("core.datakey", "rotate_keys"),
        ("core.datakey", "rotate_keys"),
    ]
    assert list(audit.verify()) == []


@pytest.mark.django_db
def test_rotate_keys_master_key_without_the_old_one_says_what_to_do(make_case, settings):
    make_case(narrative="Um relato inventado.")
    settings.AMPARO_MASTER_KEY = os.urandom(32)
    settings.AMPARO_OLD_MASTER_KEYS = []
    with pytest.raises(CommandError, match=r"AMPARO_OLD_MASTER_KEYS.*rotate_keys --master-key"):
        rotate("--master-key")
    assert not AuditEntry.objects.filter(action=CoreAudit.KEYS_ROTATE).exists()


@pytest.mark.django_db
def test_entries_store_field_names_never_values(make_case):
    make_case(
        narrative="Narrativa distintiva: a Zélia Inventada recebeu mensagens.",
        victim_name="Zélia Inventada",
        victim_phone="+258 84 000 1111",
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM core_auditentry")
        rows = cursor.fetchall()
    dump = " ".join(str(value) for row in rows for value in row).casefold()
    assert rows
    for secret in ("zélia", "zelia", "inventada", "distintiva", "840001111", "84 000 1111"):
        assert secret not in dump
    recorded = {name for fields in AuditEntry.objects.values_list("fields", flat=True) for name in fields}
    assert {"narrative", "name", "phone"} <= recorded
