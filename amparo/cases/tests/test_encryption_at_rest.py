"""Encryption at rest, blind indexes and key rotation (amparo.core.crypto, core.keys), on the tables that
hold encrypted fields: the case and its persons (core has no encrypted table of its own to test them on).

All names and phone numbers here are invented.
"""

from __future__ import annotations

import base64
import io
import os
import unicodedata
from collections.abc import Iterator

import pytest
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection, models, transaction

from amparo.cases import actions
from amparo.cases.models import Case, Person
from amparo.core import audit, crypto, keys
from amparo.core.audit import CoreAudit
from amparo.core.models import AuditEntry, DataKey
from amparo.lib import envelope, normalise

pytestmark = pytest.mark.django_db

SYSTEM = audit.Actor.system("tests")
VICTIMS = [
    ("Zélia Inventada", "+258 84 000 1111"),
    ("Amélia Fictícia", "+258 86 000 2222"),
    ("Tomásio Exemplar", "82 000 3333"),
    ("Nélia Imaginária", "00258 87 000 4444"),
]


@pytest.fixture(autouse=True)
def fresh_key_cache() -> Iterator[None]:
    """Unwrapped keys are cached per process; each test starts and ends without them."""
    crypto.clear_cache()
    yield
    crypto.clear_cache()


@pytest.fixture
def victims(make_case) -> list[Case]:  # noqa: ANN001
    cases = []
    for name, phone in VICTIMS:
        case = make_case(
            narrative=f"{name} recebeu mensagens de um desconhecido.", victim_name=name, victim_phone=phone
        )
        actions.transition_case(SYSTEM, case, "triaged", reason=f"Triagem: {name} precisa de apoio.")
        cases.append(case)
    return cases


INTEGER_PK = models.BigAutoField(primary_key=True)  # for rows with an integer key


def raw(table: str, column: str, pk: object) -> str:
    field = Case._meta.pk if not isinstance(pk, int) else INTEGER_PK
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {connection.ops.quote_name(column)} FROM {connection.ops.quote_name(table)} WHERE id = %s",  # noqa: S608
            [field.get_db_prep_value(pk, connection)],
        )
        return cursor.fetchone()[0]


def write_raw(table: str, column: str, pk: object, value: str) -> None:
    field = Case._meta.pk if not isinstance(pk, int) else INTEGER_PK
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(table)} SET {connection.ops.quote_name(column)} = %s WHERE id = %s",  # noqa: S608
            [value, field.get_db_prep_value(pk, connection)],
        )


def flip_a_byte(stored: str) -> str:
    prefix, body = stored.rsplit("$", 1)
    sealed = bytearray(base64.b64decode(body))
    sealed[-5] ^= 0x01
    return f"{prefix}${base64.b64encode(bytes(sealed)).decode()}"


def all_stored_values() -> Iterator[tuple[str, str, str]]:
    """(table, column, stored text) for every non-empty encrypted value in the database."""
    for model, fields in keys.encrypted_models():
        table = connection.ops.quote_name(model._meta.db_table)
        for field in fields:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {connection.ops.quote_name(field.column)} FROM {table}")  # noqa: S608
                for (value,) in cursor.fetchall():
                    if value:
                        yield model._meta.db_table, field.column, value


def plaintexts() -> dict[str, object]:
    """Everything identifying, read back through the models."""
    found: dict[str, object] = {}
    for model, fields in keys.encrypted_models():
        for obj in model._base_manager.all():
            for field in fields:
                found[f"{model._meta.label_lower}.{obj.pk}.{field.name}"] = getattr(obj, field.name)
    return found


# --- The field -------------------------------------------------------------------------------------


def test_encrypted_text_round_trips(make_case):
    case = make_case(narrative="Relato sintético com acentuação: ção, ñ, 😀.")
    assert Case.objects.get(pk=case.pk).narrative == "Relato sintético com acentuação: ção, ñ, 😀."


def test_stored_value_is_ciphertext_not_the_plaintext(make_case):
    first = make_case(narrative="Um relato inventado.")
    second = make_case(narrative="Um relato inventado.")
    stored = raw("cases_case", "narrative", first.pk)
    assert stored.startswith(crypto.PREFIX)
    assert "relato" not in stored.casefold()
    assert stored != raw("cases_case", "narrative", second.pk)  # a fresh nonce every time


def test_empty_values_stay_empty_and_need_no_key(make_case):
    case = make_case(narrative="")
    assert raw("cases_case", "narrative", case.pk) == ""
    assert Case.objects.get(pk=case.pk).narrative == ""


def test_a_flipped_byte_in_the_column_raises_an_integrity_alarm(make_case):
    case = make_case(narrative="Um relato inventado.")
    write_raw("cases_case", "narrative", case.pk, flip_a_byte(raw("cases_case", "narrative", case.pk)))
    with pytest.raises(crypto.IntegrityAlarm, match="failed authentication"):
        Case.objects.get(pk=case.pk).narrative  # noqa: B018  (decrypted when read)


def test_a_value_copied_into_another_column_fails_to_decrypt(make_case):
    case = make_case(victim_name="Zélia Inventada", victim_phone="+258 84 000 1111")
    person = case.persons.get()
    write_raw("cases_person", "address", person.pk, raw("cases_person", "name", person.pk))
    with pytest.raises(crypto.IntegrityAlarm, match=r"cases\.person\.address"):
        Person.objects.get(pk=person.pk).address  # noqa: B018


def test_a_value_copied_into_another_table_fails_to_decrypt(make_case):
    source = make_case(narrative="Um relato inventado.")
    target = make_case(victim_name="Zélia Inventada")
    write_raw("cases_person", "name", target.persons.get().pk, raw("cases_case", "narrative", source.pk))
    with pytest.raises(crypto.IntegrityAlarm):
        Person.objects.get(case=target).name  # noqa: B018


# --- Values are bound to their row (issue 16, item 8) -------------------------------------------------


def test_a_value_copied_into_the_same_column_of_another_row_fails_to_decrypt(make_case):
    source = make_case(narrative="O relato de outra criança.")
    target = make_case(narrative="Um relato inventado.")
    write_raw("cases_case", "narrative", target.pk, raw("cases_case", "narrative", source.pk))
    with pytest.raises(crypto.IntegrityAlarm, match="for its row"):
        Case.objects.get(pk=target.pk).narrative  # noqa: B018


def test_a_plain_value_cannot_be_written_with_update(make_case):
    case = make_case(narrative="Um relato inventado.")
    with pytest.raises(TypeError, match="bound to its row"):
        Case.objects.filter(pk=case.pk).update(narrative="outro")


def test_values_written_before_rows_were_bound_are_read_until_a_rotation_binds_them(make_case):
    case = make_case(narrative="Um relato antigo.")
    other = make_case(narrative="Outro relato antigo.")
    # As an earlier version stored them: model and field as associated data, no row.
    old = crypto.encrypt("Um relato antigo.", "cases.case.narrative")
    backup_of_other = crypto.encrypt("Outro relato antigo.", "cases.case.narrative")
    write_raw("cases_case", "narrative", case.pk, old)
    assert Case.objects.get(pk=case.pk).narrative == "Um relato antigo."
    call_command("rotate_keys", "--data-key", "--json", stdout=io.StringIO())
    crypto.clear_cache()
    assert raw("cases_case", "narrative", case.pk) != old
    assert Case.objects.get(pk=case.pk).narrative == "Um relato antigo."
    # After the rotation, an unbound value (say, from an old backup of another row) is refused.
    write_raw("cases_case", "narrative", case.pk, backup_of_other)
    with pytest.raises(crypto.IntegrityAlarm, match="for its row"):
        Case.objects.get(pk=case.pk).narrative  # noqa: B018
    assert Case.objects.get(pk=other.pk).narrative == "Outro relato antigo."


@pytest.mark.parametrize(
    "lookup",
    [
        {"name": "Zélia Inventada"},
        {"name__iexact": "zélia inventada"},
        {"name__icontains": "Zélia"},
        {"name__startswith": "Z"},
        {"name__in": ["Zélia Inventada"]},
        {"phone__gt": ""},
        {"address__regex": ".*"},
    ],
    ids=lambda lookup: next(iter(lookup)),
)
def test_lookups_other_than_isnull_on_encrypted_fields_raise(lookup):
    with pytest.raises(FieldError, match="blind index"):
        Person.objects.filter(**lookup)


def test_isnull_lookup_on_an_encrypted_field_works(make_case):
    make_case(victim_name="Zélia Inventada")
    assert Person.objects.filter(name__isnull=False).count() == 1


# --- The database never sees identities in clear ----------------------------------------------------


def _needles() -> set[str]:
    found = set()
    for name, phone in VICTIMS:
        plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
        for variant in (name, plain):
            found.add(variant.casefold())
            found.update(word.casefold() for word in variant.split())
        digits = normalise.phone(phone)
        found.update({digits, digits[3:], phone.strip()})
    return found


def test_no_table_in_the_database_holds_a_name_or_phone_in_clear(victims):
    # Rotations leave nothing behind in clear either.
    keys.rotate_data_key(batch_size=2)
    keys.rotate_index_key(batch_size=2)
    needles = _needles()
    tables = connection.introspection.table_names()
    assert "cases_person" in tables
    assert "core_auditentry" in tables
    scanned = 0
    for table in tables:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608  (names from introspection)
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        text = bytes(value).decode("latin-1")
                    else:
                        text = str(value)
                    text = text.casefold()
                    scanned += 1
                    leaked = [n for n in needles if n in text]
                    assert not leaked, f"{table} holds {leaked!r} in clear"
    assert scanned > 100


# --- Data key rotation -------------------------------------------------------------------------------


def test_data_key_rotation_keeps_every_value_readable_and_moves_it_to_the_new_key(victims):
    before = plaintexts()
    old_key = DataKey.objects.get(purpose=DataKey.Purpose.FIELD, active=True)
    seen_mid_rotation = []

    def check_still_readable(n: int) -> None:
        # Between batches some values are under the new key, the rest under the old one.
        seen_mid_rotation.append(plaintexts() == before)

    report = keys.rotate_data_key(batch_size=2, progress=check_still_readable)

    new_key = DataKey.objects.get(purpose=DataKey.Purpose.FIELD, active=True)
    assert report.key == str(new_key.pk) != str(old_key.pk)
    assert seen_mid_rotation
    assert all(seen_mid_rotation)
    crypto.clear_cache()
    assert plaintexts() == before
    stored = list(all_stored_values())
    assert len(stored) >= 4 * 4  # narrative, name, phone, transition reason per case
    assert {crypto.key_of(value) for _, _, value in stored} == {new_key.pk}
    old_key.refresh_from_db()
    assert not old_key.active
    assert old_key.retired_at is not None
    assert report.retired_keys == [old_key.pk]
    assert report.models["cases.case"] == 4
    assert report.models["cases.person"] == 8


def test_data_key_rotation_is_audited_once_with_the_models_it_went_through(victims):
    count = AuditEntry.objects.count()
    report = keys.rotate_data_key()
    assert AuditEntry.objects.count() == count + 1
    entry = AuditEntry.objects.latest("id")
    assert entry.pk == report.audit_entry
    assert entry.action == CoreAudit.KEYS_ROTATE
    assert (entry.object_type, entry.object_id) == ("core.datakey", report.key)
    assert entry.actor_channel == "rotate_keys"
    assert entry.actor_user_id is None
    assert {"cases.case", "cases.person", "cases.transition"} <= set(entry.fields)
    assert list(audit.verify()) == []


def test_data_key_rotation_run_twice_leaves_values_only_under_the_last_key(victims):
    keys.rotate_data_key()
    second = keys.rotate_data_key(batch_size=3)
    assert {crypto.key_of(v) for _, _, v in all_stored_values()} == {int(second.key)}
    assert DataKey.objects.filter(purpose=DataKey.Purpose.FIELD, retired_at__isnull=True).count() == 1


@pytest.mark.parametrize(
    "alter",
    [flip_a_byte, lambda stored: "+258 84 000 2222"],
    ids=["flipped byte", "plaintext written behind the application's back"],
)
def test_data_key_rotation_stops_on_an_altered_value_and_names_where(victims, alter):
    person = victims[1].persons.get()
    write_raw("cases_person", "phone", person.pk, alter(raw("cases_person", "phone", person.pk)))
    with pytest.raises(crypto.IntegrityAlarm, match=rf"cases\.person\.phone of row {person.pk}"):
        keys.rotate_data_key(batch_size=1)
    # Nothing was retired: every value that could be read still can.
    assert not DataKey.objects.filter(purpose=DataKey.Purpose.FIELD, retired_at__isnull=False).exists()


def test_values_written_after_a_rotation_use_the_new_key(victims, make_case):
    report = keys.rotate_data_key()
    case = make_case(narrative="Um relato posterior.")
    assert crypto.key_of(raw("cases_case", "narrative", case.pk)) == int(report.key)


# --- Master key rotation -----------------------------------------------------------------------------


def test_master_key_rotation_rewraps_every_data_key_and_keeps_data_readable(victims, settings):
    before = plaintexts()
    old_master = settings.AMPARO_MASTER_KEY
    new_master = os.urandom(32)
    settings.AMPARO_MASTER_KEY = new_master
    settings.AMPARO_OLD_MASTER_KEYS = [old_master]
    crypto.clear_cache()

    report = keys.rotate_master_key()

    assert report.key == envelope.key_id(new_master)
    assert set(DataKey.objects.values_list("master_key_id", flat=True)) == {envelope.key_id(new_master)}
    assert report.models["core.datakey"] == DataKey.objects.count()
    assert report.models["evidence.evidenceitem"] == 0  # other apps re-wrap their own keys too
    entry = AuditEntry.objects.get(pk=report.audit_entry)
    assert (entry.action, entry.object_type, entry.object_id) == (
        CoreAudit.KEYS_ROTATE,
        "core.masterkey",
        envelope.key_id(new_master),
    )
    # The old master key can now go.
    settings.AMPARO_OLD_MASTER_KEYS = []
    crypto.clear_cache()
    assert plaintexts() == before
    assert actions.find_persons_by_phone(VICTIMS[0][1]).count() == 1


def test_master_key_rotation_without_the_old_master_key_fails_clearly_and_changes_nothing(victims, settings):
    wrapped_before = {dk.pk: (bytes(dk.wrapped), dk.master_key_id) for dk in DataKey.objects.all()}
    settings.AMPARO_MASTER_KEY = os.urandom(32)
    settings.AMPARO_OLD_MASTER_KEYS = []
    crypto.clear_cache()
    with pytest.raises(keys.KeyRotationError) as exc:
        keys.rotate_master_key()
    message = str(exc.value)
    assert "AMPARO_OLD_MASTER_KEYS" in message
    assert "rotate_keys --master-key" in message
    assert "Nothing was changed" in message
    assert {dk.pk: (bytes(dk.wrapped), dk.master_key_id) for dk in DataKey.objects.all()} == wrapped_before
    # And the application itself says what is missing.
    with pytest.raises(crypto.IntegrityAlarm, match="AMPARO_OLD_MASTER_KEYS"):
        Case.objects.get(pk=victims[0].pk).narrative  # noqa: B018


def test_master_key_rotation_with_nothing_to_do_rewraps_nothing(victims):
    report = keys.rotate_master_key()
    assert set(report.models.values()) == {0}  # data keys, and every key other apps registered
    assert AuditEntry.objects.get(pk=report.audit_entry).fields == []


# --- Index key rotation ------------------------------------------------------------------------------


def test_index_key_rotation_keeps_look_ups_working(victims):
    old_indexes = dict(Person.objects.values_list("pk", "phone_index"))
    old_key = DataKey.objects.get(purpose=DataKey.Purpose.INDEX, active=True)

    report = keys.rotate_index_key(batch_size=3)

    new_indexes = dict(Person.objects.values_list("pk", "phone_index"))
    assert set(new_indexes) == set(old_indexes)
    assert all(new_indexes[pk] != old_indexes[pk] for pk in old_indexes)
    assert report.models["cases.person"] == 8
    old_key.refresh_from_db()
    assert old_key.retired_at is not None
    assert not old_key.active
    crypto.clear_cache()
    for name, phone in VICTIMS:
        by_phone = actions.find_persons_by_phone(phone)
        assert [p.name for p in by_phone] == [name]
        # Other spellings of the same number and name match too.
        assert actions.find_persons_by_phone("+" + normalise.phone(phone)).count() == 1
        assert [p.phone for p in actions.find_persons_by_name(name.upper(), None)] == [phone]
    entry = AuditEntry.objects.get(pk=report.audit_entry)
    assert (entry.object_type, entry.object_id) == ("core.datakey", report.key)
    assert "cases.person" in entry.fields


def test_people_added_after_an_index_rotation_are_found(victims, make_case):
    keys.rotate_index_key()
    make_case(victim_name="Rosália Posterior", victim_phone="84 000 9999")
    assert actions.find_persons_by_phone("+258840009999").count() == 1
    assert actions.find_persons_by_name("rosalia posterior", None).count() == 1


def test_candidate_indexes_find_every_row_while_an_index_rotation_is_under_way(victims):
    found_mid_rotation = []

    def look_up(n: int) -> None:
        # Some rows are recomputed, some not: the active index alone misses the latter.
        hits = [
            Person.objects.filter(
                phone_index__in=crypto.blind_index_candidates(normalise.phone(phone))
            ).count()
            for _, phone in VICTIMS
        ]
        found_mid_rotation.append(hits)

    keys.rotate_index_key(batch_size=2, progress=look_up)
    assert found_mid_rotation
    assert all(hits == [1, 1, 1, 1] for hits in found_mid_rotation)
    assert len(crypto.blind_index_candidates("258840001111")) == 1  # the old key is retired at the end


def test_blind_index_registry_is_declared_by_the_model():
    # Every app may declare indexes; the case core's Person is one of them.
    assert dict(keys.indexed_models())[Person] == Person.BLIND_INDEXES
    person = Person(name="Ana  MÁRIA", phone="84 123 4567", birth_year=2011)
    assert {name: f(person) for name, f in Person.BLIND_INDEXES.items()} == {
        "name_index": "ana maria|2011",
        "phone_index": "258841234567",
    }
    # No index for what normalises to nothing: an empty look-up must not match everyone without one.
    for blank in (Person(), Person(name="   ", phone="n/a", birth_year=2011)):
        assert {name: f(blank) for name, f in Person.BLIND_INDEXES.items()} == {
            "name_index": "",
            "phone_index": "",
        }


def test_every_model_with_identifying_text_is_covered_by_rotation():
    labels = {model._meta.label_lower: {f.name for f in fields} for model, fields in keys.encrypted_models()}
    assert labels["cases.person"] == {"name", "phone", "address"}
    assert labels["cases.case"] == {"narrative"}
    assert {"cases.casenote", "cases.transition", "cases.referral"} <= set(labels)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises write transactions instead")
def test_computing_a_blind_index_holds_off_a_new_index_key_until_commit():
    import psycopg

    params = connection.settings_dict
    with transaction.atomic():
        crypto.blind_index("258840001111")
        with psycopg.connect(
            dbname=params["NAME"],
            user=params["USER"],
            host=params["HOST"],
            port=params["PORT"] or None,
            autocommit=True,
        ) as other:
            rotation_could_start = other.execute(
                "SELECT pg_try_advisory_lock(%s)", [crypto.INDEX_KEY_LOCK]
            ).fetchone()[0]
            other_writer_can_go_on = other.execute(
                "SELECT pg_try_advisory_lock_shared(%s)", [crypto.INDEX_KEY_LOCK]
            ).fetchone()[0]
    assert rotation_could_start is False
    assert other_writer_can_go_on is True
