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
    sms.refresh_from_db()
    ussd.refresh_from_db()
    assert by_kind["sms"]["webhooks"] == {
        "sms_inbound": f"https://amparo.gov.mz/channels/{sms.pk}/sms/inbound?token={sms.webhook_secret}",
        "sms_delivery": f"https://amparo.gov.mz/channels/{sms.pk}/sms/delivery?token={sms.webhook_secret}",
    }
    assert by_kind["ussd"]["webhooks"] == {
        "ussd": f"https://amparo.gov.mz/channels/{ussd.pk}/ussd?token={ussd.webhook_secret}"
    }
    assert len(sms.webhook_secret) >= 43  # 256 random bits
    assert sms.webhook_secret != ussd.webhook_secret


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


def test_rotate_secret_prints_new_urls_the_old_ones_stop_working_and_the_secret_is_never_audited(
    client, caplog: pytest.LogCaptureFixture
) -> None:
    from amparo.intake.webhooks import webhook_query

    sms, _ussd = seed_demo_channels()
    old_query = webhook_query(sms)
    form = {"from": "+258841234567", "text": "Ola", "id": "ATXid_1", "to": "1458"}
    with caplog.at_level("DEBUG"):
        out = run("rotate-secret", str(sms.pk))
    sms.refresh_from_db()
    assert f"sms/inbound?token={sms.webhook_secret}" in out
    assert sms.webhook_secret not in caplog.text
    assert client.post(f"/channels/{sms.pk}/sms/inbound{old_query}", form).status_code == 404
    assert client.post(f"/channels/{sms.pk}/sms/inbound{webhook_query(sms)}", form).status_code == 200
    entry = AuditEntry.objects.filter(action=ChannelAudit.CHANNEL_UPDATE).get()
    assert entry.fields == ["webhook_secret"]
    assert sms.webhook_secret not in json.dumps(list(AuditEntry.objects.values()), default=str)


def test_a_channel_without_a_secret_says_how_to_get_one() -> None:
    sms, _ussd = seed_demo_channels()
    Channel.objects.filter(pk=sms.pk).update(webhook_secret="")
    out = run("list")
    assert f"amparo channels rotate-secret {sms.pk}" in out


def test_allow_from_checks_each_network_and_any_clears_the_list() -> None:
    sms, _ussd = seed_demo_channels()
    with pytest.raises(CommandError, match="'196.201.214.0/33' is not an address or a network"):
        run("allow-from", str(sms.pk), "196.201.214.0/33")
    assert "196.201.214.0/24, 2001:db8::/32" in run(
        "allow-from", str(sms.pk), "196.201.214.0/24,2001:db8::/32"
    )
    sms.refresh_from_db()
    assert sms.webhook_allow == ["196.201.214.0/24", "2001:db8::/32"]
    assert "any address" in run("allow-from", str(sms.pk), "any")
    sms.refresh_from_db()
    assert sms.webhook_allow == []
