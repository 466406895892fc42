"""`amparo outreach`: the worker's periodic send, `send_due` and `seed_content` from the command line."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from amparo.core.schedule import periodic_jobs
from amparo.outreach import tasks
from amparo.outreach.models import ContentItem, ContentStatus, Translation
from amparo.outreach.seed import STARTER

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("outreach", *args, stdout=out)
    return out.getvalue()


def test_the_worker_runs_send_due_every_few_minutes() -> None:
    job = next(j for j in periodic_jobs() if j.name == "outreach.send_due")
    assert job.job is tasks.send_due
    assert job.every.total_seconds() <= 10 * 60


def test_send_due_reports_what_it_sent_as_json(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("AMPARO_OUTREACH_SEND_HOURS", "00:00-23:59")
    assert json.loads(_run("send_due", "--json")) == {"sent": 0}


def test_seed_content_sends_everything_for_review_and_approves_only_as_an_approver(make_user) -> None:  # noqa: ANN001
    result = json.loads(_run("seed_content", "--json"))
    assert result["items_created"] == len(STARTER)
    assert result["translations_approved"] == 0
    assert set(Translation.objects.values_list("status", flat=True)) == {ContentStatus.IN_REVIEW}
    assert all(item.review_note for item in ContentItem.objects.all())
    writer = make_user("social_worker", agency="mgcas", username="writer")
    with pytest.raises(CommandError):
        _run("seed_content", "--approve-as", writer.username)
    make_user("national_coordinator", agency="mgcas", username="coordinator")
    again = json.loads(_run("seed_content", "--approve-as", "coordinator", "--json"))
    assert again["items_created"] == 0  # nothing created twice
    assert again["translations_approved"] == Translation.objects.count()
    assert set(Translation.objects.values_list("status", flat=True)) == {ContentStatus.APPROVED}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AMPARO_OUTREACH_SEND_HOURS", "19:00-08:00"),
        ("AMPARO_OUTREACH_SEND_HOURS", "8h-19h"),
        ("AMPARO_OUTREACH_RATE_PER_SECOND", "0"),
        ("AMPARO_OUTREACH_BATCH", "many"),
    ],
)
def test_a_malformed_campaign_setting_fails_the_system_check(monkeypatch, name: str, value: str) -> None:  # noqa: ANN001
    from amparo.outreach.checks import check_outreach_settings

    assert check_outreach_settings(None) == []
    monkeypatch.setenv(name, value)
    errors = check_outreach_settings(None)
    assert [e.id for e in errors] == ["outreach.E001"]
    assert name in errors[0].msg
