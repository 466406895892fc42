"""`amparo channels`: list (table and JSON), add, deactivate, periodic work, and the demo channels."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from amparo.core.models import AuditEntry
from amparo.intake.demo import seed_demo_channels
from amparo.intake.models import Channel, ChannelAudit

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("channels", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_demo_seeds_one_sms_and_one_ussd_channel_idempotently() -> None:
    first = seed_demo_channels()
    second = seed_demo_channels()
    assert [c.pk for c in first] == [c.pk for c in second]
    assert sorted(Channel.objects.values_list("kind", flat=True)) == ["sms", "ussd"]
    assert set(Channel.objects.values_list("provider", flat=True)) == {"log"}
    assert AuditEntry.objects.filter(action=ChannelAudit.CHANNEL_CREATE).count() == 2


def test_list_json_prints_kind_provider_and_webhook_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMPARO_PUBLIC_BASE_URL", "https://amparo.gov.mz/")
    sms, ussd = seed_demo_channels()
    data = json.loads(run("list", "--json"))
    by_kind = {c["kind"]: c for c in data["channels"]}
    assert by_kind["sms"]["provider"] == "log"
    assert by_kind["sms"]["routing_agency"] == "linha-fala-crianca"
    assert by_kind["sms"]["webhooks"] == {
        "sms_inbound": f"https://amparo.gov.mz/channels/{sms.pk}/sms/inbound",
        "sms_delivery": f"https://amparo.gov.mz/channels/{sms.pk}/sms/delivery",
    }
    assert by_kind["ussd"]["webhooks"] == {"ussd": f"https://amparo.gov.mz/channels/{ussd.pk}/ussd"}


def test_list_table_names_every_channel() -> None:
    seed_demo_channels()
    out = run("list")
    assert "Demo SMS 1458" in out
    assert "Demo USSD *458#" in out
    assert "/sms/inbound" in out


def test_list_with_no_channels_says_what_to_do() -> None:
    assert "amparo channels add" in run("list")


def test_add_reads_credentials_from_a_file_and_never_prints_them(tmp_path: Path) -> None:
    creds = tmp_path / "at.json"
    creds.write_text(json.dumps({"username": "amparo", "api_key": "very-secret-key"}))
    out = run(
        "add", "--kind", "sms", "--provider", "africastalking", "--name", "Linha 1458",
        "--short-code", "1458", "--languages", "pt,en", "--credentials-file", str(creds), "--json",
    )  # fmt: skip
    assert "very-secret-key" not in out
    data = json.loads(out)
    assert data["has_credentials"] is True
    assert data["languages"] == ["pt", "en"]
    channel = Channel.objects.get(pk=data["id"])
    assert channel.credential_map() == {"username": "amparo", "api_key": "very-secret-key"}
    entry = AuditEntry.objects.get(action=ChannelAudit.CHANNEL_CREATE)
    assert "credentials" in entry.fields


def test_add_refuses_an_sms_channel_without_provider() -> None:
    with pytest.raises(CommandError, match="need a provider"):
        run("add", "--kind", "sms", "--name", "x")


def test_add_refuses_unknown_language_and_agency() -> None:
    with pytest.raises(CommandError, match="Unknown language"):
        run("add", "--kind", "ussd", "--provider", "log", "--name", "x", "--languages", "pt,xx")
    with pytest.raises(CommandError, match="no active agency"):
        run("add", "--kind", "ussd", "--provider", "log", "--name", "x", "--agency", "nope")


def test_deactivate_stops_the_channel() -> None:
    sms, _ussd = seed_demo_channels()
    run("deactivate", str(sms.pk))
    sms.refresh_from_db()
    assert not sms.active
    with pytest.raises(CommandError, match="No channel"):
        run("deactivate", "not-a-uuid")


def test_periodic_subcommands_report_counts_as_json() -> None:
    assert json.loads(run("send_due", "--json")) == {"attempted": 0}
    assert json.loads(run("expire_ussd_sessions", "--json")) == {"closed": 0}
