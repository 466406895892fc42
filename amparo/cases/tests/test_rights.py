"""The victim rights information package: the PDF holds the Portuguese text (extracted from the PDF), the SMS
version fits three parts for every status, audience and language, English is complete, local languages
fall back to Portuguese, deliveries are recorded and audited, the reporter reaches the page with the
receipt, and outsiders get 404."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pypdf import PdfReader

from amparo.cases import rights, rights_content
from amparo.cases.actions.rights import record_rights_delivery, send_rights_sms
from amparo.cases.actions.services import create_service
from amparo.cases.models import DeliveryMethod, RightsAudience, RightsDelivery
from amparo.cases.permissions import RightsAudit
from amparo.cases.rights_content import en, pt
from amparo.cases.workflow import Status
from amparo.conftest import SYSTEM
from amparo.core import audit
from amparo.core.models import AuditEntry, District
from amparo.core.tests.test_web import sign_in
from amparo.lib import gsm

WEB = audit.Actor(channel="web")
LANGUAGES = [code for code, _name in django_settings.LANGUAGES]
RECEIPT = "1234 5678 9012 3456"


@pytest.fixture(autouse=True)
def _static_root(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


@pytest.fixture
def case(make_case):
    return make_case(agency="linha-fala-crianca", district="MZ0702", victim_name="Criança Inventada")


@pytest.fixture
def operator(make_user):
    return make_user("helpline_operator", agency="linha-fala-crianca")


def pdf_text(data: bytes) -> str:
    """The text of a PDF, whitespace collapsed (line breaks of the layout become spaces)."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


# --- PDF --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rights_pdf_contains_the_portuguese_caregiver_text_and_is_audited(client, operator, case):
    sign_in(client, operator)
    response = client.get(
        reverse("cases:rights_pdf", args=[case.reference]), {"audience": "caregiver", "language": "pt"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    assert case.reference not in response["Content-Disposition"]
    text = pdf_text(response.content)
    for expected in (
        "Direitos da criança e da família",
        "Direito à privacidade",
        "Direito a ser ouvido",
        "Direito à protecção",
        "Lei n.º 15/2012",
        "Direito a assistência jurídica",
        "IPAJ",
        "Direito a indemnização",
        "Linha Fala Criança: 116",
        f"Emergência e polícia: {django_settings.AMPARO_POLICE_NUMBER}",
        f"Referência do caso: {case.reference}",
        rights_content.content("pt")["next"]["caregiver"][case.status],
        "Linha Fala Criança (116) (Linha 116)",  # the case's agency
    ):
        assert expected in text, expected
    entry = AuditEntry.objects.get(action=RightsAudit.PACKAGE_EXPORT)
    assert entry.actor_user_id == operator.pk
    assert entry.object_id == str(case.pk)


@pytest.mark.django_db
def test_child_pdf_uses_short_sentences_and_the_next_step_for_the_current_status(client, operator, case):
    case.status = Status.UNDER_INVESTIGATION
    case.save(update_fields=["status"])
    sign_in(client, operator)
    response = client.get(
        reverse("cases:rights_pdf", args=[case.reference]), {"audience": "child", "language": "pt"}
    )
    text = pdf_text(response.content)
    assert "Os teus direitos" in text
    assert "O que aconteceu não é culpa tua." in text
    assert pt.CONTENT["next"]["child"]["under_investigation"] in text
    assert pt.CONTENT["next"]["child"]["received"] not in text
    sentences = [s for r in pt.CONTENT["rights"]["child"] for s in r[1].split(". ")]
    assert max(len(s.split()) for s in sentences) <= 25


@pytest.mark.django_db
def test_rights_pdf_is_a_small_page_for_a_phone(case):
    data = rights.render_pdf(rights.build_package(case, "caregiver", "pt"))
    page = PdfReader(io.BytesIO(data)).pages[0]
    width_mm = float(page.mediabox.width) / 72 * 25.4
    assert 100 <= width_mm <= 110  # A6: zoomed to a phone's width, the type stays large


@pytest.mark.django_db
def test_rights_pdf_lists_the_nearest_services(case):
    create_service(
        SYSTEM,
        name="Apoio Psicossocial Teste",
        kind="psychosocial",
        district=District.objects.get(pk="MZ0702"),
        phone="+258 26 000 000",
    )
    text = pdf_text(rights.render_pdf(rights.build_package(case, "caregiver", "pt")))
    assert "Serviços mais próximos" in text
    assert "Apoio Psicossocial Teste (+258 26 000 000; gratuito)" in text


@pytest.mark.django_db
def test_the_package_shows_the_configured_numbers_to_call(case, settings):
    settings.AMPARO_POLICE_NUMBER = "+25821325031"
    settings.AMPARO_CHILD_HELPLINE_NUMBER = "800116"
    for language in ("pt", "en"):
        for audience in RightsAudience.values:
            package = rights.build_package(case, audience, language)
            text = " ".join(package.contacts) + rights.sms_text(package)
            assert "+25821325031" in text
            assert "800116" in text
            assert "{police}" not in text
            assert "{helpline}" not in text


# --- SMS --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_sms_fits_three_parts_for_every_status_and_audience(case, language):
    agency = case.owning_agency
    for status in Status.values:
        case.status = status
        for audience in RightsAudience.values:
            for receipt in (None, RECEIPT):
                package = rights.build_package(case, audience, language, receipt=receipt)
                text = rights.sms_text(package)
                seg = gsm.segment(text)
                assert seg.parts <= 3, (status, audience, language, seg)
                assert gsm.is_gsm7(text)
                assert (receipt or case.reference) in text  # never cut off
                assert django_settings.AMPARO_CHILD_HELPLINE_NUMBER in text
                assert django_settings.AMPARO_POLICE_NUMBER in text
                assert agency.short_name in text
                assert not text.endswith("...")  # the template itself fits, nothing truncated


@pytest.mark.django_db
@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    names=st.lists(st.text(min_size=1, max_size=200), min_size=0, max_size=4),
    phone=st.text(alphabet="+0123456789 ", min_size=0, max_size=30),
)
def test_sms_stays_within_three_parts_whatever_the_nearby_services(case, names, phone):
    nearby = [rights.Nearby(name=name, phone=phone) for name in names]
    for audience in RightsAudience.values:
        package = rights.build_package(case, audience, "pt", services=[])
        package = rights.RightsPackage(**{**package.__dict__, "nearby": tuple(nearby)})
        text = rights.sms_text(package)
        assert gsm.segment(text).parts <= 3
        assert case.reference in text


# --- Languages --------------------------------------------------------------------------------------------


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_shape(item) for item in value]
    return type(value).__name__


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []


def test_english_has_every_text_of_the_portuguese_version():
    assert _shape(en.CONTENT) == _shape(pt.CONTENT)
    assert all(s.strip() for s in _strings(en.CONTENT))
    for audience in RightsAudience.values:
        assert set(en.CONTENT["next"][audience]) == set(Status.values)
        assert set(pt.CONTENT["next"][audience]) == set(Status.values)
    assert set(en.CONTENT["sms_status"]) == set(Status.values)
    # Translated, not copied: no long Portuguese text left in the English version.
    pt_texts = {s for s in _strings(pt.CONTENT) if len(s) > 20}
    assert not pt_texts & set(_strings(en.CONTENT))


@pytest.mark.django_db
def test_english_pdf_is_in_english(case):
    text = pdf_text(rights.render_pdf(rights.build_package(case, "caregiver", "en")))
    assert en.CONTENT["title"]["caregiver"] in text
    assert "Law 15/2012" in text
    assert "Direito à privacidade" not in text


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["vmw", "ts", "seh", "ny"])
def test_local_languages_fall_back_to_portuguese(case, language):
    package = rights.build_package(case, "child", language)
    assert package.language == "pt"
    assert package.title == pt.CONTENT["title"]["child"]
    text = pdf_text(rights.render_pdf(package))
    assert "O que aconteceu não é culpa tua." in text


@pytest.mark.django_db
def test_preview_says_when_it_falls_back_to_portuguese(client, operator, case):
    sign_in(client, operator)
    url = reverse("cases:rights_preview", args=[case.reference])
    fallback = client.get(url, {"audience": "child", "language": "vmw"})
    assert fallback.status_code == 200
    assert fallback.context["fell_back"] is True
    html = fallback.content.decode()
    assert pt.CONTENT["intro"]["child"] in html
    assert 'lang="pt"' in html
    assert fallback.context["sms"]["parts"] <= 3
    english = client.get(url, {"audience": "child", "language": "en"})
    assert english.context["fell_back"] is False
    assert en.CONTENT["intro"]["child"] in english.content.decode()


# --- Delivery ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_delivery_is_recorded_on_the_case_and_audited(client, operator, case):
    child = case.persons.get(role="victim")
    sign_in(client, operator)
    response = client.post(
        reverse("cases:rights_delivery", args=[case.reference]),
        {"audience": "child", "language": "pt", "method": "printed", "person": str(child.pk)},
    )
    assert response.status_code == 302
    delivery = RightsDelivery.objects.get(case=case)
    assert (delivery.audience, delivery.method, delivery.language) == ("child", "printed", "pt")
    assert delivery.person == child
    assert delivery.delivered_by == operator
    assert delivery.status_at_delivery == case.status
    assert delivery.delivered_at is not None
    entry = AuditEntry.objects.get(action=RightsAudit.DELIVERY_CREATE)
    assert entry.object_id == str(delivery.pk)
    assert entry.actor_user_id == operator.pk
    assert {"audience", "method", "language", "person"} <= set(entry.fields)
    page = client.get(reverse("cases:detail", args=[case.reference]))
    assert 'id="rights"' in page.content.decode()
    assert "rights" in [e.kind for e in page.context["entries"]]


@pytest.mark.django_db
def test_delivery_to_someone_who_is_not_the_child_or_a_caregiver_is_refused(operator, case, make_case):
    other_child = make_case(victim_name="Outra Criança").persons.get(role="victim")
    with pytest.raises(ValidationError):
        record_rights_delivery(
            operator, case, audience="child", method="printed", language="pt", person=other_child
        )
    with pytest.raises(ValidationError):
        record_rights_delivery(
            operator,
            case,
            audience="caregiver",
            method="printed",
            language="pt",
            person=case.persons.get(role="victim"),
        )
    assert not RightsDelivery.objects.exists()


@pytest.mark.django_db
def test_sms_delivery_goes_through_the_registered_sender_and_is_recorded(operator, case):
    sent: list[str] = []

    def sender(actor: Any, target: Any, text: str) -> bool:
        sent.append(text)
        return True

    previous = rights.sms_sender()
    rights.register_sms_sender(sender)
    try:
        delivery = send_rights_sms(operator, case, audience="caregiver", language="pt")
    finally:
        rights._sms_sender[:] = [previous] if previous else []
    assert len(sent) == 1
    assert gsm.segment(sent[0]).parts <= 3
    assert delivery.method == DeliveryMethod.SMS
    assert AuditEntry.objects.filter(action=RightsAudit.DELIVERY_CREATE, object_id=str(delivery.pk)).exists()


@pytest.mark.django_db
def test_sms_without_a_consented_number_records_nothing(operator, case):
    previous = rights.sms_sender()
    rights.register_sms_sender(lambda actor, target, text: False)
    try:
        with pytest.raises(ValidationError):
            send_rights_sms(operator, case, audience="caregiver", language="pt")
    finally:
        rights._sms_sender[:] = [previous] if previous else []
    assert not RightsDelivery.objects.exists()


# --- Access -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_outsider_gets_404_on_the_rights_package_and_deliveries(client, make_user, case):
    sign_in(client, make_user("investigator", agency="sernic"))
    choice = {"audience": "caregiver", "language": "pt"}
    assert client.get(reverse("cases:rights_pdf", args=[case.reference]), choice).status_code == 404
    assert client.get(reverse("cases:rights_preview", args=[case.reference]), choice).status_code == 404
    posted = client.post(
        reverse("cases:rights_delivery", args=[case.reference]), {**choice, "method": "printed"}
    )
    assert posted.status_code == 404
    assert not RightsDelivery.objects.exists()
    assert not AuditEntry.objects.filter(action=RightsAudit.PACKAGE_EXPORT).exists()


# --- Atomicity of the service and rights actions ----------------------------------------------------------


class InjectedFailure(Exception):
    pass


def _state() -> tuple[Any, ...]:
    from amparo.cases.models import Service, ServiceReferral

    return (
        AuditEntry.objects.count(),
        list(Service.objects.order_by("pk").values_list("pk", "name")),
        list(ServiceReferral.objects.order_by("pk").values_list("pk", "outcome", "outcome_at")),
        RightsDelivery.objects.count(),
    )


def _action_scenarios(operator: Any, admin: Any, case: Any) -> dict[str, Any]:
    from amparo.cases.actions import rights as rights_actions
    from amparo.cases.actions import services as services_actions

    service = create_service(SYSTEM, name="Serviço Atómico", kind="shelter", is_national=True)
    referral = services_actions.refer_to_service(operator, case, service=service, reason="Apoio.")
    rights.register_sms_sender(lambda actor, target, text: True)
    return {
        "create_service": lambda: services_actions.create_service(
            admin, name="Novo", kind="helpline", is_national=True
        ),
        "create_demo_services": lambda: services_actions.create_demo_services(admin),
        "update_service": lambda: services_actions.update_service(admin, service, name="Outro nome"),
        "refer_to_service": lambda: services_actions.refer_to_service(
            operator, case, service=service, reason="Apoio."
        ),
        "record_service_outcome": lambda: services_actions.record_service_outcome(
            operator, referral, outcome="received"
        ),
        "record_rights_delivery": lambda: rights_actions.record_rights_delivery(
            operator, case, audience="child", method="printed", language="pt"
        ),
        "send_rights_sms": lambda: rights_actions.send_rights_sms(
            operator, case, audience="caregiver", language="pt"
        ),
        "open_rights_page": lambda: rights_actions.open_rights_page(
            WEB, case, audience="child", language="pt", receipt=RECEIPT
        ),
    }


WRITE_ACTIONS = [
    "create_demo_services",
    "create_service",
    "update_service",
    "refer_to_service",
    "record_service_outcome",
    "record_rights_delivery",
    "send_rights_sms",
    "open_rights_page",
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", WRITE_ACTIONS)
def test_service_and_rights_actions_leave_nothing_when_the_audit_fails(
    make_user, case, operator, monkeypatch, name
):
    previous = rights.sms_sender()
    run = _action_scenarios(operator, make_user("sysadmin", agency="linha-fala-crianca"), case)[name]
    real_record = audit.record

    def record_then_fail(*args: Any, **kwargs: Any) -> Any:
        real_record(*args, **kwargs)
        raise InjectedFailure

    before = _state()
    monkeypatch.setattr(audit, "record", record_then_fail)
    try:
        with pytest.raises(InjectedFailure):
            run()
    finally:
        monkeypatch.undo()
        rights._sms_sender[:] = [previous] if previous else []
    assert _state() == before


def test_every_service_and_rights_write_is_covered_by_the_atomicity_test():
    from amparo.cases.actions import rights as rights_actions
    from amparo.cases.actions import services as services_actions

    exported = set(services_actions.__all__) | set(rights_actions.__all__)
    reads = {"SERVICE_FIELDS", "rights_pdf"}  # a constant, and an audited read (record_read)
    assert exported - reads == set(WRITE_ACTIONS)
