"""Encrypted values of rows whose key the database assigns (an SMS: BigAutoField) are bound to their row too."""

from __future__ import annotations

import pytest

from amparo.cases.tests.test_encryption_at_rest import raw, write_raw
from amparo.core import audit, crypto

pytestmark = pytest.mark.django_db


def test_rows_whose_key_the_database_assigns_are_bound_too(db):
    from amparo.intake.models import InboundMessage

    fields = {f.name for f in InboundMessage._meta.concrete_fields}
    assert type(InboundMessage._meta.pk).__name__ == "BigAutoField"
    assert {"sender", "text"} <= fields
    channel = _any_channel()
    first = InboundMessage.objects.create(
        channel=channel, provider_message_id="m1", sender="+258840000001", text="primeira"
    )
    second = InboundMessage.objects.create(
        channel=channel, provider_message_id="m2", sender="+258840000002", text="segunda"
    )
    assert InboundMessage.objects.get(pk=first.pk).text == "primeira"
    write_raw("intake_inboundmessage", "text", second.pk, raw("intake_inboundmessage", "text", first.pk))
    with pytest.raises(crypto.IntegrityAlarm, match="for its row"):
        InboundMessage.objects.get(pk=second.pk).text  # noqa: B018


def _any_channel():  # noqa: ANN202
    from amparo.intake.providers import create_channel

    return create_channel(
        audit.Actor.system("tests"), name="SMS test", kind="sms", provider="log", short_code="1458"
    )
