"""Synchronisation's figure in `/metrics`: how long each active district node has been silent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from amparo.core.models import District
from amparo.core.tests.metrics_support import TOKEN, scrape, value
from amparo.sync.models import Node


@pytest.mark.django_db
@override_settings(AMPARO_MONITORING_TOKEN=TOKEN)
def test_silent_district_nodes(client):
    district = District.objects.get(pk="MZ0702")
    Node.objects.create(name="pemba", district=district, public_key="x" * 44,
                        last_seen_at=timezone.now() - dt.timedelta(hours=80))  # fmt: skip
    Node.objects.create(name="never", district=district, public_key="y" * 44)
    Node.objects.create(name="revoked", district=district, public_key="z" * 44, revoked_at=timezone.now())
    found = scrape(client)
    assert (
        80 * 3600
        <= value(found, "amparo_sync_node_silence_seconds", node="pemba", district="MZ0702")
        < 81 * 3600
    )
    assert value(found, "amparo_sync_node_silence_seconds", node="never", district="MZ0702") == float("inf")
    assert ("amparo_sync_node_silence_seconds", (("district", "MZ0702"), ("node", "revoked"))) not in found
