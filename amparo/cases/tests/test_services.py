"""The service directory (seeded national services, demo entries marked and hidden outside the demo,
filtered by district) and service referrals from a case (outcome recorded and audited, outsiders 404)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from amparo.cases.actions.services import (
    create_demo_services,
    create_service,
    record_service_outcome,
    refer_to_service,
)
from amparo.cases.models import Service, ServiceOutcome, ServiceReferral
from amparo.cases.permissions import ServiceAudit
from amparo.cases.services import directory, nearest_services
from amparo.conftest import SYSTEM
from amparo.core.models import AuditEntry, District
from amparo.core.tests.test_web import sign_in


@pytest.fixture(autouse=True)
def _static_root(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


def _service(name: str, district: str | None = None, *, kind: str = "psychosocial", **extra) -> Service:
    place = {"district": District.objects.get(pk=district)} if district else {"is_national": True}
    return create_service(SYSTEM, name=name, kind=kind, phone="+258 21 000 000", **place, **extra)


@pytest.fixture
def places(db):
    """Services in Nampula city (MZ0702), another Nampula district (MZ0703) and in another province (MZ0601)."""
    return {
        "here": _service("Apoio Psicossocial Teste Nampula", "MZ0702"),
        "same_province": _service("Centro Teste Ribáuè", "MZ0703", kind="shelter"),
        "elsewhere": _service("Centro Teste Outra Província", "MZ0601"),
        "demo": _service("Serviço Fictício (demo)", "MZ0702", kind="legal_aid", is_demo=True),
    }


# --- Directory --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_migration_seeds_the_national_services_not_marked_demo():
    national = Service.objects.filter(is_national=True, is_demo=False, active=True)
    names = set(national.values_list("name", flat=True))
    assert any("116" in name for name in names)
    assert any("IPAJ" in name for name in names)
    assert national.filter(kind="family_desk").exists()
    assert national.filter(kind="integrated_centre").exists()
    assert national.get(phone="116").kind == "helpline"


@pytest.mark.django_db
def test_demo_services_are_created_marked_once_per_provincial_capital(settings):
    settings.DEMO = True
    created = create_demo_services(SYSTEM)
    capitals = District.objects.filter(is_capital=True).count()
    assert len(created) == capitals * 3
    for service in created:
        assert service.is_demo
        assert service.name.startswith("[DEMO]")
        assert "fictícia" in service.notes
        assert service.district.is_capital
    assert create_demo_services(SYSTEM) == []  # idempotent
    assert Service.objects.filter(is_demo=True).count() == len(created)
    settings.DEMO = False
    assert not directory().filter(is_demo=True).exists()


@pytest.mark.django_db
def test_demo_entries_are_hidden_outside_demo_mode(settings, places):
    settings.DEMO = False
    assert places["demo"] not in directory()
    assert places["demo"] not in nearest_services(places["demo"].district, limit=10)
    settings.DEMO = True
    assert places["demo"] in directory()


@pytest.mark.django_db
def test_demo_entries_are_clearly_marked_on_the_directory_page(client, make_user, settings, places):
    settings.DEMO = True
    sign_in(client, make_user("social_worker", agency="mgcas"))
    response = client.get(reverse("cases:services"), {"district": "MZ0702"})
    assert response.status_code == 200
    html = response.content.decode()
    row = html[html.index("Serviço Fictício (demo)") :][:300]
    assert 'class="demo-mark"' in row


@pytest.mark.django_db
def test_directory_filtered_by_district_shows_district_and_national_services_only(client, make_user, places):
    sign_in(client, make_user("social_worker", agency="mgcas"))
    response = client.get(reverse("cases:services"), {"district": "MZ0702"})
    assert response.status_code == 200
    shown = set(response.context["page"].object_list)
    assert places["here"] in shown
    assert places["same_province"] not in shown
    assert places["elsewhere"] not in shown
    assert places["demo"] not in shown  # not in demo mode
    assert Service.objects.get(phone="116") in shown  # national


@pytest.mark.django_db
def test_directory_filtered_by_type(client, make_user, places):
    sign_in(client, make_user("social_worker", agency="mgcas"))
    response = client.get(reverse("cases:services"), {"kind": "shelter"})
    shown = list(response.context["page"].object_list)
    assert shown == [places["same_province"]]


@pytest.mark.django_db
def test_directory_is_for_staff_only(client, make_user):
    response = client.get(reverse("cases:services"))
    assert response.status_code == 302  # to sign-in
    assert "services" not in response.headers["Location"].split("?")[0]


@pytest.mark.django_db
def test_nearest_services_put_the_district_first_then_province_then_national(places):
    found = nearest_services(District.objects.get(pk="MZ0702"), limit=3)
    assert found[0] == places["here"]
    assert found[1] == places["same_province"]
    assert found[2].is_national
    assert places["elsewhere"] not in nearest_services(District.objects.get(pk="MZ0702"), limit=20)


def test_a_district_service_outside_its_province_is_refused(db):
    with pytest.raises(ValidationError):
        create_service(
            SYSTEM,
            name="Mal colocado",
            kind="shelter",
            province=District.objects.get(pk="MZ0601").province,
            district=District.objects.get(pk="MZ0702"),
        )


@pytest.mark.django_db
def test_only_system_administrators_manage_the_directory(make_user):
    with pytest.raises(PermissionDenied):
        create_service(
            make_user("agency_supervisor", agency="mgcas"), name="X", kind="shelter", is_national=True
        )
    admin = make_user("sysadmin", agency="linha-fala-crianca")
    assert create_service(admin, name="Nova linha", kind="helpline", is_national=True).pk


# --- Service referrals ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_service_referral_and_outcome_are_recorded_and_audited(client, make_user, make_case, places):
    case = make_case(agency="linha-fala-crianca", district="MZ0702", victim_name="Criança Teste")
    operator = make_user("helpline_operator", agency="linha-fala-crianca")
    sign_in(client, operator)

    response = client.post(
        reverse("cases:service_refer", args=[case.reference]),
        {"service": str(places["here"].pk), "reason": "Apoio psicológico depois da denúncia."},
    )
    assert response.status_code == 302
    referral = ServiceReferral.objects.get(case=case)
    assert referral.service == places["here"]
    assert referral.outcome == ServiceOutcome.PENDING
    assert referral.referred_by == operator
    created = AuditEntry.objects.get(action=ServiceAudit.REFERRAL_CREATE)
    assert created.object_id == str(referral.pk)
    assert created.actor_user_id == operator.pk
    assert "reason" in created.fields

    response = client.post(
        reverse("cases:service_outcome", args=[case.reference, referral.pk]),
        {"outcome": ServiceOutcome.RECEIVED, "note": "Primeira sessão feita."},
    )
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.outcome == ServiceOutcome.RECEIVED
    assert referral.outcome_note == "Primeira sessão feita."
    assert referral.outcome_at is not None
    recorded = AuditEntry.objects.get(action=ServiceAudit.OUTCOME_RECORD)
    assert recorded.object_id == str(referral.pk)
    assert set(recorded.fields) == {"outcome", "outcome_at", "outcome_note"}
    assert "Primeira sessão" not in str(recorded.fields)  # field names only

    page = client.get(reverse("cases:detail", args=[case.reference]))
    html = page.content.decode()
    assert 'id="services"' in html
    assert "Apoio Psicossocial Teste Nampula" in html
    assert str(ServiceOutcome.RECEIVED.label) in html or "Serviço recebido" in html


@pytest.mark.django_db
def test_service_referral_shows_on_the_case_timeline(client, make_user, make_case, places):
    case = make_case(agency="linha-fala-crianca", district="MZ0702")
    operator = make_user("helpline_operator", agency="linha-fala-crianca")
    referral = refer_to_service(operator, case, service=places["here"], reason="Apoio.")
    record_service_outcome(operator, referral, outcome=ServiceOutcome.NOT_ATTENDED)
    sign_in(client, operator)
    entries = client.get(reverse("cases:detail", args=[case.reference])).context["entries"]
    kinds = [e.kind for e in entries]
    assert "service-referral" in kinds
    assert "service-outcome" in kinds


@pytest.mark.django_db
def test_pending_is_not_an_outcome(make_user, make_case, places):
    case = make_case()
    operator = make_user("helpline_operator", agency="linha-fala-crianca")
    referral = refer_to_service(operator, case, service=places["here"], reason="Apoio.")
    with pytest.raises(ValidationError):
        record_service_outcome(operator, referral, outcome=ServiceOutcome.PENDING)


@pytest.mark.django_db
def test_service_referral_needs_a_reason(make_user, make_case, places):
    operator = make_user("helpline_operator", agency="linha-fala-crianca")
    with pytest.raises(ValidationError):
        refer_to_service(operator, make_case(), service=places["here"], reason="  ")
    assert not ServiceReferral.objects.exists()


@pytest.mark.django_db
def test_demo_service_cannot_receive_a_real_referral(settings, make_user, make_case, places):
    settings.DEMO = False
    operator = make_user("helpline_operator", agency="linha-fala-crianca")
    with pytest.raises(ValidationError):
        refer_to_service(operator, make_case(), service=places["demo"], reason="Apoio.")


@pytest.mark.django_db
def test_outsider_gets_404_on_service_referral_and_outcome(client, make_user, make_case, places):
    case = make_case(agency="linha-fala-crianca")
    operator = make_user("helpline_operator", agency="linha-fala-crianca")
    referral = refer_to_service(operator, case, service=places["here"], reason="Apoio.")
    sign_in(client, make_user("investigator", agency="sernic"))
    refer = client.post(
        reverse("cases:service_refer", args=[case.reference]),
        {"service": str(places["here"].pk), "reason": "Tentativa de fora."},
    )
    outcome = client.post(
        reverse("cases:service_outcome", args=[case.reference, referral.pk]),
        {"outcome": ServiceOutcome.RECEIVED},
    )
    assert refer.status_code == 404
    assert outcome.status_code == 404
    assert ServiceReferral.objects.count() == 1
    referral.refresh_from_db()
    assert referral.outcome == ServiceOutcome.PENDING


@pytest.mark.django_db
def test_outcome_of_another_case_referral_is_404(client, make_user, make_case, places):
    mine = make_case(agency="linha-fala-crianca")
    other = make_case(agency="linha-fala-crianca")
    operator = make_user("helpline_operator", agency="linha-fala-crianca")
    referral = refer_to_service(operator, other, service=places["here"], reason="Apoio.")
    sign_in(client, operator)
    response = client.post(
        reverse("cases:service_outcome", args=[mine.reference, referral.pk]), {"outcome": "received"}
    )
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("shared", [(), ("services",)])
def test_receiving_agency_sees_service_referrals_only_when_shared(
    client, make_user, make_case, places, shared
):
    from amparo.cases import actions
    from amparo.cases.tests.fixtures import given_consent
    from amparo.core.models import Agency

    case = make_case(agency="linha-fala-crianca", district="MZ0702")
    owner = make_user("helpline_operator", agency="linha-fala-crianca")
    refer_to_service(owner, case, service=places["here"], reason="Apoio sigiloso.")
    referral = actions.refer_case(
        owner,
        case,
        Agency.objects.get(code="mgcas"),
        reason="Apoio social.",
        consent=given_consent(case),
        shared_fields=shared,
    )
    worker = make_user("social_worker", agency="mgcas")
    actions.decide_referral(worker, referral, accept=True)
    sign_in(client, worker)
    page = client.get(reverse("cases:detail", args=[case.reference]))
    assert page.status_code == 200
    html = page.content.decode()
    refer = client.post(
        reverse("cases:service_refer", args=[case.reference]),
        {"service": str(places["here"].pk), "reason": "Do outro lado."},
    )
    if shared:
        assert 'id="services"' in html
        assert "Apoio Psicossocial Teste Nampula" in html
        assert refer.status_code == 302
        assert ServiceReferral.objects.filter(case=case).count() == 2
    else:
        assert 'id="services"' not in html
        assert "Apoio Psicossocial Teste Nampula" not in html
        assert "service-referral" not in [e.kind for e in page.context["entries"]]
        assert refer.status_code == 403
        assert ServiceReferral.objects.filter(case=case).count() == 1


@pytest.mark.django_db
def test_reason_of_a_service_referral_is_hidden_from_roles_without_identity(
    client, make_user, make_case, places
):
    case = make_case(agency="linha-fala-crianca", district="MZ0702")
    owner = make_user("helpline_operator", agency="linha-fala-crianca")
    refer_to_service(owner, case, service=places["here"], reason="Motivo sigiloso inventado.")
    sign_in(client, make_user("agency_supervisor", agency="linha-fala-crianca"))
    html = client.get(reverse("cases:detail", args=[case.reference])).content.decode()
    assert "Apoio Psicossocial Teste Nampula" in html
    assert "Motivo sigiloso inventado." not in html
    client.logout()
    sign_in(client, owner)
    assert (
        "Motivo sigiloso inventado."
        in client.get(reverse("cases:detail", args=[case.reference])).content.decode()
    )


@pytest.mark.django_db
def test_directory_filter_never_fails_on_odd_input(client, make_user):
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hsettings
    from hypothesis import strategies as st

    sign_in(client, make_user("social_worker", agency="mgcas"))
    values = st.one_of(
        st.text(max_size=30), st.sampled_from(["MZ0702", "MZ07", "shelter", "0", "-1", "9" * 30])
    )

    @hsettings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(district=values, province=values, kind=values, page=values)
    def check(district: str, province: str, kind: str, page: str) -> None:
        query = {"district": district, "province": province, "kind": kind, "page": page}
        response = client.get(reverse("cases:services"), query)
        assert response.status_code == 200

    check()
