"""The vault's figure in `/metrics`: live items by hashing state (pending is the backlog)."""

from __future__ import annotations

import io

import pytest
from django.test import override_settings

from amparo.conftest import SYSTEM
from amparo.core.tests.metrics_support import TOKEN, scrape, value
from amparo.evidence import actions
from amparo.evidence.models import EvidenceItem


@pytest.mark.django_db
@override_settings(AMPARO_MONITORING_TOKEN=TOKEN)
def test_hashing_backlog(client, make_case, monkeypatch):
    monkeypatch.setenv("AMPARO_EVIDENCE_STORAGE", "memory")
    case = make_case()
    for n in range(3):
        actions.add_item(SYSTEM, case, io.BytesIO(b"synthetic bytes %d" % n), original_name="a.jpg")
    EvidenceItem.objects.filter(pk=EvidenceItem.objects.first().pk).update(hashing="pending")
    found = scrape(client)
    assert value(found, "amparo_evidence_hashing", state="done") == 2  # hashed at once by the test backend
    assert value(found, "amparo_evidence_hashing", state="pending") == 1
