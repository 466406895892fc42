"""The research extract: requested, approved by another national coordinator, downloaded by the
requester, every step audited; no direct identifier in it; refused when it cannot be k-anonymous."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amparo.cases import actions as case_actions
from amparo.conftest import SYSTEM
from amparo.core.models import AuditEntry
from amparo.core.tests.test_web import sign_in
from amparo.lib import kanon
from amparo.observatory import actions
from amparo.observatory import extract as rules
from amparo.observatory.extract import ExtractAudit
from amparo.observatory.models import ExtractRequest, ExtractStatus
from amparo.observatory.tests.test_dashboard import _static_root, make_world  # noqa: F401

START, END = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
VICTIM = "Zélia Inventada"
PHONE = "+258 84 000 1111"


@pytest.fixture
def analyst(make_user):
    return make_user("analyst", agency="mgcas")


@pytest.fixture
def coordinator(make_user):
    return make_user("national_coordinator", agency="mgcas")


@pytest.fixture
def cases(db):
    made = make_world()
    for case in made:
        case_actions.add_person(SYSTEM, case, role="victim", name=VICTIM, phone=PHONE, age=14, sex="female")
    return made


def _approved(analyst, coordinator, fields=rules.DEFAULT_COLUMNS) -> ExtractRequest:
    request = actions.request_extract(
        analyst,
        purpose="Justice process research (seeds).",
        fields=fields,
        period_start=START,
        period_end=END,
    )
    return actions.decide_extract(coordinator, request, approve=True)


@pytest.mark.django_db
def test_request_approve_download_is_audited_step_by_step(analyst, coordinator, cases):
    request = _approved(analyst, coordinator)
    body = actions.download_extract(analyst, request)
    request.refresh_from_db()
    assert request.status == ExtractStatus.DOWNLOADED
    assert request.approver == coordinator
    trail = list(AuditEntry.objects.filter(object_id=str(request.pk)).values_list("action", "actor_user_id"))
    assert trail == [
        (ExtractAudit.REQUEST, analyst.pk),
        (ExtractAudit.APPROVE, coordinator.pk),
        (ExtractAudit.DOWNLOAD, analyst.pk),
    ]
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == len(cases)
    assert set(rows[0]) == set(rules.DEFAULT_COLUMNS)


@pytest.mark.django_db
def test_the_extract_holds_no_direct_identifier(analyst, coordinator, cases):
    body = actions.download_extract(analyst, _approved(analyst, coordinator, fields=list(rules.COLUMNS)))
    for secret in (
        VICTIM,
        "Zélia",
        PHONE,
        "840001111",
        "Um relato sintético",
        "AMP-",
        *(str(c.pk) for c in cases),
    ):
        assert secret not in body
    for case in cases:
        assert case.reference not in body
    assert "2026-10-" not in body  # no day of the month


@pytest.mark.django_db
def test_small_places_are_generalised_until_every_combination_has_five(analyst, coordinator, cases):
    body = actions.download_extract(
        analyst, _approved(analyst, coordinator, fields=["place", "month", "age_band", "sex", "channel"])
    )
    rows = list(csv.DictReader(io.StringIO(body)))
    combos = Counter((r["place"], r["month"], r["age_band"], r["sex"]) for r in rows)
    assert min(combos.values()) >= 5
    assert "Chimbonila" not in body
    assert "Bilene" not in body


@pytest.mark.django_db
def test_an_unsafe_extract_is_refused_and_nothing_is_released(analyst, coordinator, db):
    case = case_actions.create_case(
        SYSTEM,
        channel="web",
        owning_agency=analyst.agency,
        district=None,
        received_at=dt.datetime(2026, 10, 5, 9, tzinfo=dt.UTC),
    )
    case_actions.add_person(SYSTEM, case, role="victim", age=10, sex="male")
    request = _approved(analyst, coordinator, fields=["place", "month", "age_band", "sex"])
    with pytest.raises(actions.ExtractWithheld):
        actions.download_extract(analyst, request)
    request.refresh_from_db()
    assert request.status == ExtractStatus.APPROVED
    assert request.downloaded_at is None
    assert AuditEntry.objects.filter(action=ExtractAudit.WITHHELD, object_id=str(request.pk)).count() == 1
    assert not AuditEntry.objects.filter(action=ExtractAudit.DOWNLOAD).exists()


def test_the_k_anonymity_check_refuses_what_generalisation_cannot_save():
    records = [{"place": "MZ0702", "month": "2026-10", "age_band": "12-14", "sex": "female"}] * 7 + [
        {"place": "MZ0801", "month": "2026-10", "age_band": "12-14", "sex": "male"}
    ]
    with pytest.raises(kanon.UnsafeExtract) as refused:
        rules.build(records, ["place", "month", "age_band", "sex"])
    assert refused.value.levels == {"place": 2, "month": 2, "age_band": 2, "sex": 0}
    assert "MZ0801" not in str(refused.value)


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "place": st.sampled_from(["MZ0702", "MZ0703", "MZ0601", "MZ0801", "MZ"]),
                "month": st.sampled_from(["2026-01", "2026-05", "2026-10", "2025-12"]),
                "age_band": st.sampled_from(["0-8", "9-11", "12-14", "15-17", "unknown"]),
                "sex": st.sampled_from(["female", "male"]),
                "channel": st.sampled_from(["web", "sms"]),
            }
        ),
        max_size=60,
    )
)
def test_what_build_releases_is_always_five_anonymous(records):
    try:
        built = rules.build(records, ["place", "month", "age_band", "sex", "channel"])
    except kanon.UnsafeExtract:
        return
    combos = Counter(tuple(r[c] for c in rules.QUASI_IDENTIFIERS) for r in built.records)
    assert not combos or min(combos.values()) >= 5
    assert len(built.records) == len(records)


@pytest.mark.django_db
def test_a_coordinator_cannot_approve_their_own_request(coordinator):
    request = actions.request_extract(
        coordinator, purpose="x", fields=["month"], period_start=START, period_end=END
    )
    with pytest.raises(PermissionDenied):
        actions.decide_extract(coordinator, request, approve=True)


@pytest.mark.django_db
def test_nothing_downloads_before_approval_or_after_refusal_or_by_someone_else(
    analyst, coordinator, make_user
):
    request = actions.request_extract(
        analyst, purpose="x", fields=["month"], period_start=START, period_end=END
    )
    with pytest.raises(PermissionDenied):
        actions.download_extract(analyst, request)
    actions.decide_extract(coordinator, request, approve=False, note="Purpose too vague.")
    request.refresh_from_db()
    with pytest.raises(PermissionDenied):
        actions.download_extract(analyst, request)
    other = _approved(analyst, coordinator)
    with pytest.raises(PermissionDenied):
        actions.download_extract(make_user("analyst", agency="mgcas"), other)
    with pytest.raises(PermissionDenied):
        actions.download_extract(coordinator, other)
    with pytest.raises(ValidationError):
        actions.decide_extract(coordinator, request, approve=True)  # already decided


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["agency_supervisor", "investigator", "auditor"])
def test_other_roles_cannot_request_extracts(make_user, role, client):
    user = make_user(role, agency="sernic")
    with pytest.raises(PermissionDenied):
        actions.request_extract(user, purpose="x", fields=["month"], period_start=START, period_end=END)
    sign_in(client, user)
    assert client.get("/observatory/extracts/").status_code == 403


@pytest.mark.django_db
def test_the_whole_workflow_through_the_pages(client, analyst, coordinator, cases):
    sign_in(client, analyst)
    response = client.post(
        "/observatory/extracts/",
        {
            "purpose": "Research",
            "fields": ["month", "channel"],
            "period_start": "2026-10-01",
            "period_end": "2026-10-31",
        },
    )
    request = ExtractRequest.objects.get()
    assert response.status_code == 302
    assert request.requester == analyst
    assert client.post(f"/observatory/extracts/{request.pk}/download").status_code == 403
    assert client.post(f"/observatory/extracts/{request.pk}/", {"decision": "approve"}).status_code == 403
    client.logout()
    sign_in(client, coordinator)
    assert client.post(f"/observatory/extracts/{request.pk}/", {"decision": "approve"}).status_code == 302
    client.logout()
    sign_in(client, analyst)
    download = client.post(f"/observatory/extracts/{request.pk}/download")
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    assert download.content.decode().splitlines()[0] == "month,channel"


@pytest.mark.django_db
def test_someone_elses_request_is_not_found(client, analyst, make_user):
    request = actions.request_extract(
        analyst, purpose="x", fields=["month"], period_start=START, period_end=END
    )
    sign_in(client, make_user("analyst", agency="mgcas"))
    assert client.get(f"/observatory/extracts/{request.pk}/").status_code == 404


def test_csv_cells_cannot_start_a_formula():
    built = kanon.Extract(records=[{"channel": "=cmd()"}], levels={}, suppressed=0)
    assert rules.to_csv(built, ["channel"]).splitlines()[1] == "'=cmd()"


@pytest.mark.django_db
@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    purpose=st.text(max_size=40),
    fields=st.lists(st.sampled_from([*rules.COLUMNS, "name", "phone", "reference", ""]), max_size=6),
    start=st.text(max_size=12),
    end=st.text(max_size=12),
)
def test_the_request_form_never_fails_and_never_accepts_an_identifier_column(
    client, analyst, purpose, fields, start, end
):
    sign_in(client, analyst)
    response = client.post(
        "/observatory/extracts/",
        {"purpose": purpose, "fields": fields, "period_start": start, "period_end": end},
    )
    assert response.status_code in (200, 302)
    for request in ExtractRequest.objects.all():
        assert set(request.fields) <= set(rules.COLUMNS)
