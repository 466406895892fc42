"""The public web report: steps without JavaScript, the receipt, privacy, budgets and abuse controls."""

from __future__ import annotations

import base64
import contextlib
import io
import re
import time
import zlib
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from amparo.cases.models import Case
from amparo.core.models import Agency
from amparo.intake import forms, receipts
from amparo.intake.models import Attachment, Channel, Report

PAGE_BUDGET_BYTES = 30 * 1024
STATE = re.compile(r'name="state" value="([^"]*)"')
RECEIPT = re.compile(r'id="receipt">([0-9 ]+)<')
ANSWERS = {
    "who": {"who_affected": "me", "immediate_danger": "no"},
    "what": {
        "forms": ["sextortion"],
        "platforms": ["instagram"],
        "link_or_account": "https://www.instagram.com/some.invented.account/",
        "incident_when": "week",
    },
    "where": {"province": "MZ07", "district": "MZ0702"},
    "send": {"narrative": "He says he will post my photos.", "contact": "anonymous", "consent": "on"},
}


def state_of(response: Any) -> str:
    return STATE.search(response.content.decode()).group(1)


def walk(client: Any, answers: dict[str, dict[str, Any]] | None = None, **extra: Any) -> Any:
    """Answer every step as a browser without JavaScript would; returns the last response."""
    answers = {**ANSWERS, **(answers or {})}
    response = client.get("/report/", **extra)
    for step in ("who", "what", "where", "send"):
        data = {"state": state_of(response), "step": step, **answers[step]}
        response = client.post("/report/", data, **extra)
        if step != "send":
            assert response.status_code == 200, response.content.decode()[-2000:]
    return response


def receipt_of(response: Any) -> str:
    return RECEIPT.search(response.content.decode()).group(1)


def png_bytes(colour: str = "navy") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), colour).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.django_db
def test_a_report_sent_without_javascript_opens_a_case_and_shows_a_receipt_in_groups_of_four(client):
    response = walk(client)
    assert response.status_code == 200
    shown = receipt_of(response)
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", shown)
    assert django_settings.AMPARO_CHILD_HELPLINE_NUMBER in response.content.decode()
    assert django_settings.AMPARO_POLICE_NUMBER in response.content.decode()
    report = receipts.lookup(shown)
    case = Case.objects.get(pk=report.case_id)
    assert case.channel == "web"
    assert case.status == "received"
    assert case.owning_agency.code == "linha-fala-crianca"
    assert case.form_codes == ["sextortion"]
    assert case.platform_codes == ["instagram"]
    assert case.district_id == "MZ0702"
    assert case.province_id == "MZ07"
    assert case.narrative == "He says he will post my photos."
    assert report.who_affected == "me"
    assert report.incident_when == "week"
    assert report.link_or_account == "https://www.instagram.com/some.invented.account/"
    assert report.link_index
    assert not report.callback_consented


@pytest.mark.django_db
def test_web_reports_go_to_the_routing_agency_of_the_active_web_channel(client):
    sernic = Agency.objects.get(code="sernic")
    Channel.objects.create(name="Web", kind="web", routing_agency=sernic)
    receipt = receipt_of(walk(client))
    assert receipts.lookup(receipt).case.owning_agency == sernic


@pytest.mark.django_db
def test_immediate_danger_makes_the_case_immediate_and_tells_the_reporter_to_call(client):
    response = walk(client, {"who": {"who_affected": "child_known", "immediate_danger": "yes"}})
    case = receipts.lookup(receipt_of(response)).case
    assert case.priority == "immediate"
    assert case.risk_flags == ["immediate_danger"]
    assert django_settings.AMPARO_POLICE_NUMBER in response.content.decode()


@pytest.mark.django_db
def test_a_call_back_number_is_kept_encrypted_only_when_the_reporter_asks_for_a_call(client):
    send = {**ANSWERS["send"], "contact": "callback", "callback_phone": "84 765 4321"}
    report = receipts.lookup(receipt_of(walk(client, {"send": send})))
    assert report.callback_consented
    assert report.callback_phone == "84 765 4321"
    with connection.cursor() as cursor:
        cursor.execute("SELECT callback_phone FROM intake_report")
        assert all("765" not in row[0] for row in cursor.fetchall())


@pytest.mark.django_db
def test_asking_for_a_call_without_a_number_keeps_every_answer_and_explains(client):
    client.cookies["django_language"] = "en"  # these assertions read the English wording
    send = {**ANSWERS["send"], "contact": "callback", "callback_phone": ""}
    response = walk(client, {"send": send})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Write the number we can call" in html
    assert "He says he will post my photos." in html  # nothing typed is lost
    assert Case.objects.count() == 0


@pytest.mark.django_db
def test_going_back_shows_the_answers_already_given(client):
    response = client.get("/report/")
    response = client.post("/report/", {"state": state_of(response), "step": "who", **ANSWERS["who"]})
    response = client.post("/report/", {"state": state_of(response), "step": "what", "back": "1"})
    html = response.content.decode()
    assert re.search(r'value="me"[^>]*checked', html)
    assert not re.search(r'value="child_known"[^>]*checked', html)


@pytest.mark.django_db
def test_a_district_outside_the_chosen_province_is_refused_with_a_clear_message(client):
    client.cookies["django_language"] = "en"  # these assertions read the English wording
    response = client.get("/report/")
    state = state_of(response)
    for step in ("who", "what"):
        response = client.post("/report/", {"state": state, "step": step, **ANSWERS[step]})
        state = state_of(response)
    response = client.post(
        "/report/", {"state": state, "step": "where", "province": "MZ01", "district": "MZ0702"}
    )
    assert response.status_code == 400
    assert "not in the province" in response.content.decode()


@pytest.mark.django_db
def test_an_altered_or_forged_state_starts_again_and_creates_nothing(client):
    response = client.post("/report/", {"state": "forged:value", "step": "send", **ANSWERS["send"]})
    assert response.status_code == 400
    assert Case.objects.count() == 0
    assert 'name="step" value="who"' in response.content.decode()


def _readable_parts(token: str) -> str:
    """Everything a reader of the page could get out of the state field without a key: each part of
    it as text, base64-decoded, and zlib-inflated where that works (Django's signed format)."""
    found = [token]
    for part in re.split(r"[:.]", token):
        try:
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except ValueError:
            continue
        found.append(raw.decode("latin-1"))
        with contextlib.suppress(zlib.error):
            found.append(zlib.decompress(raw).decode("latin-1"))
    return "\n".join(found)


@pytest.mark.django_db
def test_the_state_field_reveals_no_earlier_answer(client):
    response = client.get("/report/")
    for step in ("who", "what"):
        response = client.post("/report/", {"state": state_of(response), "step": step, **ANSWERS[step]})
    token = state_of(response)
    assert "some.invented.account" not in response.content.decode()
    readable = _readable_parts(token)
    for answer in ("some.invented.account", "sextortion", "instagram", "who_affected"):
        assert answer not in readable


@pytest.mark.django_db
def test_a_tampered_state_starts_the_form_again_with_a_message(client):
    response = client.get("/report/")
    response = client.post("/report/", {"state": state_of(response), "step": "who", **ANSWERS["who"]})
    token = state_of(response)
    flipped = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    response = client.post(
        "/report/", {"state": flipped, "step": "what", **ANSWERS["what"]}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'name="step" value="who"' in page
    assert "The form had expired or was changed, so it started again." in page


@pytest.mark.django_db
def test_a_stale_state_starts_the_form_again_and_creates_nothing(client, monkeypatch):
    response = client.get("/report/")
    for step in ("who", "what", "where"):
        response = client.post("/report/", {"state": state_of(response), "step": step, **ANSWERS[step]})
    state = state_of(response)
    later = time.time() + forms.STATE_MAX_AGE + 1
    monkeypatch.setattr(forms.time, "time", lambda: later)
    response = client.post("/report/", {"state": state, "step": "send", **ANSWERS["send"]})
    assert response.status_code == 400
    assert 'name="step" value="who"' in response.content.decode()
    assert Case.objects.count() == 0


@pytest.mark.django_db
def test_a_form_begun_before_the_secret_key_was_rotated_can_be_finished(client, settings):
    response = client.get("/report/")
    response = client.post("/report/", {"state": state_of(response), "step": "who", **ANSWERS["who"]})
    state = state_of(response)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    response = client.post("/report/", {"state": state, "step": "what", **ANSWERS["what"]})
    assert response.status_code == 200
    assert 'name="step" value="where"' in response.content.decode()


@pytest.mark.django_db
def test_skipping_steps_is_not_possible(client):
    response = client.get("/report/")
    response = client.post("/report/", {"state": state_of(response), "step": "send", **ANSWERS["send"]})
    assert response.status_code == 400
    assert Case.objects.count() == 0


@pytest.mark.django_db
def test_the_honeypot_gets_a_receipt_like_answer_but_stores_nothing(client):
    response = walk(client, {"send": {**ANSWERS["send"], "website": "http://spam.example"}})
    assert response.status_code == 200
    assert receipt_of(response)
    assert Case.objects.count() == 0
    assert Report.objects.count() == 0


@pytest.mark.django_db
def test_a_screenshot_is_stored_encrypted_and_never_shown_back(client):
    picture = png_bytes()
    upload = io.BytesIO(picture)
    upload.name = "chat.png"
    response = walk(client, {"send": {**ANSWERS["send"], "attachment": upload}})
    assert response.status_code == 200
    attachment = Attachment.objects.get()
    assert attachment.content_type == "image/png"
    assert attachment.size == len(picture)
    assert picture not in bytes(attachment.sealed)
    from amparo.intake.actions import open_attachment

    assert open_attachment(attachment) == picture
    assert "chat.png" not in response.content.decode()
    assert "<img" not in response.content.decode()


@pytest.mark.django_db
def test_files_that_are_not_pictures_are_refused_and_nothing_is_created(client):
    client.cookies["django_language"] = "en"  # these assertions read the English wording
    upload = io.BytesIO(b"%PDF-1.4 not a picture")
    upload.name = "photo.png"
    response = walk(client, {"send": {**ANSWERS["send"], "attachment": upload}})
    assert response.status_code == 400
    assert "Only pictures" in response.content.decode()
    assert Case.objects.count() == 0


@pytest.mark.django_db
def test_the_form_warns_not_to_send_sexual_images_of_a_child(client):
    client.cookies["django_language"] = "en"  # these assertions read the English wording
    response = client.get("/report/")
    response = client.post("/report/", {"state": state_of(response), "step": "who", **ANSWERS["who"]})
    assert "can itself be a crime" in response.content.decode()
    assert "A screenshot of a threatening message with no such picture is fine" in response.content.decode()


@pytest.mark.django_db
def test_every_public_page_stays_within_30_kb_and_loads_nothing_from_another_site(client):
    pages = [client.get("/report/"), client.get("/report/follow-up/"), client.get("/")]
    response = pages[0]
    for step in ("who", "what", "where", "send"):
        response = client.post("/report/", {"state": state_of(response), "step": step, **ANSWERS[step]})
        pages.append(response)
    script = client.get("/static/intake/quick-exit.js")
    script_size = len(b"".join(script.streaming_content)) if script.streaming else len(script.content)
    for page in pages:
        html = page.content.decode()
        assert len(page.content) + script_size <= PAGE_BUDGET_BYTES, len(page.content)
        for url in re.findall(r'(?:src|href|action)="([^"]*)"', html):
            assert (
                url == "data:,"
                or url.startswith("tel:")
                or (url.startswith("/") and not url.startswith("//"))
            ), url
        assert "http://" not in html.replace("http://spam", "")
        assert "https://" not in html.replace(ANSWERS["what"]["link_or_account"], "")


@pytest.mark.django_db
def test_public_pages_have_a_quick_exit_and_a_neutral_title(client):
    for path in ("/", "/report/", "/report/follow-up/"):
        html = client.get(path).content.decode()
        assert 'id="quick-exit" href="/report/exit/"' in html
        assert "<title>Amparo</title>" in html


@pytest.mark.django_db
def test_the_quick_exit_leaves_for_the_configured_neutral_site_without_showing_amparo(client, settings):
    settings.AMPARO_QUICK_EXIT_URL = "https://neutral.example/recipes?q=matapa"
    response = client.get("/report/exit/")
    assert response.status_code == 302
    assert response["Location"] == "https://neutral.example/recipes?q=matapa"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    assert response.content == b""


@pytest.mark.django_db
def test_the_report_is_in_portuguese_by_default_and_can_switch_to_english(client):
    html = client.get("/report/").content.decode()
    assert '<html lang="pt">' in html
    client.post("/i18n/setlang/", {"language": "en", "next": "/report/"})
    assert '<html lang="en">' in client.get("/report/").content.decode()


@pytest.mark.django_db
def test_no_ip_address_or_user_agent_is_stored_for_a_public_report(client):
    ip, agent = "203.0.113.77", "InventedBrowser/9.9 (unique-agent-marker)"
    walk(client, REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)
    assert Report.objects.count() == 1
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            columns = [c.name for c in connection.introspection.get_table_description(cursor, table)]
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
            cursor.execute(f"SELECT {quoted} FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                text = " ".join(
                    bytes(v).decode("latin-1") if isinstance(v, bytes | memoryview) else str(v) for v in row
                )
                for marker in ("203.0.113", "unique-agent-marker", "InventedBrowser"):
                    assert marker not in text, table


@pytest.mark.django_db
def test_reports_from_one_client_are_rate_limited(client, monkeypatch):
    monkeypatch.setenv("AMPARO_WEB_REPORTS_PER_CLIENT_HOUR", "2")
    assert walk(client).status_code == 200
    assert walk(client).status_code == 200
    throttled = walk(client)
    assert throttled.status_code == 429
    assert Case.objects.count() == 2
    other_client = walk(client, REMOTE_ADDR="198.51.100.9")
    assert other_client.status_code == 200


@pytest.mark.django_db
def test_behind_the_proxy_each_client_has_its_own_report_limit(client, monkeypatch, settings):
    settings.AMPARO_TRUSTED_PROXIES = 1
    monkeypatch.setenv("AMPARO_WEB_REPORTS_PER_CLIENT_HOUR", "1")
    proxy = {"REMOTE_ADDR": "10.0.0.5"}
    assert walk(client, HTTP_X_FORWARDED_FOR="203.0.113.9", **proxy).status_code == 200
    assert walk(client, HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy).status_code == 200
    # A client that writes its own X-Forwarded-For still counts as itself (the proxy appends its address).
    forged = walk(client, HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.9", **proxy)
    assert forged.status_code == 429
    assert Case.objects.count() == 2


STEP_FIELDS = {
    "who": ["who_affected", "immediate_danger"],
    "what": ["forms", "platforms", "link_or_account", "incident_when"],
    "where": ["province", "district"],
    "send": ["narrative", "contact", "callback_phone", "consent", "website"],
}


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    step=st.sampled_from(["who", "what", "where", "send", "", "nonsense"]),
    values=st.dictionaries(
        st.sampled_from(sorted({f for fs in STEP_FIELDS.values() for f in fs} | {"back", "state"})),
        st.one_of(st.text(max_size=300), st.lists(st.text(max_size=20), max_size=4)),
        max_size=8,
    ),
    valid_state=st.booleans(),
)
def test_any_post_to_the_report_form_gets_a_clear_answer_never_a_server_error(
    client, step, values, valid_state
):
    client.cookies["django_language"] = "en"  # these assertions read the English wording
    data: dict[str, Any] = {"step": step, **values}
    if valid_state:
        data["state"] = state_of(client.get("/report/"))
    before = Case.objects.count()
    response = client.post("/report/", data)
    assert response.status_code in (200, 400, 429)
    if response.status_code == 400:
        assert 'class="errorlist' in response.content.decode() or "started again" in response.content.decode()
    assert Case.objects.count() - before <= 1


@pytest.mark.django_db
def test_a_body_larger_than_a_screenshot_is_refused_before_it_is_read(client):
    upload = io.BytesIO(b"\x89PNG" + b"0" * (3 * 1024 * 1024))
    upload.name = "big.png"
    response = walk(client, {"send": {**ANSWERS["send"], "attachment": upload}})
    assert response.status_code == 413
    assert Case.objects.count() == 0


def test_profile_links_and_bare_account_names_normalise_to_the_same_account():
    from amparo.intake.models import normalise_link

    assert normalise_link("https://www.TikTok.com/@Invented.Name/?lang=pt") == "invented.name"
    assert normalise_link("@invented.name") == "invented.name"
    assert normalise_link("m.facebook.com/invented.name") == "invented.name"
    assert normalise_link("https://example.org/a/b") == "example.org/a/b"
    assert normalise_link("") == ""


@pytest.mark.django_db
def test_sending_the_last_page_again_says_calmly_that_the_report_was_received(client):
    # The receipt was lost in transit (the connection broke after the report was stored) and the
    # reporter sends the same form again: no second report, no error, no receipt shown a second time.
    response = client.get("/report/")
    for step in ("who", "what", "where"):
        response = client.post("/report/", {"state": state_of(response), "step": step, **ANSWERS[step]})
    final = {"state": state_of(response), "step": "send", **ANSWERS["send"]}
    assert client.post("/report/", final).status_code == 200
    again = client.post("/report/", final)
    assert again.status_code == 200
    assert Case.objects.count() == 1
    page = again.content.decode()
    assert 'id="received-again"' in page
    assert 'id="receipt"' not in page
    assert "116" in page
    assert "no-store" in again["Cache-Control"]


@pytest.mark.django_db
def test_the_received_again_page_speaks_portuguese_as_the_form_does(client):
    response = client.get("/report/", HTTP_ACCEPT_LANGUAGE="pt")
    for step in ("who", "what", "where"):
        response = client.post(
            "/report/",
            {"state": state_of(response), "step": step, **ANSWERS[step]},
            HTTP_ACCEPT_LANGUAGE="pt",
        )
    final = {"state": state_of(response), "step": "send", **ANSWERS["send"]}
    client.post("/report/", final, HTTP_ACCEPT_LANGUAGE="pt")
    again = client.post("/report/", final, HTTP_ACCEPT_LANGUAGE="pt").content.decode()
    assert "A sua denúncia foi recebida" in again
    assert "o recibo só é mostrado uma vez" in again
