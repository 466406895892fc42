"""The industry API (/api/industry/v1/): reports open cases and return a reference (once per submission
id); keys are hashed, scoped, rate-limited; an organisation sees only its own submissions, requests and
notices; takedown answers record the time to removal; malformed bodies are refused with a clear error
and leave nothing behind. Every organisation, person and address here is invented."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amparo.cases.models import Case, Channel
from amparo.core.models import AuditEntry
from amparo.evidence import takedown
from amparo.evidence.models import EvidenceItem, TakedownNotice
from amparo.evidence.permissions import TakedownAudit
from amparo.intake.industry import actions, keys
from amparo.intake.industry.permissions import IndustryAudit
from amparo.intake.models import IndustryApiKey, IndustryOrganisation, IndustrySubmission
from amparo.intake.tests.industry_support import (
    SYSTEM,
    Industry,
    back_date,
    key_for,
    organisation,
    report,
    sent_preservation_request,
)

HYPOTHESIS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(autouse=True)
def _generous_rate(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("AMPARO_INDUSTRY_RATE", "100000")


@pytest.fixture
def evidence_dir(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "vault"
    monkeypatch.setenv("AMPARO_EVIDENCE_STORAGE", "local")
    monkeypatch.setenv("AMPARO_EVIDENCE_DIR", str(root))
    return root


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def acme(db):  # noqa: ANN001, ANN201
    return organisation("acme")


@pytest.fixture
def other(db):  # noqa: ANN001, ANN201
    return organisation("other")


@pytest.fixture
def investigator(make_user):  # noqa: ANN001, ANN201
    return make_user("investigator", agency="sernic", scope_level="national")


# --------------------------------------------------------------------------- reports


@pytest.mark.django_db
def test_a_report_opens_an_industry_case_and_returns_its_reference(acme):
    response = Industry(key_for(acme)).post("/reports", report())
    assert response.status_code == 201, response.content
    body = response.json()
    case = Case.objects.get(reference=body["reference"])
    assert body["status"] == "received"
    assert case.channel == Channel.INDUSTRY
    assert case.owning_agency.code == "sernic"
    assert case.priority == "high"  # the sextortion annotation
    assert {"csam_possession", "csam_distribution", "sextortion"} <= set(
        case.forms.values_list("form", flat=True)
    )
    assert case.province_id == "MZ07"
    assert case.persons.get(role="victim").age == 13
    assert case.persons.get(role="offender").name == "fake_offender_9"
    assert "198.51.100.7" in case.notes.get().text
    entry = AuditEntry.objects.get(action=IndustryAudit.REPORT_SUBMIT)
    assert entry.actor_channel == "industry:acme"


@pytest.mark.django_db
def test_sending_the_same_submission_id_again_returns_the_first_reference_and_opens_nothing(acme):
    api = Industry(key_for(acme))
    first = api.post("/reports", report("dup-1"))
    again = api.post("/reports", report("dup-1", description="Changed text."))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["reference"] == again.json()["reference"]
    assert Case.objects.count() == 1


@pytest.mark.django_db
def test_two_organisations_may_use_the_same_submission_id_for_different_reports(acme, other):
    one = Industry(key_for(acme)).post("/reports", report("same"))
    two = Industry(key_for(other)).post("/reports", report("same"))
    assert one.json()["reference"] != two.json()["reference"]


@pytest.mark.django_db
def test_an_escalated_report_is_immediate_priority(acme):
    body = Industry(key_for(acme)).post("/reports", report(escalate=True, annotations=[])).json()
    assert Case.objects.get(reference=body["reference"]).priority == "immediate"


# --------------------------------------------------------------------------- keys


@pytest.mark.django_db
def test_keys_are_stored_only_as_their_hash(acme):
    key = key_for(acme)
    row = IndustryApiKey.objects.get()
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in json.dumps([row.prefix, row.key_hash, row.name, row.scopes])


@pytest.mark.django_db
def test_requests_without_a_valid_key_are_refused_with_401(acme, client):
    good = key_for(acme)
    revoked = key_for(acme)
    actions.revoke_api_key(SYSTEM, IndustryApiKey.objects.get(prefix=keys.key_prefix(revoked)))
    expired = key_for(acme)
    IndustryApiKey.objects.filter(prefix=keys.key_prefix(expired)).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    for key in (None, "nonsense", good[:-1] + ("A" if good[-1] != "A" else "B"), revoked, expired):
        response = Industry(key).get("/me")
        assert response.status_code == 401, key
        assert "API key" in response.json()["detail"]
    assert Industry(good).get("/me").json()["code"] == "acme"
    actions.set_organisation_active(SYSTEM, acme, False)
    assert Industry(good).get("/me").status_code == 401


@pytest.mark.django_db
def test_a_signed_in_staff_session_is_not_accepted(client, make_user):
    from amparo.core.tests.test_web import sign_in

    sign_in(client, make_user("investigator", agency="sernic"))
    assert client.get("/api/industry/v1/me").status_code == 401


@pytest.mark.django_db
def test_a_key_without_the_scope_gets_403(acme):
    api = Industry(key_for(acme, scopes=("blocklist:read",)))
    for response in (api.post("/reports", report()), api.get("/reports"), api.get("/takedown-notices")):
        assert response.status_code == 403
        assert "scope" in response.json()["detail"]
    assert not Case.objects.exists()
    assert api.get("/blocklist").status_code == 200


@pytest.mark.django_db
def test_each_key_is_rate_limited_with_retry_after(acme, monkeypatch):
    monkeypatch.setenv("AMPARO_INDUSTRY_RATE", "2")
    api = Industry(key_for(acme))
    assert [api.get("/me").status_code for _ in range(2)] == [200, 200]
    limited = api.get("/me")
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) >= 1
    assert Industry(key_for(acme)).get("/me").status_code == 200  # another key has its own bucket


@pytest.mark.django_db
def test_the_industry_command_creates_organisations_and_keys_that_work(db):
    import io

    from django.core.management import call_command

    call_command(
        "industry",
        "organisation",
        "create",
        "netco",
        "--name",
        "Netco",
        "--kind",
        "isp",
        stdout=io.StringIO(),
    )
    out = io.StringIO()
    call_command(
        "industry", "key", "create", "netco", "--scope", "blocklist:read", stdout=out, stderr=io.StringIO()
    )
    key = out.getvalue().strip()
    assert Industry(key).get("/me").json()["scopes"] == ["blocklist:read"]
    call_command("industry", "key", "revoke", key[:16], stdout=io.StringIO())
    assert Industry(key).get("/me").status_code == 401


# --------------------------------------------------------------------------- isolation


@pytest.mark.django_db
def test_one_organisation_cannot_read_or_answer_another_organisations_data(
    acme, other, make_case, investigator
):
    mine = Industry(key_for(acme))
    theirs = Industry(key_for(other))
    mine.post("/reports", report("acme-1", files=[{"sha256": "ab" * 32}]))
    case = make_case(agency="sernic")
    request = sent_preservation_request(case, acme)
    notice = takedown.create_notice(investigator, case, url="https://acme.example.test/x", organisation=acme)

    assert theirs.get("/reports").json() == {"items": [], "count": 0}
    assert AuditEntry.objects.filter(
        action=IndustryAudit.SUBMISSIONS_READ, actor_channel="industry:other"
    ).exists()
    assert theirs.get("/reports/acme-1").status_code == 404
    assert theirs.upload("/reports/acme-1/files", "a.bin", b"x").status_code == 404
    assert theirs.get("/preservation-requests").json() == []
    assert (
        theirs.post(f"/preservation-requests/{request.pk}/answer", {"status": "fulfilled"}).status_code == 404
    )
    assert theirs.get("/takedown-notices").json() == []
    assert theirs.post(f"/takedown-notices/{notice.pk}/answer", {"status": "removed"}).status_code == 404
    notice.refresh_from_db()
    request.refresh_from_db()
    assert (notice.status, request.status) == ("sent", "sent")
    # The owner sees each of them.
    assert mine.get("/reports").json()["count"] == 1
    assert [r["number"] for r in mine.get("/preservation-requests").json()] == [request.number]
    assert [n["id"] for n in mine.get("/takedown-notices").json()] == [str(notice.pk)]


@pytest.mark.django_db
def test_answering_another_organisations_notice_is_refused_by_the_action_too(
    acme, other, make_case, investigator
):
    from django.core.exceptions import PermissionDenied

    notice = takedown.create_notice(
        investigator, make_case(agency="sernic"), url="https://a.test/1", organisation=acme
    )
    with pytest.raises(PermissionDenied):
        actions.answer_takedown(other, notice, status="removed")
    assert TakedownNotice.objects.get().status == "sent"


# --------------------------------------------------------------------------- files


@pytest.mark.django_db
def test_a_declared_file_is_stored_encrypted_and_counted(acme, evidence_dir):
    data = b"synthetic file bytes, not an image"
    api = Industry(key_for(acme))
    api.post("/reports", report("f-1", files=[{"sha256": hashlib.sha256(data).hexdigest(), "file_id": "1"}]))
    response = api.upload("/reports/f-1/files", "x.bin", data)
    assert response.status_code == 201, response.content
    assert response.json()["sha256"] == hashlib.sha256(data).hexdigest()
    item = EvidenceItem.objects.get()
    assert item.case.reference == api.get("/reports/f-1").json()["reference"]
    assert api.get("/reports/f-1").json()["files_uploaded"] == 1
    [stored] = stored_files(evidence_dir)
    assert data not in stored.read_bytes()
    # The same file again: every declared file is uploaded already.
    assert api.upload("/reports/f-1/files", "x.bin", data).status_code == 400


@pytest.mark.django_db
def test_an_undeclared_file_is_refused_and_nothing_is_kept(acme, evidence_dir):
    api = Industry(key_for(acme))
    api.post("/reports", report("f-2", files=[{"md5": "0" * 32}]))
    response = api.upload("/reports/f-2/files", "x.bin", b"other bytes")
    assert response.status_code == 400
    assert "matches no declared file" in response.json()["detail"]
    assert not EvidenceItem.objects.exists()
    assert stored_files(evidence_dir) == []
    assert IndustrySubmission.objects.get().files == [{"md5": "0" * 32, "uploaded": False}]


@pytest.mark.django_db
def test_a_file_over_the_limit_is_refused_and_nothing_is_kept(acme, evidence_dir, monkeypatch):
    monkeypatch.setenv("AMPARO_INDUSTRY_MAX_FILE_BYTES", "10")
    data = b"eleven bytes"
    api = Industry(key_for(acme))
    api.post("/reports", report("f-3", files=[{"sha256": hashlib.sha256(data).hexdigest()}]))
    assert api.upload("/reports/f-3/files", "x.bin", data).status_code == 400
    assert not EvidenceItem.objects.exists()
    assert stored_files(evidence_dir) == []


@pytest.mark.django_db
def test_an_upload_declared_far_over_the_limit_is_refused_before_it_is_read(acme, evidence_dir, monkeypatch):
    monkeypatch.setenv("AMPARO_INDUSTRY_MAX_FILE_BYTES", "1000")
    api = Industry(key_for(acme))
    api.post("/reports", report("f-4", files=[{"md5": "0" * 32}]))
    response = api.upload("/reports/f-4/files", "big.bin", bytes(200_000))
    assert response.status_code == 413
    assert "larger than 1000 bytes" in response.json()["detail"]
    assert stored_files(evidence_dir) == []


# --------------------------------------------------------------------------- preservation


@pytest.mark.django_db
def test_an_organisation_reads_and_answers_a_preservation_request(acme, make_case):
    request = sent_preservation_request(make_case(agency="sernic"), acme)
    api = Industry(key_for(acme))
    [listed] = api.get("/preservation-requests").json()
    assert listed["identifiers"] == ["fake_offender_9", "+258840000009"]
    assert AuditEntry.objects.filter(
        action=IndustryAudit.PRESERVATION_READ, actor_channel="industry:acme"
    ).exists()
    assert (
        api.post(f"/preservation-requests/{request.pk}/answer", {"status": "acknowledged"}).json()["status"]
        == "acknowledged"
    )
    answered = api.post(
        f"/preservation-requests/{request.pk}/answer", {"status": "fulfilled", "note": "Kept 90 days."}
    )
    assert answered.status_code == 200
    request.refresh_from_db()
    assert request.status == "fulfilled"
    assert "Kept 90 days." in request.answer_note
    assert api.get("/preservation-requests").json() == []  # no longer open
    again = api.post(f"/preservation-requests/{request.pk}/answer", {"status": "acknowledged"})
    assert again.status_code == 400


@pytest.mark.django_db
def test_a_preservation_request_is_seen_only_by_the_organisation_it_was_sent_to(acme, make_case):
    request = sent_preservation_request(make_case(agency="sernic"), acme)
    # Another organisation mapped to the same provider (as an older installation could hold), registered
    # after the request was sent: it neither lists nor answers it.
    twin = IndustryOrganisation.objects.create(
        code="acme-twin", name="Twin Ltd", kind="platform", service_provider=acme.service_provider
    )
    theirs = Industry(key_for(twin))
    assert theirs.get("/preservation-requests").json() == []
    assert (
        theirs.post(f"/preservation-requests/{request.pk}/answer", {"status": "fulfilled"}).status_code == 404
    )
    request.refresh_from_db()
    assert request.status == "sent"
    # Not even a request sent later: the provider's requests go to the first organisation only.
    later = sent_preservation_request(make_case(agency="sernic"), acme)
    assert theirs.get("/preservation-requests").json() == []
    assert {r["number"] for r in Industry(key_for(acme)).get("/preservation-requests").json()} == {
        request.number,
        later.number,
    }


@pytest.mark.django_db
def test_a_second_organisation_for_the_same_service_provider_is_refused(acme):
    from django.utils import translation

    with (
        translation.override("en"),
        pytest.raises(ValidationError, match="already go to the organisation acme"),
    ):
        actions.create_organisation(
            SYSTEM, code="acme-2", name="Second", kind="platform", service_provider=acme.service_provider
        )


@pytest.mark.django_db
def test_an_organisation_registered_after_a_request_was_sent_does_not_see_it(make_case):
    from amparo.cases.models import ServiceProvider

    provider = ServiceProvider.objects.create(code="sp-late", name="Late provider", kind="platform")
    # A request sent before any organisation represented the provider (by letter).
    early = actions.create_organisation(SYSTEM, code="early", name="Early", kind="platform")
    early.service_provider = provider
    request = sent_preservation_request(make_case(agency="sernic"), early)
    IndustryOrganisation.objects.filter(pk=early.pk).delete()
    late = actions.create_organisation(
        SYSTEM, code="late", name="Late", kind="platform", service_provider=provider
    )
    assert late.created_at > request.sent_at
    assert Industry(key_for(late)).get("/preservation-requests").json() == []


@pytest.mark.django_db
def test_an_organisation_without_a_service_provider_has_no_preservation_requests(db):
    org = organisation("noprov", provider=False)
    assert Industry(key_for(org)).get("/preservation-requests").json() == []


# --------------------------------------------------------------------------- takedown


@pytest.mark.django_db
def test_confirming_removal_records_the_time_to_removal(acme, make_case, investigator):
    notice = takedown.create_notice(
        investigator,
        make_case(agency="sernic"),
        url="https://acme.example.test/v/9",
        platform="tiktok",
        organisation=acme,
    )
    back_date(notice, hours=5)
    api = Industry(key_for(acme))
    response = api.post(f"/takedown-notices/{notice.pk}/answer", {"status": "removed"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "removed"
    assert 5 * 3600 <= body["time_to_removal_seconds"] < 5 * 3600 + 60
    notice.refresh_from_db()
    assert notice.removed_at is not None
    assert notice.answered_at == notice.removed_at
    assert dt.timedelta(hours=5) <= notice.time_to_removal < dt.timedelta(hours=5, minutes=1)
    entry = AuditEntry.objects.get(action=TakedownAudit.NOTICE_ANSWER)
    assert entry.actor_channel == "industry:acme"
    # A second answer is refused and changes nothing.
    assert api.post(f"/takedown-notices/{notice.pk}/answer", {"status": "refused"}).status_code == 400
    assert TakedownNotice.objects.get().status == "removed"


@pytest.mark.django_db
def test_a_refused_notice_has_no_time_to_removal(acme, make_case, investigator):
    notice = takedown.create_notice(
        investigator, make_case(agency="sernic"), url="https://a.test/2", organisation=acme
    )
    body = (
        Industry(key_for(acme))
        .post(f"/takedown-notices/{notice.pk}/answer", {"status": "refused", "note": "Lawful."})
        .json()
    )
    assert (body["status"], body["time_to_removal_seconds"], body["removed_at"]) == ("refused", None, None)
    assert Industry(key_for(acme)).get("/takedown-notices", status="sent").json() == []


@pytest.mark.django_db
def test_the_block_list_downloads_as_text_and_csv_and_the_download_is_audited(acme, investigator):
    takedown.add_blocked_url(investigator, "https://blocked.example.test/a", "csam")
    entry = takedown.add_blocked_url(investigator, "https://blocked.example.test/b", "grooming")
    takedown.remove_blocked_url(investigator, entry)
    api = Industry(key_for(acme))
    text = api.get("/blocklist")
    assert text.status_code == 200
    assert text["Content-Type"].startswith("text/plain")
    assert text.content.decode() == "https://blocked.example.test/a\n"
    csv = api.get("/blocklist", format="csv").content.decode().splitlines()
    assert csv[0] == "url,category,added_at"
    assert csv[1].startswith("https://blocked.example.test/a,csam,")
    assert len(csv) == 2
    assert (
        AuditEntry.objects.filter(
            action=TakedownAudit.BLOCKLIST_DOWNLOAD, actor_channel="industry:acme"
        ).count()
        == 2
    )
    assert api.get("/blocklist", format="xml").status_code == 422


@pytest.mark.django_db
def test_the_schema_needs_a_key_or_a_staff_session(acme):
    anonymous = Client().get("/api/industry/v1/openapi.json")
    assert anonymous.status_code == 302  # to sign in
    wrong = Client().get("/api/industry/v1/openapi.json", HTTP_AUTHORIZATION="Bearer not-a-key")
    assert wrong.status_code == 401
    response = Client().get("/api/industry/v1/openapi.json", HTTP_AUTHORIZATION=f"Bearer {key_for(acme)}")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/industry/v1/reports" in paths
    assert "/api/industry/v1/takedown-notices/{notice_id}/answer" in paths


# --------------------------------------------------------------------------- malformed bodies


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, "not valid JSON"),
        ({"incident_type": "child_sexual_abuse_material"}, 422, "submission_id"),
        ({"submission_id": "a b", "incident_type": "child_sexual_abuse_material"}, 422, "submission_id"),
        (report(incident_type="theft"), 422, "incident_type"),
        (report(files=[{"file_id": "1"}]), 422, "at least one of md5"),
        (report(files=[{"md5": "xyz"}]), 422, "hexadecimal"),
        (report(victim_age=30), 422, "victim_age"),
        (report(description="nul\x00byte"), 422, "control characters"),
    ],
    ids=["not-json", "no-id", "bad-id", "bad-type", "no-hash", "bad-hash", "adult", "nul"],
)
def test_a_malformed_report_is_refused_with_a_clear_message_and_opens_nothing(acme, body, status, words):
    response = Industry(key_for(acme)).post("/reports", body)
    assert response.status_code == status, response.content
    assert words in response.json()["detail"]
    assert not Case.objects.exists()
    assert not IndustrySubmission.objects.exists()


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
_fields = st.fixed_dictionaries(
    {},
    optional={
        "submission_id": st.text(max_size=120) | st.integers(),
        "incident_type": st.sampled_from(["child_sexual_abuse_material", "online_enticement", "other"])
        | _json,
        "incident_at": st.datetimes().map(lambda d: d.isoformat()) | st.text(max_size=30),
        "escalate": st.booleans() | _json,
        "annotations": st.lists(st.sampled_from(["sextortion", "live_streaming", "unknown"]), max_size=3)
        | _json,
        "urls": st.lists(st.text(max_size=50), max_size=3) | _json,
        "reported_users": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "screen_name": st.text(max_size=40),
                    "phone": st.text(max_size=45),
                    "ip_events": st.lists(
                        st.dictionaries(st.sampled_from(["ip", "port", "at", "event"]), _json), max_size=2
                    ),
                },
            ),
            max_size=2,
        )
        | _json,
        "victim_age": st.integers(-5, 40) | _json,
        "estimated_location": st.dictionaries(
            st.sampled_from(["country", "region", "city"]), st.text(max_size=20)
        )
        | _json,
        "files": st.lists(
            st.dictionaries(
                st.sampled_from(["md5", "sha1", "sha256", "file_id"]),
                st.text("0123456789abcdef", max_size=64),
            ),
            max_size=2,
        )
        | _json,
        "description": st.text(max_size=200),
    },
)


@pytest.mark.django_db
def test_generated_report_bodies_get_an_answer_and_a_case_only_when_accepted(acme):
    api = Industry(key_for(acme))

    @HYPOTHESIS
    @given(body=_fields | _json)
    def check(body: object) -> None:
        before = Case.objects.count()
        response = api.post("/reports", body)
        assert response.status_code in (200, 201, 400, 422), response.content
        detail_or_reference = response.json()
        if response.status_code == 201:
            assert Case.objects.count() == before + 1
            assert Case.objects.filter(reference=detail_or_reference["reference"]).exists()
        else:
            assert Case.objects.count() == before
            if response.status_code >= 400:
                assert detail_or_reference["detail"]

    check()


@pytest.mark.django_db
def test_generated_raw_bodies_never_cause_a_server_error(acme):
    api = Industry(key_for(acme))

    @HYPOTHESIS
    @given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
    def check(raw: bytes) -> None:
        response = api.post("/reports", raw)
        assert response.status_code in (400, 422), response.content
        assert response.json()["detail"]

    check()
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_the_case_timeline_names_the_organisation_and_submission(acme, investigator):
    from django.utils import translation

    from amparo.cases.timeline import timeline

    reference = Industry(key_for(acme)).post("/reports", report("tl-1")).json()["reference"]
    case = Case.objects.get(reference=reference)
    with translation.override("en"):
        titles = [e.title for e in timeline(investigator, case, frozenset())]
    assert "Report tl-1 received from Example acme Ltd through the industry API." in titles


@pytest.mark.django_db
def test_a_decompression_bomb_uploaded_by_a_platform_is_stored_and_marked_not_hashed(acme, evidence_dir):
    from amparo.evidence.models import CustodyEvent
    from amparo.evidence.tests.hostile import png_bomb

    bomb = png_bomb()
    api = Industry(key_for(acme))
    api.post("/reports", report("bomb-1", files=[{"sha256": hashlib.sha256(bomb).hexdigest()}]))
    assert api.upload("/reports/bomb-1/files", "x.png", bomb).status_code == 201
    item = EvidenceItem.objects.get()
    hashed = CustodyEvent.objects.get(item=item, kind="hashed")
    assert hashed.detail["perceptual"] == "not hashed: too large to decode safely"
