"""Subscribers are never linked to reporters, reports, cases or persons: not by a relation, not by a
query; the phone number is stored only encrypted and found by its blind index."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from amparo.intake.tests.test_providers import FakeProvider
from amparo.outreach import reach, seed, tasks
from amparo.outreach.models import Dispatch, Subscriber
from amparo.outreach.tests.helpers import PHONE, SYSTEM, Phone, approve_all, make_sms_channel, maputo

FORBIDDEN = {"intake.report", "intake.reportermessage", "cases.case", "cases.person", "intake.attachment"}


def reachable(model: type, seen: set[str] | None = None) -> set[str]:
    """Every model a chain of foreign keys (forward relations) leads to from `model`."""
    seen = set() if seen is None else seen
    for field in model._meta.get_fields():
        if (
            field.is_relation
            and (field.many_to_one or field.one_to_one or field.many_to_many)
            and field.concrete
        ):
            target = field.related_model
            label = target._meta.label_lower
            if label not in seen:
                seen.add(label)
                reachable(target, seen)
    return seen


@pytest.mark.parametrize("name", ["Subscriber", "Dispatch"])
def test_no_relation_leads_from_subscribers_to_reports_cases_or_persons(name: str) -> None:
    model = apps.get_model("outreach", name)
    assert not reachable(model) & FORBIDDEN


def test_no_report_or_case_model_points_at_subscribers() -> None:
    for model in apps.get_models():
        if model._meta.app_label in {"intake", "cases"}:
            assert "outreach.subscriber" not in reachable(model)
            assert "outreach.dispatch" not in reachable(model)


@pytest.mark.django_db
def test_no_query_of_the_campaign_joins_subscribers_to_reports_or_cases(
    client: Client,
    fake_provider: FakeProvider,
    monkeypatch,
    django_capture_on_commit_callbacks,
    make_user,
    make_case,  # noqa: ANN001
) -> None:
    monkeypatch.setenv("AMPARO_SMS_API_BASE_URL", fake_provider.url)
    make_case(victim_name="Ana Teste", victim_phone=PHONE)  # the same number is also a victim's: never joined
    seed.seed(SYSTEM)
    approve_all(make_user("agency_supervisor", agency="mgcas"))
    phone = Phone(client, make_sms_channel(fake_provider.url), django_capture_on_commit_callbacks)
    with CaptureQueriesContext(connection) as captured:
        phone.send("APRENDER")
        phone.send("3")
        phone.send("1")
        tasks.send_due(maputo(1, 9, 0))
        reach.subscribers_by_province_language()
        phone.send("PARAR")
    outreach_queries = [
        q["sql"]
        for q in captured.captured_queries
        if '"outreach_subscriber"' in q["sql"] or '"outreach_dispatch"' in q["sql"]
    ]
    assert outreach_queries
    forbidden = re.compile(r'"(intake_report|intake_reportermessage|cases_case|cases_person)"')
    assert not [sql for sql in outreach_queries if forbidden.search(sql)]
    assert Dispatch.objects.count() == 1


@pytest.mark.django_db
def test_the_phone_number_is_stored_only_encrypted(
    client: Client, fake_provider: FakeProvider, monkeypatch, django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    monkeypatch.setenv("AMPARO_SMS_API_BASE_URL", fake_provider.url)
    phone = Phone(client, make_sms_channel(fake_provider.url), django_capture_on_commit_callbacks)
    phone.send("LEARN")
    sub = Subscriber.objects.get()
    assert sub.phone == PHONE
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, phone_index FROM outreach_subscriber")
        stored_phone, index = cursor.fetchone()
    assert "841234567" not in stored_phone
    assert "841234567" not in index
    assert stored_phone.startswith("enc1$")
