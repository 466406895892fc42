"""`amparo node init` takes the node's origin from its credential and records it in the node's own
configuration, so that AMPARO_ORIGIN need not be exported by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from amparo.core import audit
from amparo.core.models import AuditEntry, District
from amparo.sync import actions
from amparo.sync.models import NodeState
from amparo.sync.permissions import SyncAudit


@pytest.fixture
def credential(db: None, tmp_path: Path, settings) -> Path:  # noqa: ANN001, ARG001
    _node, data = actions.register_node(
        audit.Actor.system("tests"), name="lichinga", district=District.objects.get(pk="MZ0702")
    )
    path = tmp_path / "lichinga.json"
    path.write_text(json.dumps(data))
    settings.NODE_ROLE = "district"
    settings.DATA_DIR = tmp_path / "var"
    return path


def test_init_without_amparo_origin_records_the_credentials_origin(
    credential: Path,
    settings,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
) -> None:
    monkeypatch.delenv("AMPARO_ORIGIN", raising=False)
    settings.ORIGIN = "national"  # what the settings give when nothing is exported or recorded
    call_command("node", "init", "--upstream", "https://amparo.example.org/", "--credential", str(credential))
    assert (settings.DATA_DIR / "origin").read_text(encoding="utf-8") == "node-lichinga\n"
    assert settings.ORIGIN == "node-lichinga"
    assert NodeState.objects.get().upstream == "https://amparo.example.org"
    entry = AuditEntry.objects.get(action=SyncAudit.NODE_INIT)
    assert entry.chain == "node-lichinga"  # the node's own chain from its first entry


def test_an_exported_origin_that_differs_from_the_credential_is_refused(
    credential: Path,
    settings,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
) -> None:
    monkeypatch.setenv("AMPARO_ORIGIN", "node-other")
    with pytest.raises(CommandError, match="AMPARO_ORIGIN=node-lichinga"):
        call_command(
            "node", "init", "--upstream", "https://amparo.example.org", "--credential", str(credential)
        )
    assert not NodeState.objects.exists()
    assert not (settings.DATA_DIR / "origin").exists()


def test_an_exported_origin_that_matches_is_used_and_nothing_is_recorded(
    credential: Path,
    settings,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
) -> None:
    monkeypatch.setenv("AMPARO_ORIGIN", "node-lichinga")
    settings.ORIGIN = "node-lichinga"
    call_command("node", "init", "--upstream", "https://amparo.example.org", "--credential", str(credential))
    assert NodeState.objects.get().name == "lichinga"
    assert not (settings.DATA_DIR / "origin").exists()


def test_settings_read_the_recorded_origin_on_a_district_node(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    (tmp_path / "origin").write_text("node-lichinga\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AMPARO_", "DATABASE_URL", "DJANGO_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "amparo.settings",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'amparo.sqlite3'}",  # a district node runs on SQLite
            "AMPARO_SECRET_KEY": "x" * 50,
            "AMPARO_MASTER_KEY": "A" * 43 + "=",
            "AMPARO_DATA_DIR": str(tmp_path),
        }
    )
    code = "from django.conf import settings; print(settings.ORIGIN)"
    for role, expected in [("district", "node-lichinga"), ("national", "national")]:
        env["AMPARO_NODE_ROLE"] = role
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert done.stdout.strip() == expected
