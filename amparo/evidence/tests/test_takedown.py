"""Takedown notices and the national URL block list: who may send and keep them, what is recorded (the
URL encrypted, the time to removal from request to removal), and that the observatory's "median days to
content removal" is computed from exactly these fields (TakedownNotice.requested_at, .removed_at,
.platform). Every address is invented."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from amparo.core import audit
from amparo.core.models import AuditEntry
from amparo.core.tests.test_web import sign_in
from amparo.evidence import takedown
from amparo.evidence.models import BlockedUrl, TakedownNotice
from amparo.evidence.permissions import TakedownAudit

CHANNEL = audit.Actor(channel="industry:example")


@pytest.fixture(autouse=True)
def _static_root(settings, tmp_path):  # noqa: ANN001, ANN202
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


@pytest.fixture
def investigator(make_user):  # noqa: ANN001, ANN201
    return make_user("investigator", agency="sernic", scope_level="national")


@pytest.fixture
def case(make_case):  # noqa: ANN001, ANN201
    return make_case(agency="sernic")


def removed_after(notice: TakedownNotice, hours: float, *, at: dt.datetime | None = None) -> TakedownNotice:
    """Answer `removed` now, then move both times back so that removal took `hours` and happened at `at`."""
    takedown.answer_notice(CHANNEL, notice, status="removed")
    removed = at or timezone.now()
    TakedownNotice.objects.filter(pk=notice.pk).update(
        removed_at=removed, answered_at=removed, requested_at=removed - dt.timedelta(hours=hours)
    )
    notice.refresh_from_db()
    return notice


# --------------------------------------------------------------------------- notices


@pytest.mark.django_db
def test_an_investigator_sends_a_notice_and_its_url_is_encrypted_at_rest(investigator, case):
    notice = takedown.create_notice(
        investigator, case, url="https://video.example.test/watch?v=fake", platform="youtube"
    )
    assert (notice.status, notice.platform, notice.removed_at) == ("sent", "youtube", None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT url FROM evidence_takedownnotice")
        [(stored,)] = cursor.fetchall()
    assert stored.startswith("enc1$")
    assert "video.example.test" not in stored
    entry = AuditEntry.objects.get(action=TakedownAudit.NOTICE_CREATE)
    assert entry.actor_user_id == investigator.pk


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["social_worker", "intake_officer", "analyst"])
def test_roles_without_the_right_may_not_send_notices(make_user, case, role):
    with pytest.raises(PermissionDenied):
        takedown.create_notice(make_user(role, agency="sernic"), case, url="https://a.example.test/")
    assert not TakedownNotice.objects.exists()


@pytest.mark.django_db
def test_an_investigator_who_cannot_read_the_case_may_not_send_a_notice_for_it(make_user, case):
    outsider = make_user("investigator", agency="prm")
    with pytest.raises(PermissionDenied):
        takedown.create_notice(outsider, case, url="https://a.example.test/")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://a.example.test/",
        "example.test/page",
        "https://",
        "https://a.test/x y",
        "javascript:alert(1)",
    ],
)
def test_only_full_web_addresses_are_accepted(investigator, case, url):
    with pytest.raises(ValidationError):
        takedown.create_notice(investigator, case, url=url)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80) | st.from_regex(r"\Ahttps?://[a-z.]{1,20}/[ -~]{0,30}\Z"))
def test_clean_url_accepts_only_http_addresses_and_refuses_the_rest_clearly(value):
    try:
        cleaned = takedown.clean_url(value)
    except ValidationError as exc:
        messages = exc.messages
    else:
        messages = []
    if messages:
        assert "http" in messages[0]
        return
    assert cleaned.lower().startswith(("http://", "https://"))
    assert not any(ch.isspace() for ch in cleaned)


@pytest.mark.django_db
def test_an_answer_is_taken_once_and_only_from_an_organisations_channel(investigator, case):
    notice = takedown.create_notice(investigator, case, url="https://a.example.test/1")
    with pytest.raises(PermissionDenied):
        takedown.answer_notice(investigator, notice, status="removed")
    with pytest.raises(ValidationError):
        takedown.answer_notice(CHANNEL, notice, status="sent")
    takedown.answer_notice(CHANNEL, notice, status="not_found", note="Nothing at that address.")
    with pytest.raises(ValidationError):
        takedown.answer_notice(CHANNEL, notice, status="removed")
    notice.refresh_from_db()
    assert (notice.status, notice.removed_at, notice.time_to_removal) == ("not_found", None, None)
    assert notice.answer_note == "Nothing at that address."


@pytest.mark.django_db
def test_only_a_waiting_notice_can_be_withdrawn(investigator, case):
    first = takedown.create_notice(investigator, case, url="https://a.example.test/1")
    takedown.withdraw_notice(investigator, first)
    assert TakedownNotice.objects.get(pk=first.pk).status == "withdrawn"
    second = takedown.create_notice(investigator, case, url="https://a.example.test/2")
    takedown.answer_notice(CHANNEL, second, status="removed")
    with pytest.raises(ValidationError):
        takedown.withdraw_notice(investigator, second)


@pytest.mark.django_db
def test_time_to_removal_runs_from_request_to_removal(investigator, case):
    notice = removed_after(takedown.create_notice(investigator, case, url="https://a.example.test/1"), 30)
    assert notice.time_to_removal == dt.timedelta(hours=30)
    other = removed_after(takedown.create_notice(investigator, case, url="https://a.example.test/2"), 10)
    pending = takedown.create_notice(investigator, case, url="https://a.example.test/3")
    stats = takedown.removal_times([notice, other, pending])
    assert stats == {"removed": 2, "median": dt.timedelta(hours=20), "median_days": 20 / 24}


# --------------------------------------------------------------------------- the block list


@pytest.mark.django_db
def test_the_block_list_is_kept_by_national_investigators_only(make_user, investigator):
    provincial = make_user("investigator", agency="sernic", scope_level="province", scope_province="MZ07")
    with pytest.raises(PermissionDenied):
        takedown.add_blocked_url(provincial, "https://a.example.test/", "csam")
    entry = takedown.add_blocked_url(investigator, "https://a.example.test/", "csam")
    with pytest.raises(ValidationError):
        takedown.add_blocked_url(investigator, "https://a.example.test/", "grooming")
    takedown.remove_blocked_url(investigator, entry)
    with pytest.raises(ValidationError):
        takedown.remove_blocked_url(investigator, entry)
    takedown.add_blocked_url(
        investigator, "https://a.example.test/", "grooming"
    )  # listed again after removal
    assert [e.category for e in takedown.active_blocklist()] == ["grooming"]
    assert BlockedUrl.objects.count() == 2  # the removed entry is kept for the list's history


# --------------------------------------------------------------------------- the staff page


@pytest.mark.django_db
def test_the_takedown_page_sends_a_notice_and_shows_the_median(client, investigator, case):
    sign_in(client, investigator)
    url = reverse("evidence:takedown")
    response = client.post(
        url,
        {
            "form": "notice",
            "reference": case.reference,
            "url": "https://a.example.test/p",
            "platform": "facebook",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 302
    notice = TakedownNotice.objects.get()
    removed_after(notice, 48)
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert case.reference in page
    assert "Median time to removal: 2.0 days." in page
    assert "2\xa0days" in page  # the notice's own time to removal
    assert AuditEntry.objects.filter(action=TakedownAudit.NOTICE_LIST, actor_user_id=investigator.pk).exists()


@pytest.mark.django_db
def test_the_page_refuses_other_roles_and_hides_other_agencies_cases(client, make_user, case):
    sign_in(client, make_user("social_worker", agency="sernic"))
    assert client.get(reverse("evidence:takedown")).status_code == 403
    outsider = make_user("investigator", agency="prm")
    client.logout()
    sign_in(client, outsider)
    response = client.post(
        reverse("evidence:takedown"),
        {"form": "notice", "reference": case.reference, "url": "https://a.test/", "platform": "unknown"},
    )
    assert response.status_code == 404
    assert not TakedownNotice.objects.exists()


@pytest.mark.django_db
def test_an_outsider_cannot_withdraw_a_notice(client, make_user, investigator, case):
    notice = takedown.create_notice(investigator, case, url="https://a.example.test/1")
    sign_in(client, make_user("investigator", agency="prm"))
    assert client.post(reverse("evidence:takedown_withdraw", args=[notice.pk])).status_code == 404
    assert TakedownNotice.objects.get().status == "sent"


@pytest.mark.django_db
def test_a_provincial_investigator_cannot_add_to_the_block_list_through_the_page(client, make_user):
    sign_in(client, make_user("investigator", agency="sernic", scope_level="province", scope_province="MZ07"))
    response = client.post(
        reverse("evidence:takedown"), {"form": "block", "url": "https://a.test/", "category": "csam"}
    )
    assert response.status_code == 403
    assert not BlockedUrl.objects.exists()


# --------------------------------------------------------------------------- case timeline and home page


@pytest.mark.django_db
def test_the_case_timeline_shows_the_notice_and_the_time_to_removal_to_those_who_send_notices(
    make_user, investigator, case
):
    from django.utils import translation

    from amparo.cases.timeline import timeline

    removed_after(
        takedown.create_notice(investigator, case, url="https://a.example.test/t", platform="tiktok"), 3
    )
    with translation.override("en"):
        entries = [e for e in timeline(investigator, case, frozenset()) if e.kind == "takedown"]
    assert [e.title for e in entries] == [
        "Takedown notice sent (TikTok).",
        "The material was removed, 3\xa0hours after the notice.",
    ]
    assert all("a.example.test" not in e.title + e.detail for e in entries)
    assert not [
        e
        for e in timeline(make_user("social_worker", agency="sernic"), case, frozenset())
        if e.kind == "takedown"
    ]


@pytest.mark.django_db
def test_the_home_page_links_the_takedown_page_for_those_who_send_notices(make_user, investigator):
    from amparo.core.views import abilities_for

    assert reverse("evidence:takedown") in [a.url for a in abilities_for(investigator)]
    assert reverse("evidence:takedown") not in [
        a.url for a in abilities_for(make_user("social_worker", agency="sernic"))
    ]
