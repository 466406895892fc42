"""Preservation and disclosure requests to service providers: configurable providers, identifiers (kept
encrypted), date range and legal basis; the letter is a Portuguese PDF whose text can be extracted; the
answer is due a provider-set number of Maputo days after sending, and the hourly reminder job tells the
requester once when it is late, then expires the request."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amparo.cases import letters, preservation
from amparo.cases.actions import justice as actions
from amparo.cases.models import (
    Case,
    PreservationRequest,
    PreservationStatus,
    ServiceProvider,
    ShareableField,
)
from amparo.cases.permissions import JusticeAudit
from amparo.cases.tests.justice_support import (
    CHILD,
    entries_since,
    flat,
    mark,
    new_case,
    pdf_pages,
    share,
)
from amparo.core import audit
from amparo.core.models import AuditEntry, Notification
from amparo.core.schedule import periodic_jobs
from amparo.core.tests.test_web import sign_in

pytestmark = pytest.mark.django_db

PHONE = "+258 84 123 4567"
ACCOUNT = "https://www.tiktok.com/@conta_inventada_99"
BASIS = "Artigo 12.º da Lei n.º 7/2008 (Lei de Promoção e Protecção dos Direitos da Criança)."
SEEDED = {"vodacom", "movitel", "tmcel", "meta", "whatsapp", "google", "tiktok"}


@pytest.fixture(autouse=True)
def _static_root(settings, tmp_path):
    """WhiteNoise warns (an error here) when STATIC_ROOT does not exist yet, as before `collectstatic`."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


@pytest.fixture
def case() -> Case:
    return new_case()


@pytest.fixture
def investigator(make_user):
    return make_user("investigator", agency="sernic")


def _provider(code: str = "vodacom") -> ServiceProvider:
    return ServiceProvider.objects.get(code=code)


def _request(user, case, **overrides) -> PreservationRequest:
    fields = {
        "provider": _provider(),
        "kind": "preservation",
        "identifiers": f"{PHONE}\n\n  {ACCOUNT}  \n{PHONE}\n",
        "date_from": dt.date(2026, 1, 10),
        "date_to": dt.date(2026, 2, 20),
        "legal_basis": BASIS,
    } | overrides
    return actions.create_preservation_request(user, case, **fields)


def _sent(user, case, *, deadline: dt.date) -> PreservationRequest:
    request = actions.send_preservation_request(user, _request(user, case))
    PreservationRequest.objects.filter(pk=request.pk).update(deadline=deadline)
    request.refresh_from_db()
    return request


# ---------------------------------------------------------------------------------------------
# Providers


def test_the_national_operators_and_platforms_are_seeded_and_active():
    codes = set(ServiceProvider.objects.filter(active=True).values_list("code", flat=True))
    assert codes >= SEEDED
    assert _provider("tmcel").kind == "mobile"
    assert _provider("tiktok").kind == "platform"
    assert _provider("vodacom").email == ""  # contact details are for the administrator to confirm


def test_a_sysadmin_configures_providers_in_the_admin_and_it_is_audited(client, make_user):
    admin = make_user("sysadmin", agency="intic")
    sign_in(client, admin)
    assert client.get("/admin/cases/serviceprovider/").status_code == 200
    start = mark()
    response = client.post(
        "/admin/cases/serviceprovider/add/",
        {"code": "emola", "name": "e-Mola", "kind": "other", "response_days": "10", "active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = _provider("emola")
    response = client.post(
        f"/admin/cases/serviceprovider/{created.pk}/change/",
        {"name": "e-Mola", "kind": "other", "response_days": "15", "email": "legal@example.invalid"},
    )
    assert response.status_code == 302
    created.refresh_from_db()
    assert (created.response_days, created.active) == (15, False)
    entries = entries_since(start, prefix="cases:service_provider")
    assert [(e.action, e.object_id) for e in entries] == [
        (JusticeAudit.PROVIDER_CREATE, str(created.pk)),
        (JusticeAudit.PROVIDER_UPDATE, str(created.pk)),
    ]
    assert entries[1].fields == ["active", "email", "response_days"]
    assert client.post(f"/admin/cases/serviceprovider/{created.pk}/delete/").status_code == 403
    assert list(audit.verify()) == []


def test_providers_are_configured_by_system_administrators_only(make_user):
    provider = ServiceProvider(code="outro", name="Outro", kind="other")
    with pytest.raises(PermissionDenied):
        actions.save_service_provider(make_user("investigator", agency="sernic"), provider)
    assert not ServiceProvider.objects.filter(code="outro").exists()


def test_an_inactive_provider_cannot_be_asked(case, investigator):
    ServiceProvider.objects.filter(code="movitel").update(active=False)
    with pytest.raises(ValidationError):
        _request(investigator, case, provider=_provider("movitel"))
    assert not PreservationRequest.objects.exists()


# ---------------------------------------------------------------------------------------------
# Creating, sending, answering


def test_a_request_keeps_its_identifiers_encrypted_and_is_audited(case, investigator):
    start = mark()
    request = _request(investigator, case)
    assert re.fullmatch(r"PR-\d{4}-[0-9A-HJKMNP-TV-Z]{6}", request.number)
    assert request.identifiers == f"{PHONE}\n{ACCOUNT}"  # trimmed, blank lines and repeats dropped
    assert request.status == PreservationStatus.DRAFT
    assert request.deadline is None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT identifiers FROM cases_preservationrequest WHERE number = %s", [request.number]
        )
        row = cursor.fetchone()
    assert row[0].startswith("enc1$")
    assert PHONE not in row[0]
    [entry] = entries_since(start)
    assert entry.action == JusticeAudit.PRESERVATION_CREATE
    assert (entry.object_type, entry.object_id) == ("cases.preservationrequest", str(request.pk))
    assert PHONE not in str(entry.fields)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"identifiers": " \n "}, "at least one identifier"),
        ({"identifiers": "\n".join(f"+25884{i:07d}" for i in range(101))}, "at most 100"),
        ({"date_from": dt.date(2026, 3, 1), "date_to": dt.date(2026, 2, 1)}, "start before it ends"),
        ({"legal_basis": "   "}, "legal basis"),
        ({"kind": "deletion"}, "Unknown kind"),
    ],
)
def test_incomplete_requests_are_refused(case, investigator, overrides, message):
    with translation.override("en"), pytest.raises(ValidationError) as error:
        _request(investigator, case, **overrides)
    assert message in " ".join(error.value.messages)
    assert not PreservationRequest.objects.exists()


@pytest.mark.parametrize("role", ["social_worker", "helpline_operator", "agency_supervisor", "court_officer"])
def test_only_investigators_and_prosecutors_ask_providers(make_user, case, role):
    with pytest.raises(PermissionDenied):
        _request(make_user(role, agency="sernic"), case)
    assert not PreservationRequest.objects.exists()


def test_a_prosecutor_of_an_agency_given_the_justice_record_may_ask(make_user, case):
    prosecutor = make_user("prosecutor", agency="pgr")
    share(case, "pgr", [ShareableField.NARRATIVE], prosecutor)
    with pytest.raises(PermissionDenied):
        _request(prosecutor, case)
    other = new_case()
    share(other, "pgr", [ShareableField.JUSTICE], prosecutor)
    assert _request(prosecutor, other).created_by == prosecutor


def test_the_answer_is_due_the_providers_days_after_the_maputo_day_of_sending(case, investigator):
    # 22:30 UTC on 31 March is already 1 April in Maputo (UTC+2, no daylight saving).
    late_evening = dt.datetime(2026, 3, 31, 22, 30, tzinfo=dt.UTC)
    assert preservation.deadline_for(late_evening, 30) == dt.date(2026, 5, 1)
    assert preservation.deadline_for(late_evening - dt.timedelta(hours=1), 30) == dt.date(2026, 4, 30)

    ServiceProvider.objects.filter(code="tiktok").update(response_days=10)
    start = mark()
    request = actions.send_preservation_request(
        investigator, _request(investigator, case, provider=_provider("tiktok"))
    )
    assert request.status == PreservationStatus.SENT
    assert request.deadline == timezone.localdate(request.sent_at) + dt.timedelta(days=10)
    [entry] = entries_since(start, prefix="cases:preservation:send")
    assert entry.fields == ["deadline", "sent_at", "status"]
    with pytest.raises(ValidationError):
        actions.send_preservation_request(investigator, request)  # sent once only


def test_another_agency_cannot_send_or_answer_a_request_it_did_not_make(make_user, case, investigator):
    request = _request(investigator, case)
    prosecutor = make_user("prosecutor", agency="pgr")
    share(case, "pgr", [ShareableField.JUSTICE], prosecutor)
    with pytest.raises(PermissionDenied):
        actions.send_preservation_request(prosecutor, request)
    actions.send_preservation_request(investigator, request)
    with pytest.raises(PermissionDenied):
        actions.answer_preservation_request(prosecutor, request, status="fulfilled")
    request.refresh_from_db()
    assert request.status == PreservationStatus.SENT


def test_an_answer_is_recorded_and_the_requester_is_told(make_user, case, investigator):
    request = actions.send_preservation_request(investigator, _request(investigator, case))
    colleague = make_user("investigator", agency="sernic")
    start = mark()
    actions.answer_preservation_request(
        colleague, request, status="acknowledged", note="Recebido por e-mail."
    )
    actions.answer_preservation_request(colleague, request, status="fulfilled", note="Dados entregues em CD.")
    request.refresh_from_db()
    assert request.status == PreservationStatus.FULFILLED
    assert "Recebido por e-mail." in request.answer_note
    assert "Dados entregues em CD." in request.answer_note
    assert [e.action for e in entries_since(start)] == [JusticeAudit.PRESERVATION_ANSWER] * 2
    notices = Notification.objects.filter(recipient=investigator, kind=preservation.PRESERVATION_ANSWERED)
    assert notices.count() == 2
    assert all(n.reference == case.reference and "Dados" not in n.url for n in notices)
    with pytest.raises(ValidationError):
        actions.answer_preservation_request(colleague, request, status="acknowledged")


def test_a_provider_answering_through_its_channel_must_be_the_addressee(case, investigator):
    request = actions.send_preservation_request(investigator, _request(investigator, case))
    google = audit.Actor.system("industry:google")
    with pytest.raises(PermissionDenied):
        actions.answer_preservation_request(google, request, status="refused", provider=_provider("google"))
    vodacom = audit.Actor.system("industry:vodacom")
    actions.answer_preservation_request(vodacom, request, status="partial", provider=_provider("vodacom"))
    request.refresh_from_db()
    assert request.status == PreservationStatus.PARTIAL
    entry = AuditEntry.objects.filter(action=JusticeAudit.PRESERVATION_ANSWER).get()
    assert (entry.actor_channel, entry.actor_user_id) == ("industry:vodacom", None)


# ---------------------------------------------------------------------------------------------
# The letter


def test_the_letter_is_a_portuguese_pdf_naming_identifiers_period_basis_and_deadline(case, investigator):
    request = actions.send_preservation_request(investigator, _request(investigator, case))
    with translation.override("en"):  # the letter is Portuguese whatever the reader's language
        content = letters.render_preservation_letter(request, today=dt.date(2026, 3, 3))
    text = flat("\n".join(pdf_pages(content)))
    for expected in (
        "República de Moçambique",
        "Serviço Nacional de Investigação Criminal",
        f"Ofício n.º {request.number}",
        "Data: 3 de março de 2026",
        "Assunto: Pedido de preservação urgente de dados informáticos",
        "Exmos. Senhores,",
        "solicita a V. Exas. a preservação imediata e integral",
        "de 10/01/2026 a 20/02/2026",
        "Base legal:",
        "Lei de Promoção e Protecção dos Direitos da Criança",
        PHONE,
        ACCOUNT,
        f"Prazo de resposta: até {letters.data_por_extenso(request.deadline)}.",
        "Com os melhores cumprimentos,",
        "CONFIDENCIAL",
        "Endereço para pedidos legais: a confirmar antes do envio.",
        "Investigador(a)",
    ):
        assert expected in text, expected
    assert CHILD not in text  # the child is not named in a letter to a company
    assert "Dear" not in text
    assert "Subject" not in text


def test_a_disclosure_letter_asks_for_disclosure(case, investigator):
    request = _request(investigator, case, kind="disclosure", provider=_provider("meta"))
    text = flat("\n".join(pdf_pages(letters.render_preservation_letter(request))))
    assert "Pedido de divulgação de dados informáticos" in text
    assert "Meta Platforms" in text
    assert "30 dias a contar da data de envio" in text  # not yet sent: no date, the provider's days


def test_downloading_the_letter_is_audited_and_needs_the_identity_right(
    client, make_user, case, investigator
):
    request = _request(investigator, case)
    sign_in(client, investigator)
    url = f"/cases/{case.reference}/preservation/{request.pk}/letter.pdf"
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]
    assert f'filename="{request.number}.pdf"' in response["Content-Disposition"]
    assert "Pedido de preservação" in flat(pdf_pages(response.content)[0])
    entry = AuditEntry.objects.filter(action=JusticeAudit.PRESERVATION_LETTER).get()
    assert (entry.actor_user_id, entry.object_id) == (investigator.pk, str(request.pk))
    assert entry.fields == ["identifiers", "legal_basis"]

    client.logout()
    sign_in(client, make_user("agency_supervisor", agency="sernic"))
    assert client.get(url).status_code == 403
    client.logout()
    sign_in(client, make_user("investigator", agency="prm"))
    assert client.get(url).status_code == 404
    assert AuditEntry.objects.filter(action=JusticeAudit.PRESERVATION_LETTER).count() == 1


# ---------------------------------------------------------------------------------------------
# The reminder job


def test_the_reminder_job_is_registered_to_run_hourly():
    [job] = [j for j in periodic_jobs() if j.name == "cases.preservation_reminders"]
    assert job.every == dt.timedelta(hours=1)
    assert job.job is preservation.preservation_reminders


def test_a_late_answer_is_reminded_once_however_often_the_job_runs(case, investigator):
    now = timezone.now()
    today = timezone.localdate(now)
    late = _sent(investigator, case, deadline=today - dt.timedelta(days=1))
    on_time = _sent(investigator, case, deadline=today + dt.timedelta(days=30))
    start = mark()
    assert preservation.preservation_reminders(now) == 1
    assert preservation.preservation_reminders(now) == 0
    for hours in (1, 2, 24, 48, 6 * 24):
        assert preservation.preservation_reminders(now + dt.timedelta(hours=hours)) == 0
    reminders = Notification.objects.filter(kind=preservation.PRESERVATION_OVERDUE)
    assert [(n.recipient_id, n.reference) for n in reminders] == [(investigator.pk, case.reference)]
    entries = entries_since(start)
    assert [(e.action, e.object_id, e.actor_channel) for e in entries] == [
        (JusticeAudit.PRESERVATION_REMIND, str(late.pk), "preservation-reminders")
    ]
    late.refresh_from_db()
    on_time.refresh_from_db()
    assert late.last_reminder_at == now
    assert on_time.last_reminder_at is None
    assert late.status == on_time.status == PreservationStatus.SENT

    # A week on, still unanswered: one more reminder.
    assert preservation.preservation_reminders(now + dt.timedelta(days=7)) == 1
    assert (
        Notification.objects.filter(kind=preservation.PRESERVATION_OVERDUE, recipient=investigator).count()
        == 2
    )


def test_an_answered_request_gets_no_reminder(case, investigator):
    request = _sent(investigator, case, deadline=timezone.localdate() - dt.timedelta(days=3))
    actions.answer_preservation_request(investigator, request, status="fulfilled")
    assert preservation.preservation_reminders() == 0
    assert not Notification.objects.filter(kind=preservation.PRESERVATION_OVERDUE).exists()


def test_past_the_grace_period_the_request_expires_and_a_late_answer_is_still_recorded(
    case, investigator, monkeypatch
):
    monkeypatch.setenv("AMPARO_PRESERVATION_GRACE_DAYS", "14")
    now = timezone.now()
    request = _sent(investigator, case, deadline=timezone.localdate(now) - dt.timedelta(days=15))
    assert preservation.preservation_reminders(now) == 1
    request.refresh_from_db()
    assert request.status == PreservationStatus.EXPIRED
    assert (
        Notification.objects.filter(recipient=investigator, kind=preservation.PRESERVATION_EXPIRED).count()
        == 1
    )
    assert preservation.preservation_reminders(now + dt.timedelta(days=1)) == 0
    assert (
        AuditEntry.objects.filter(action=JusticeAudit.PRESERVATION_EXPIRE, object_id=str(request.pk)).count()
        == 1
    )
    actions.answer_preservation_request(investigator, request, status="fulfilled")
    request.refresh_from_db()
    assert request.status == PreservationStatus.FULFILLED


def test_staff_cannot_pose_as_the_reminder_job(case, investigator):
    request = _sent(investigator, case, deadline=timezone.localdate() - dt.timedelta(days=2))
    with pytest.raises(PermissionDenied):
        actions.remind_preservation_request(investigator, request)
    with pytest.raises(PermissionDenied):
        actions.expire_preservation_request(investigator, request)


# ---------------------------------------------------------------------------------------------
# Pages


def test_an_investigator_prepares_sends_and_answers_from_the_case_page(client, case, investigator):
    sign_in(client, investigator)
    body = client.get(f"/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="preservation"' in body
    assert "Vodacom Moçambique" in body
    response = client.post(
        f"/cases/{case.reference}/preservation/",
        {
            "provider": _provider("movitel").pk,
            "kind": "preservation",
            "identifiers": PHONE,
            "date_from": "2026-01-01",
            "date_to": "2026-01-31",
            "legal_basis": BASIS,
        },
    )
    assert response.status_code == 302
    request = PreservationRequest.objects.get()
    assert (request.provider.code, request.created_by) == ("movitel", investigator)
    body = client.get(f"/cases/{case.reference}/").content.decode()
    assert PHONE in body  # the identity reader sees the identifiers ...
    assert AuditEntry.objects.filter(
        action=JusticeAudit.PRESERVATION_VIEW_IDENTIFIERS, actor_user_id=investigator.pk
    ).exists()  # ... and that is audited
    assert client.post(f"/cases/{case.reference}/preservation/{request.pk}/send/").status_code == 302
    request.refresh_from_db()
    assert request.status == PreservationStatus.SENT
    response = client.post(
        f"/cases/{case.reference}/preservation/{request.pk}/answer/",
        {"status": "refused", "note": "Sem dados."},
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == PreservationStatus.REFUSED


def test_a_mistaken_request_form_comes_back_with_the_reason(client, case, investigator):
    sign_in(client, investigator)
    response = client.post(
        f"/cases/{case.reference}/preservation/",
        {
            "provider": _provider().pk,
            "kind": "preservation",
            "identifiers": PHONE,
            "date_from": "2026-02-01",
            "date_to": "2026-01-01",
            "legal_basis": BASIS,
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "The period must start before it ends." in response.content.decode()
    assert not PreservationRequest.objects.exists()


def test_preservation_pages_keep_outsiders_out(client, make_user, case, investigator):
    request = _request(investigator, case)
    sign_in(client, make_user("investigator", agency="prm"))
    base = f"/cases/{case.reference}/preservation/"
    assert client.post(base, {"identifiers": PHONE}).status_code == 404
    assert client.post(f"{base}{request.pk}/send/").status_code == 404
    assert client.post(f"{base}{request.pk}/answer/", {"status": "fulfilled"}).status_code == 404
    request.refresh_from_db()
    assert request.status == PreservationStatus.DRAFT


def test_a_role_without_identity_sees_no_identifiers_and_no_form(client, make_user, case, investigator):
    _request(investigator, case)
    sign_in(client, make_user("agency_supervisor", agency="sernic"))
    body = client.get(f"/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="preservation"' in body
    assert PHONE not in body
    assert ACCOUNT not in body
    assert f'action="/cases/{case.reference}/preservation/"' not in body
    assert client.post(f"/cases/{case.reference}/preservation/", {"identifiers": PHONE}).status_code == 403


def test_the_agency_list_shows_overdue_requests_first_and_only_its_own(client, make_user, case, investigator):
    today = timezone.localdate()
    draft = _request(investigator, case)
    due_later = _sent(investigator, case, deadline=today + dt.timedelta(days=9))
    overdue = _sent(investigator, case, deadline=today - dt.timedelta(days=2))
    other_case = new_case(agency="prm")
    prm = make_user("investigator", agency="prm")
    theirs = _request(prm, other_case)

    sign_in(client, investigator)
    response = client.get("/cases/preservation/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    numbers = [row["request"].number for row in response.context["rows"]]
    assert numbers == [overdue.number, due_later.number, draft.number]
    body = response.content.decode()
    assert theirs.number not in body
    assert PHONE not in body  # no identifiers on the list
    assert "(overdue)" in body
    assert AuditEntry.objects.filter(
        action=JusticeAudit.PRESERVATION_LIST, actor_user_id=investigator.pk
    ).exists()

    client.logout()
    sign_in(client, make_user("helpline_operator", agency="sernic"))
    assert client.get("/cases/preservation/").status_code == 403


def test_the_justice_panels_forms_have_ids_of_their_own(client, case, investigator):
    """Two panels' forms on one page must not share ids (a label would point at the other form's field)."""
    actions.send_preservation_request(investigator, _request(investigator, case))
    actions.send_preservation_request(investigator, _request(investigator, case))
    sign_in(client, investigator)
    body = client.get(f"/cases/{case.reference}/").content.decode()
    ours = [
        found
        for found in re.findall(r'\bid="([^"]+)"', body)
        if found.split("-")[0] in {"justice", "interview", "preservation", "answer"}
    ]
    assert "justice-occurred_at" in ours
    assert "interview-occurred_at" in ours
    assert "preservation-identifiers" in ours
    assert len([i for i in ours if i.startswith("answer-") and i.endswith("-status")]) == 2
    assert len(ours) == len(set(ours))
    assert 'id="id_occurred_at"' not in body


# ---------------------------------------------------------------------------------------------
# Properties: the identifier list and the letter


@given(st.lists(st.text(max_size=30), max_size=30))
def test_identifier_lines_are_trimmed_unique_non_blank_and_in_order(lines):
    result = actions._identifier_lines("\n".join(lines))
    assert all(line and line == line.strip() for line in result)
    assert len(result) == len(set(result))
    wanted = [piece.strip() for line in lines for piece in line.splitlines() if piece.strip()]
    assert result == list(dict.fromkeys(wanted))
    assert actions._identifier_lines(result) == result  # a list is taken as it is (idempotent)


IDENTIFIER = (
    st.text(
        alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFXYZ0123456789+@._-:/?=áçãõéêíóú"),
        min_size=1,
        max_size=60,
    )
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(identifiers=st.lists(IDENTIFIER, min_size=1, max_size=4, unique=True))
def test_every_identifier_is_printed_exactly_in_the_letter(case, investigator, identifiers):
    request = PreservationRequest(
        case=case,
        provider=_provider("google"),
        kind="preservation",
        number="PR-2026-TESTE1",
        identifiers="\n".join(identifiers),
        date_from=dt.date(2026, 1, 1),
        date_to=dt.date(2026, 1, 2),
        legal_basis=BASIS,
        created_by=investigator,
    )
    text = "\n".join(pdf_pages(letters.render_preservation_letter(request)))
    for identifier in identifiers:
        assert identifier in text


def test_without_the_unicode_fonts_the_letter_is_still_portuguese_and_identifiers_stay_exact(
    case, investigator, monkeypatch, tmp_path
):
    monkeypatch.setenv("AMPARO_PDF_FONT_DIR", str(tmp_path))  # no DejaVu there: latin-1 core fonts
    request = _request(investigator, case, identifiers="conta_ção\nusuário_€uro")
    text = flat("\n".join(pdf_pages(letters.render_preservation_letter(request))))
    assert "Pedido de preservação urgente de dados informáticos" in text
    assert "conta_ção" in text  # latin-1: printed as it is
    assert "usuário_%E2%82%ACuro" in text  # outside latin-1: %-escaped, never replaced by "?"
