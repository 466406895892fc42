"""Receipts: format, uniqueness, only a hash stored, the look-up path, read-aloud replacement."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amparo.cases.models import Case
from amparo.core import audit
from amparo.core.models import Agency, District
from amparo.intake import actions, receipts
from amparo.intake.models import Report
from amparo.intake.permissions import IntakeAudit

WEB = audit.Actor(channel="web")


def _submit(**overrides):  # noqa: ANN003, ANN202
    values = {
        "channel_kind": "web",
        "owning_agency": Agency.objects.get(code="linha-fala-crianca"),
        "forms": ["sextortion"],
        "platforms": ["instagram"],
        "who_affected": "me",
        "province": None,
        "district": District.objects.get(pk="MZ0702"),
        "narrative": "Someone I met in a game asks for photos.",
    }
    values.update(overrides)
    return actions.submit_public_report(WEB, **values)


def test_a_new_receipt_is_sixteen_random_digits():
    drawn = {receipts.new_receipt() for _ in range(2000)}
    assert len(drawn) == 2000
    assert all(re.fullmatch(r"\d{16}", r) for r in drawn)
    # Every digit appears in every position over many draws: nothing is fixed.
    for position in range(16):
        assert {r[position] for r in drawn} == set("0123456789")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1234567890123456", "1234567890123456"),
        ("1234 5678 9012 3456", "1234567890123456"),
        (" 1234-5678-9012-3456 ", "1234567890123456"),
        ("1234.5678.9012.3456", "1234567890123456"),
        ("123456789012345", None),
        ("12345678901234567", None),
        ("1234 5678 9012 345a", None),
        ("１２３４５６７８９０１２３４５６", None),  # full-width digits are not receipt digits
        ("", None),
    ],
)
def test_receipts_are_normalised_from_what_people_type(typed, expected):
    assert receipts.normalise(typed) == expected


@given(st.text(max_size=80))
def test_normalise_never_fails_and_returns_sixteen_ascii_digits_or_none(text):
    result = receipts.normalise(text)
    assert result is None or (len(result) == 16 and result.isascii() and result.isdigit())


@pytest.mark.django_db
def test_the_hash_is_stable_and_differs_between_receipts():
    assert receipts.receipt_hash("1234567890123456") == receipts.receipt_hash("1234567890123456")
    assert receipts.receipt_hash("1234567890123456") != receipts.receipt_hash("1234567890123457")
    assert len(receipts.receipt_hash("1234567890123456")) == 64


@pytest.mark.django_db
def test_only_the_hash_of_a_receipt_is_stored():
    submitted = _submit()
    receipt = submitted.receipt
    assert re.fullmatch(r"\d{16}", receipt)
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            columns = [c.name for c in connection.introspection.get_table_description(cursor, table)]
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
            cursor.execute(f"SELECT {quoted} FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    text = (
                        bytes(value).decode("latin-1")
                        if isinstance(value, bytes | memoryview)
                        else str(value)
                    )
                    assert receipt not in text, f"the receipt is stored in clear in {table}"
    report = Report.objects.get(case=submitted.case)
    assert report.receipt_hash == receipts.receipt_hash(receipt)


@pytest.mark.django_db
def test_a_receipt_finds_its_own_report_and_nothing_else():
    first, second = _submit(), _submit()
    assert receipts.lookup(first.receipt).pk == first.report.pk
    assert receipts.lookup(receipts.display(second.receipt)).pk == second.report.pk
    wrong = str((int(first.receipt) + 1) % 10**16).zfill(16)
    assert receipts.lookup(wrong) is None
    assert receipts.lookup("not a receipt") is None


@pytest.mark.django_db
def test_every_look_up_costs_one_hash_and_the_same_queries_whether_or_not_the_receipt_exists(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    existing = _submit().receipt
    # The salt is loaded and cached (keys are cached once their transaction commits: simulate it).
    with django_capture_on_commit_callbacks(execute=True):
        receipts.lookup("0000000000000000")
        receipts.lookup(existing)  # and the field key its encrypted columns are read with
    for attempt in (existing, "9999999999999999", "garbage"):
        with django_assert_num_queries(2):  # a web report not yet filed, then the report
            receipts.lookup(attempt)


@pytest.mark.django_db
def test_submitting_creates_the_case_the_report_and_their_audit_entries_together():
    submitted = _submit(immediate_danger=True, callback_phone="+258 84 123 4567", callback_consented=True)
    case = Case.objects.get(pk=submitted.case.pk)
    assert case.channel == "web"
    assert case.priority == "immediate"
    assert case.risk_flags == ["immediate_danger"]
    entries = list(
        audit.AuditEntry.objects.filter(actor_channel="web").order_by("id").values_list("action", "object_id")
    )
    assert ("cases:case:create", str(case.pk)) in entries
    assert (str(IntakeAudit.REPORT_CREATE), str(submitted.report.pk)) in entries
    report = Report.objects.get(pk=submitted.report.pk)
    assert report.callback_phone == "+258 84 123 4567"
    assert report.callback_phone_index  # a blind index serves duplicate suggestions


@pytest.mark.django_db
def test_a_phone_given_without_consent_to_call_back_is_not_kept():
    submitted = _submit(callback_phone="+258 84 123 4567", callback_consented=False)
    report = Report.objects.get(pk=submitted.report.pk)
    assert report.callback_phone == ""
    assert report.callback_phone_index == ""


@pytest.mark.django_db
def test_a_read_aloud_receipt_is_replaced_the_first_time_it_is_used(make_user):
    operator = make_user("helpline_operator", agency="linha-fala-crianca")
    call = actions.record_contact(
        operator,
        desk=False,
        immediate_danger=False,
        caller_type="child",
        forms=["grooming"],
        platforms=["whatsapp"],
        who_affected="me",
        province=None,
        district=None,
        action_taken="advice",
    )
    view = actions.reporter_status(call.receipt)
    assert view is not None
    assert view.new_receipt
    assert view.new_receipt != call.receipt
    assert actions.reporter_status(call.receipt) is None  # the read-aloud one no longer works
    second = actions.reporter_status(view.new_receipt)
    assert second is not None
    assert second.new_receipt is None
    assert audit.AuditEntry.objects.filter(action=str(IntakeAudit.RECEIPT_REPLACE)).count() == 1


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=40))
def test_no_typed_text_other_than_the_receipt_opens_a_report(text):
    submitted = _submit()
    if receipts.normalise(text) != submitted.receipt:
        assert actions.reporter_status(text) is None


@pytest.mark.django_db
def test_the_hash_is_argon2id_under_a_salt_kept_only_wrapped_by_the_master_key(settings):
    from argon2.low_level import Type, hash_secret_raw

    from amparo.core.models import DataKey
    from amparo.lib import envelope

    digest = receipts.receipt_hash("1234567890123456")
    row = DataKey.objects.get(purpose=DataKey.Purpose.RECEIPT)
    salt = envelope.unwrap_key(settings.AMPARO_MASTER_KEY, bytes(row.wrapped))
    assert salt not in bytes(row.wrapped)
    expected = hash_secret_raw(
        b"1234567890123456",
        salt,
        time_cost=receipts.TIME_COST,
        memory_cost=receipts.MEMORY_COST_KIB,
        parallelism=receipts.PARALLELISM,
        hash_len=receipts.HASH_BYTES,
        type=Type.ID,
    )
    assert digest == expected.hex()
