"""Browser test (Playwright driving Debian's chromium, without JavaScript): one case from a helpline call to
a verdict. The helpline records the call, triages it and refers it to SERNIC with the family's consent, and
gives the rights package; SERNIC accepts and investigates; the helpline refers it to the PGR, whose
prosecutor charges, registers the court case, records the verdict and closes the case."""

from __future__ import annotations

import datetime as dt
import io
import re

from django.utils import timezone
from pypdf import PdfReader

from amparo.cases.models import Case, Referral, RightsDelivery
from amparo.core import audit

PASSWORD = "correct horse battery staple"  # noqa: S105  (the test users' password, conftest.make_user)
REFERENCE = re.compile(r"AMP-[0-9A-Z]{4}-[0-9A-Z]{4}")
OUTSIDE: list[str] = []  # requests that left the server (there must be none)


def _sign_in(browser, live_server, username: str):  # noqa: ANN001, ANN202
    context = browser.new_context(java_script_enabled=False, locale="pt-MZ")
    page = context.new_page()
    page.on("request", lambda r: None if r.url.startswith(live_server.url) else OUTSIDE.append(r.url))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form:has(input[name=username]) [type=submit]").click()
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/staff/", page.inner_text("main")
    return context, page


def _transition(page, to_status: str, reason: str, outcome: str = "") -> None:  # noqa: ANN001
    form = page.locator("form:has(select[name=to_status])")
    form.locator("select[name=to_status]").select_option(to_status)
    if outcome:
        form.locator("select[name=outcome]").select_option(outcome)
    form.locator("textarea[name=reason]").fill(reason)
    form.locator("[type=submit]").click()
    page.wait_for_load_state()


def _refer(page, reference: str, agency_pk: str, sections: list[str]) -> None:  # noqa: ANN001
    form = page.locator(f"form[action='/cases/{reference}/refer/']")
    form.locator("select[name=to_agency]").select_option(agency_pk)
    form.locator("textarea[name=reason]").fill("Encaminhamento sintético para o teste do navegador.")
    for section in sections:
        form.locator(f"input[name=shared_fields][value={section}]").check()
    form.locator("select[name=child_consent]").select_option("given")
    form.locator("select[name=caregiver_consent]").select_option("given")
    form.locator("[type=submit]").click()
    page.wait_for_load_state()


def _accept_referral(page, live_server) -> None:  # noqa: ANN001
    page.goto(f"{live_server.url}/cases/referrals/")
    page.locator("button[name=decision][value=accept]").first.click()
    page.wait_for_load_state()


def _justice_event(page, kind: str, days_ago: int, **fields: str) -> None:  # noqa: ANN001
    form = page.locator("form[action$='/justice/events/']")
    form.locator("select[name=kind]").select_option(kind)
    when = timezone.localtime(timezone.now() - dt.timedelta(days=days_ago))
    form.locator("input[name=occurred_at]").fill(when.strftime("%Y-%m-%dT%H:%M"))
    for name, value in fields.items():
        if name == "verdict":
            form.locator("select[name=verdict]").select_option(value)
        else:
            form.locator(f"input[name={name}]").fill(value)
    form.locator("[type=submit]").click()
    page.wait_for_load_state()


def test_one_case_from_a_helpline_call_to_a_closed_court_case(
    live_db, browser, live_server, make_user, settings
):
    OUTSIDE.clear()
    settings.DEMO = True  # demo users may skip the second factor only in demo mode
    operator = make_user("helpline_operator", agency="linha-fala-crianca", username="lina.linha")
    investigator = make_user("investigator", agency="sernic", username="ivo.sernic")
    prosecutor = make_user("prosecutor", agency="pgr", username="paula.pgr")
    for user in (operator, investigator, prosecutor):
        type(user).objects.filter(pk=user.pk).update(is_demo=True)

    # 1. The helpline takes the call.
    helpline, page = _sign_in(browser, live_server, "lina.linha")
    page.goto(f"{live_server.url}/intake/console/")
    page.check("input[name=immediate_danger][value=no]")
    page.check("input[name=caller_type][value=caregiver]")
    page.check("input[name=forms][value=sextortion]")
    page.check("input[name=platforms][value=whatsapp]")
    page.select_option("select[name=province]", "MZ06")
    page.select_option("select[name=district]", "MZ0601")
    page.fill(
        "textarea[name=narrative]", "Chamada inventada: alguém ameaça publicar fotografias de uma menina."
    )
    page.select_option("select[name=action_taken]", "referral_suggested")
    page.locator("form:has(input[name=immediate_danger]) [type=submit]").click()
    page.wait_for_load_state()
    reference = REFERENCE.search(page.inner_text("main")).group(0)
    case = Case.objects.get(reference=reference)
    assert case.channel == "helpline"

    # 2. Triage, referral to the police (SERNIC) with consent, and the rights package.
    page.goto(f"{live_server.url}/cases/{reference}/")
    _transition(page, "triaged", "Classificado como sextorsão.")
    sernic = str(type(operator.agency).objects.get(code="sernic").pk)
    _refer(page, reference, sernic, ["narrative", "victim_identity", "justice", "interviews"])
    _transition(page, "referred", "Encaminhado ao SERNIC.")
    pdf = page.request.get(
        f"{live_server.url}/cases/{reference}/rights/package.pdf?audience=child&language=pt"
    )
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    text = " ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(pdf.body())).pages)
    assert "116" in text
    assert reference in " ".join(text.split())
    delivery = page.locator("form[action$='/rights/deliveries/']")
    delivery.locator("select[name=audience]").select_option("caregiver")
    delivery.locator("select[name=method]").select_option("printed")
    delivery.locator("select[name=language]").select_option("pt")
    delivery.locator("[type=submit]").click()
    page.wait_for_load_state()
    assert RightsDelivery.objects.filter(case=case, audience="caregiver", delivered_by=operator).exists()

    # 3. SERNIC accepts and investigates.
    police, page = _sign_in(browser, live_server, "ivo.sernic")
    assert page.goto(f"{live_server.url}/cases/{reference}/").status == 404  # not before accepting
    _accept_referral(page, live_server)
    assert Referral.objects.get(case=case, to_agency__code="sernic").status == "accepted"
    page.goto(f"{live_server.url}/cases/{reference}/")
    _transition(page, "under_investigation", "Inquérito aberto.")
    _justice_event(page, "investigation_opened", 6)
    _justice_event(page, "suspect_identified", 5)

    # 4. The helpline refers the case to the prosecutor; the PGR accepts.
    page_helpline = helpline.pages[0]
    page_helpline.goto(f"{live_server.url}/cases/{reference}/")
    pgr = str(type(operator.agency).objects.get(code="pgr").pk)
    _refer(page_helpline, reference, pgr, ["narrative", "justice"])
    prosecution, page = _sign_in(browser, live_server, "paula.pgr")
    _accept_referral(page, live_server)
    police.pages[0].goto(f"{live_server.url}/cases/{reference}/")
    _transition(police.pages[0], "with_prosecutor", "Remetido ao Ministério Público.")

    # 5. The prosecutor takes it to court, to a verdict, and closes it.
    page.goto(f"{live_server.url}/cases/{reference}/")
    _justice_event(page, "charges_filed", 4)
    _justice_event(page, "court_case_registered", 3, court_case_number="Proc. 12/2026-TMCM")
    _transition(page, "in_court", "Acusação recebida pelo tribunal.")
    _justice_event(page, "hearing", 2, court_name="Tribunal de Menores da Cidade de Maputo")
    _justice_event(page, "verdict", 1, verdict="convicted", sentence="6 anos de prisão")
    _transition(page, "closed", "Sentença proferida.", outcome="convicted")

    case.refresh_from_db()
    assert (case.status, case.outcome) == ("closed", "convicted")
    assert list(case.justice_events.values_list("kind", flat=True)) == [
        "investigation_opened",
        "suspect_identified",
        "charges_filed",
        "court_case_registered",
        "hearing",
        "verdict",
    ]
    assert list(case.transitions.values_list("to_status", flat=True)) == [
        "triaged",
        "referred",
        "under_investigation",
        "with_prosecutor",
        "in_court",
        "closed",
    ]
    body = page.content()
    assert "Proc. 12/2026-TMCM" in body
    assert "6 anos de prisão" in body
    for context in (helpline, police, prosecution):
        context.close()
    assert OUTSIDE == []
    assert list(audit.verify()) == []
