"""The community sessions register, the staff pages' access, and the reach figures with disclosure control."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from amparo.core.models import Agency, AuditEntry, District
from amparo.core.tests.test_web import sign_in
from amparo.core.views import abilities_for
from amparo.intake.providers import create_channel
from amparo.outreach import actions, reach
from amparo.outreach.models import CommunitySession, Subscriber, SubscriberState
from amparo.outreach.tests.helpers import SYSTEM

pytestmark = pytest.mark.django_db


def _record(user, district="MZ0702", girls=12, boys=9, **extra):  # noqa: ANN001, ANN202
    return actions.record_session(
        user,
        date=extra.pop("date", timezone.localdate() - dt.timedelta(days=3)),
        district=District.objects.get(pk=district),
        setting="school",
        audience="children_9_12",
        facilitating_agency=user.agency,
        participants={("female", "10_14"): girls, ("male", "10_14"): boys},
        out_of_school=extra.pop("out_of_school", 2),
        with_disability=1,
        **extra,
    )


def test_a_session_is_recorded_with_counts_and_audited(make_user) -> None:  # noqa: ANN001
    user = make_user("social_worker", agency="mgcas")
    session = _record(user)
    assert session.participants_total() == 21
    assert session.urban == District.objects.get(pk="MZ0702").is_capital
    entry = AuditEntry.objects.get(action="outreach:session:create")
    assert "participants" in entry.fields
    assert entry.actor_user_id == user.pk


def test_sessions_are_checked(make_user) -> None:  # noqa: ANN001
    user = make_user("social_worker", agency="mgcas")
    with pytest.raises(ValidationError):
        _record(user, date=timezone.localdate() + dt.timedelta(days=2))
    with pytest.raises(ValidationError):
        _record(user, girls=1, boys=1, out_of_school=5)


def test_only_the_facilitating_agency_corrects_a_session(make_user) -> None:  # noqa: ANN001
    session = _record(make_user("social_worker", agency="mgcas"))
    outsider = make_user("social_worker", agency="sernic")
    with pytest.raises(PermissionDenied):
        actions.record_session(
            outsider,
            date=session.date,
            district=session.district,
            setting="school",
            audience="teachers",
            facilitating_agency=Agency.objects.get(code="mgcas"),
            participants={},
            session=session,
        )
    with pytest.raises(PermissionDenied):
        _record(make_user("auditor", agency="mgcas"))


def test_the_session_form_records_without_javascript(client: Client, make_user) -> None:  # noqa: ANN001
    user = make_user("social_worker", agency="mgcas")
    sign_in(client, user)
    assert client.get("/outreach/sessions/new/").status_code == 200
    data = {
        "date": (timezone.localdate() - dt.timedelta(days=1)).isoformat(),
        "district": "MZ0702",
        "area": "rural",
        "setting": "community",
        "audience": "caregivers",
        "facilitating_agency": user.agency_id,
        "out_of_school": "0",
        "with_disability": "0",
        "p_female_18_plus": "14",
        "p_male_18_plus": "6",
    }
    response = client.post("/outreach/sessions/new/", data)
    assert response.status_code == 302
    session = CommunitySession.objects.get()
    assert not session.urban
    assert session.participants_total() == 20
    assert client.get(f"/outreach/sessions/{session.pk}/").status_code == 200


def test_staff_pages_refuse_outsiders(client: Client, make_user) -> None:  # noqa: ANN001
    auditor = make_user("auditor", agency="mgcas")
    sign_in(client, auditor)
    for path in (
        "/outreach/content/",
        "/outreach/sessions/",
        "/outreach/sessions/new/",
        "/outreach/reach/",
        "/outreach/content/new/",
    ):
        assert client.get(path).status_code == 403, path
    session = _record(make_user("social_worker", agency="mgcas"))
    client.logout()
    sign_in(client, make_user("social_worker", agency="sernic"))
    assert client.get(f"/outreach/sessions/{session.pk}/").status_code == 403
    assert client.get("/outreach/content/00000000-0000-4000-8000-000000000000/").status_code == 404


def test_home_links_follow_the_permissions(make_user) -> None:  # noqa: ANN001
    labels = [str(a.label) for a in abilities_for(make_user("national_coordinator", agency="mgcas"))]
    assert (
        "Reach of the education work" in labels
        or any("alcance" in label.lower() for label in labels)
        or len(labels) >= 3
    )
    assert not [a for a in abilities_for(make_user("auditor", agency="mgcas")) if "/outreach/" in a.url]


def test_reach_figures_suppress_small_counts(make_user) -> None:  # noqa: ANN001
    channel = create_channel(SYSTEM, name="SMS", kind="sms", provider="log")
    for n in range(7):
        Subscriber.objects.create(
            channel=channel,
            phone_index=f"{n:064d}",
            language="pt",
            audience="caregivers",
            state=SubscriberState.ACTIVE,
            province_id="MZ07",
        )
    Subscriber.objects.create(
        channel=channel,
        phone_index="9" * 64,
        language="en",
        audience="caregivers",
        state=SubscriberState.ACTIVE,
        province_id="MZ01",
    )
    table = reach.subscribers_by_province_language()
    assert table.cells["MZ01"]["en"].display() == "<5"
    assert table.row_totals["MZ01"].display() == "<5"
    assert table.column_totals["en"].display() == "<5"
    # The single English subscriber must not follow from the published figures: the grand total and
    # the 7 Portuguese subscribers of Maputo are never both shown.
    assert table.total.suppressed or table.cells["MZ07"]["pt"].suppressed
    for n in range(7, 13):  # six English subscribers: nothing small is left, so all is published
        Subscriber.objects.create(
            channel=channel,
            phone_index=f"{n:064d}",
            language="en",
            audience="caregivers",
            state=SubscriberState.ACTIVE,
            province_id="MZ07",
        )
    Subscriber.objects.filter(province_id="MZ01").update(state=SubscriberState.STOPPED)
    whole = reach.subscribers_by_province_language()
    assert whole.total.display() == "13"
    assert whole.row_totals["MZ07"].display() == "13"
    assert whole.column_totals["en"].display() == "6"
    user = make_user("social_worker", agency="mgcas")
    _record(user, "MZ0702")
    _record(user, "MZ0101", girls=3, boys=0)
    start, end = reach.last_twelve_months(timezone.localdate())
    share = reach.districts_reached(start, end)
    assert share.reached == 2
    assert share.total == District.objects.count()
    participants = reach.participants_by_district_area(start, end)
    assert participants.row_totals["MZ0101"].display() == "<5"
    # 21 participants in Maputo City and 3 elsewhere: the total (24) and Maputo's 21 are never both shown.
    assert participants.total.suppressed or participants.row_totals["MZ0702"].suppressed
    # The same people by sex and age share that total: it is hidden (or shown) in both tables alike.
    by_person = reach.participants_by_sex_age(start, end)
    assert by_person.total.display() == participants.total.display()


def test_messages_by_status_and_delivered_by_language_are_protected_together(make_user) -> None:  # noqa: ANN001
    from amparo.intake.models import OutboundMessage, OutboundStatus
    from amparo.outreach import seed
    from amparo.outreach.models import Dispatch, Translation

    seed.seed(SYSTEM)
    tr = Translation.objects.filter(item__slug="sms-caregivers-safe-online").first()
    channel = create_channel(SYSTEM, name="SMS", kind="sms", provider="log")
    sub = Subscriber.objects.create(channel=channel, phone_index="1" * 64, state=SubscriberState.ACTIVE)
    sent = [("pt", OutboundStatus.DELIVERED)] * 7 + [("en", OutboundStatus.DELIVERED)]
    sent += [("pt", OutboundStatus.FAILED)] * 6
    for position, (language, status) in enumerate(sent, start=1):
        out = OutboundMessage.objects.create(channel=channel, text="tip", status=status)
        Dispatch.objects.create(
            subscriber=sub, translation=tr, position=position, language=language, message=out
        )
    start = timezone.now() - dt.timedelta(days=1)
    end = timezone.now() + dt.timedelta(days=1)
    delivered = reach.delivered_by_language(start, end)
    by_status = reach.messages_by_status(start, end)
    assert delivered.cells["en"].display() == "<5"
    # The one English message cannot be worked out from the delivered row: another of its figures
    # (a language or the row's total) is hidden too, and the status table shows the same total.
    assert sum(c.suppressed for c in [*delivered.cells.values(), delivered.total]) >= 2
    assert by_status.cells[OutboundStatus.DELIVERED].display() == delivered.total.display()
    assert by_status.cells[OutboundStatus.FAILED].display() in {"6", "x"}


def test_the_reach_page_shows_tables_and_both_maps(client: Client, make_user) -> None:  # noqa: ANN001
    user = make_user("national_coordinator", agency="mgcas")
    _record(make_user("social_worker", agency="mgcas"))
    sign_in(client, user)
    client.cookies["django_language"] = "en"
    response = client.get("/outreach/reach/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Active SMS subscribers by province" in html
    assert "Reports received by province" in html
    assert html.count('id="MZ07"') >= 2  # one area per map
    assert "<script" not in html


def test_the_demo_sessions_fill_the_reach_figures_through_the_audited_action(make_user) -> None:  # noqa: ANN001
    from amparo.outreach import seed

    recorder = make_user("social_worker", agency="mgcas")
    assert seed.demo_sessions(recorder, count=30, seed=3) == 30
    assert CommunitySession.objects.count() == 30
    assert AuditEntry.objects.filter(action="outreach:session:create").count() == 30
    assert not CommunitySession.objects.exclude(facilitating_agency=recorder.agency).exists()
    start, end = reach.last_twelve_months(timezone.localdate())
    assert CommunitySession.objects.filter(date__gte=start, date__lt=end).count() == 30
    assert reach.districts_reached(start, end).reached >= 2
    assert reach.participants_by_district_area(start, end) is not None
