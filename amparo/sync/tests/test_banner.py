"""Every page of a district node says when it last synchronised, how many changes wait and whether it is
overdue; the national server shows no such line."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from amparo.core.models import District
from amparo.core.tests.test_web import sign_in
from amparo.sync.models import NodeState


@pytest.fixture
def district_node(settings, db):  # noqa: ANN001, ANN201
    settings.NODE_ROLE = "district"
    settings.ORIGIN = "node-alpha"
    return NodeState.objects.create(
        node_id=uuid.uuid4(),
        name="alpha",
        district=District.objects.filter(province_id="MZ07").order_by("pk").first(),
        upstream="http://127.0.0.1:9/",
        private_key="unused in this test",
    )


@pytest.fixture
def staff_client(client, make_user):  # noqa: ANN001, ANN201
    sign_in(client, make_user("helpline_operator", agency="linha-fala-crianca"))
    return client


def test_a_node_that_never_synchronised_warns_on_every_page(district_node, staff_client) -> None:  # noqa: ANN001
    page = staff_client.get("/staff/").content.decode()
    assert 'id="sync-state"' in page
    assert "sync-banner warn" in page
    assert "Ainda não houve nenhuma sincronização" in page or "Never synchronised" in page


def test_pending_changes_are_counted_and_a_recent_sync_does_not_warn(
    district_node, staff_client, make_case
) -> None:  # noqa: ANN001
    district_node.last_success_at = timezone.now() - dt.timedelta(minutes=5)
    district_node.save()
    make_case()
    make_case()
    page = staff_client.get("/staff/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'class="sync-banner"' in page  # not overdue: no warning class
    assert "sync-banner warn" not in page
    assert "2 changes wait" in page or "2 alterações" in page or "2 mudanças" in page


def test_a_node_silent_for_longer_than_the_limit_warns(district_node, staff_client, settings) -> None:  # noqa: ANN001
    settings.SYNC_WARN_AFTER_HOURS = 24
    district_node.last_success_at = timezone.now() - dt.timedelta(hours=25)
    district_node.save()
    page = staff_client.get("/staff/").content.decode()
    assert "sync-banner warn" in page


def test_the_national_server_shows_no_sync_line(staff_client, db) -> None:  # noqa: ANN001
    assert 'id="sync-state"' not in staff_client.get("/staff/").content.decode()
