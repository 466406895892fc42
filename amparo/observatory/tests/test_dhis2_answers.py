"""What DHIS2 answers to a push, in the shapes it publishes (data/dhis2/README.md): import summaries of
DHIS2 up to 2.37 (HTTP 200, even with status ERROR) and web messages of 2.38+ (HTTP 409 with WARNING when
some values conflict); personal access tokens; and mappings DHIS2 would add up wrongly."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from amparo.core.models import AuditEntry
from amparo.lib.env import ConfigError
from amparo.observatory import dhis2
from amparo.observatory.models import Dhis2DataElement, Dhis2Push
from amparo.observatory.permissions import ObservatoryAudit
from amparo.observatory.tests.test_compute import MARCH, SYSTEM
from amparo.observatory.tests.test_dhis2 import answer_json, cases_in_march
from amparo.observatory.tests.test_suppression_outputs import MAPPING

DATA = Path(__file__).parent / "data" / "dhis2"


def answer(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


class Dhis2Answers:
    """A DHIS2 on 127.0.0.1 that answers each push with the next queued (HTTP status, body)."""

    def __init__(self) -> None:
        self.queue: list[tuple[int, dict]] = []
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                fake.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                status, body = fake.queue.pop(0)
                answer_json(self, status, body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def dhis2_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Dhis2Answers]:
    fake = Dhis2Answers()
    monkeypatch.setenv("AMPARO_DHIS2_URL", fake.url)
    monkeypatch.setenv("AMPARO_DHIS2_TOKEN", "d2pat_synthetic0000000000000000000000000")
    monkeypatch.delenv("AMPARO_DHIS2_USERNAME", raising=False)
    monkeypatch.delenv("AMPARO_DHIS2_PASSWORD", raising=False)
    monkeypatch.setenv("AMPARO_DHIS2_RETRY_SECONDS", "0")
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()


@pytest.fixture
def mapped(db: None) -> None:  # noqa: ARG001
    dhis2.load_mapping(SYSTEM, json.dumps(MAPPING), "json")
    cases_in_march()


@pytest.mark.parametrize(
    ("name", "status", "counts", "conflicts"),
    [
        ("summary_237_success.json", "OK", (14, 3, 0, 0), 0),
        ("summary_237_error_nothing_imported.json", "ERROR", (0, 0, 17, 0), 2),
        ("webmessage_238_ok.json", "OK", (9, 8, 0, 0), 0),
        ("webmessage_238_conflict_warning.json", "WARNING", (12, 0, 2, 0), 2),
        ("webmessage_238_conflict_error.json", "ERROR", (0, 0, 17, 0), 1),
    ],
)
def test_import_summaries_are_read_at_the_top_level_and_under_response(
    name: str, status: str, counts: tuple[int, int, int, int], conflicts: int
) -> None:
    summary = dhis2.parse_import_summary(answer(name))
    assert summary is not None
    assert summary.status == status
    assert (summary.imported, summary.updated, summary.ignored, summary.deleted) == counts
    assert len(summary.conflicts) == conflicts
    assert all(c.object and c.value for c in summary.conflicts)


def test_a_web_message_without_an_import_summary_is_not_read_as_one() -> None:
    assert dhis2.parse_import_summary(answer("webmessage_409_without_summary.json")) is None
    assert dhis2.parse_import_summary("<html>") is None


def push_entries() -> list[tuple[str, str]]:
    actions = [
        ObservatoryAudit.DHIS2_PUSH,
        ObservatoryAudit.DHIS2_PUSH_PARTIAL,
        ObservatoryAudit.DHIS2_PUSH_FAILED,
    ]
    return list(AuditEntry.objects.filter(action__in=actions).values_list("action", "object_type"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("http", "name"),
    [(200, "summary_237_error_nothing_imported.json"), (409, "webmessage_238_conflict_error.json")],
)
def test_an_error_that_imported_nothing_fails_the_push_at_once_with_its_conflicts(
    mapped: None, dhis2_server: Dhis2Answers, http: int, name: str
) -> None:
    dhis2_server.queue.append((http, answer(name)))
    with pytest.raises(dhis2.Dhis2Refused, match="imported none") as refused:
        dhis2.push(MARCH, attempts=4, delay=0, sleep=lambda _s: None)
    assert len(dhis2_server.requests) == 1  # sending the same data again cannot help
    assert refused.value.summary.conflicts
    row = Dhis2Push.objects.get()
    assert row.outcome == Dhis2Push.Outcome.FAILED
    assert row.import_status == "ERROR"
    assert [c["object"] for c in row.conflicts] == [c.object for c in refused.value.summary.conflicts]
    assert push_entries() == [(ObservatoryAudit.DHIS2_PUSH_FAILED, "observatory.dhis2push")]
    assert AuditEntry.objects.get(action=ObservatoryAudit.DHIS2_PUSH_FAILED).object_id == str(row.pk)


@pytest.mark.django_db
def test_a_warning_is_a_partial_import_with_counts_and_every_conflict_kept_and_not_resent(
    mapped: None, dhis2_server: Dhis2Answers
) -> None:
    dhis2_server.queue.append((409, answer("webmessage_238_conflict_warning.json")))
    outcome = dhis2.push(MARCH, attempts=4, delay=0, sleep=lambda _s: None)
    assert len(dhis2_server.requests) == 1
    assert outcome.partial
    assert outcome.summary.imported == 12
    assert outcome.summary.ignored == 2
    row = Dhis2Push.objects.get()
    assert (row.outcome, row.import_status, row.imported, row.ignored) == ("partial", "WARNING", 12, 2)
    assert [(c["object"], c["errorCode"], c["property"]) for c in row.conflicts] == [
        ("cocSmsText1", "E7611", "categoryOptionCombo"),
        ("ouProvinc11", "E7603", "orgUnit"),
    ]
    assert push_entries() == [(ObservatoryAudit.DHIS2_PUSH_PARTIAL, "observatory.dhis2push")]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["summary_237_success.json", "webmessage_238_ok.json"])
def test_a_successful_import_is_audited_as_a_push_with_its_counts(
    mapped: None, dhis2_server: Dhis2Answers, name: str
) -> None:
    dhis2_server.queue.append((200, answer(name)))
    outcome = dhis2.push(MARCH, attempts=1)
    assert not outcome.partial
    assert "imported" in outcome.detail
    assert Dhis2Push.objects.get().outcome == Dhis2Push.Outcome.IMPORTED
    assert push_entries() == [(ObservatoryAudit.DHIS2_PUSH, "observatory.dhis2push")]


@pytest.mark.django_db
def test_a_409_without_a_summary_is_a_failure_not_retried_with_dhis2s_message(
    mapped: None, dhis2_server: Dhis2Answers
) -> None:
    dhis2_server.queue.append((409, answer("webmessage_409_without_summary.json")))
    with pytest.raises(dhis2.Dhis2Error, match="Data set not found"):
        dhis2.push(MARCH, attempts=3, delay=0, sleep=lambda _s: None)
    assert len(dhis2_server.requests) == 1
    assert push_entries() == [(ObservatoryAudit.DHIS2_PUSH_FAILED, "observatory.dhis2push")]


@pytest.mark.django_db
def test_server_errors_are_still_retried_then_the_answer_read(
    mapped: None, dhis2_server: Dhis2Answers
) -> None:
    dhis2_server.queue += [(503, {}), (502, {}), (200, answer("webmessage_238_ok.json"))]
    waits: list[float] = []
    dhis2.push(MARCH, attempts=4, delay=1, sleep=waits.append)
    assert waits == [1, 2]
    assert len(dhis2_server.requests) == 3


@pytest.mark.django_db
def test_push_command_prints_the_counts_and_every_conflict(
    mapped: None, dhis2_server: Dhis2Answers, capsys: pytest.CaptureFixture[str]
) -> None:
    dhis2_server.queue.append((409, answer("webmessage_238_conflict_warning.json")))
    call_command("dhis2", "push", "--period", "202603", "--now")
    out = capsys.readouterr().out
    assert "Partly imported" in out
    assert "imported 12" in out
    assert "ignored 2" in out
    assert "cocSmsText1 [E7611]: Category option combo not found" in out
    assert "ouProvinc11 [E7603]: Organisation unit not found" in out

    dhis2_server.queue.append((409, answer("webmessage_238_conflict_warning.json")))
    call_command("dhis2", "push", "--period", "202603", "--now", "--json")
    printed = json.loads(capsys.readouterr().out)
    assert printed["import_status"] == "WARNING"
    assert printed["partial"] is True
    assert (printed["imported"], printed["ignored"]) == (12, 2)
    assert [c["object"] for c in printed["conflicts"]] == ["cocSmsText1", "ouProvinc11"]


@pytest.mark.django_db
def test_push_command_fails_with_the_conflicts_when_nothing_was_imported(
    mapped: None, dhis2_server: Dhis2Answers, capsys: pytest.CaptureFixture[str]
) -> None:
    dhis2_server.queue.append((409, answer("webmessage_238_conflict_error.json")))
    with pytest.raises(CommandError, match="imported none"):
        call_command("dhis2", "push", "--period", "202603", "--now")
    assert "202603 [E7641]: Period: `202603` is after latest open future period" in capsys.readouterr().err


@pytest.mark.django_db
def test_a_personal_access_token_is_sent_as_apitoken_without_basic_auth(
    mapped: None, dhis2_server: Dhis2Answers
) -> None:
    dhis2_server.queue.append((200, answer("webmessage_238_ok.json")))
    dhis2.push(MARCH, attempts=1)
    headers = {k.lower(): v for k, v in dhis2_server.requests[0]["headers"].items()}
    assert headers["authorization"] == "ApiToken d2pat_synthetic0000000000000000000000000"


def test_a_token_and_a_password_together_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AMPARO_DHIS2_URL", "https://dhis2.example.org")
    token = tmp_path / "token"
    token.write_text("d2pat_fromafile\n")
    monkeypatch.delenv("AMPARO_DHIS2_TOKEN", raising=False)
    monkeypatch.setenv("AMPARO_DHIS2_TOKEN_FILE", str(token))
    monkeypatch.delenv("AMPARO_DHIS2_USERNAME", raising=False)
    monkeypatch.delenv("AMPARO_DHIS2_PASSWORD", raising=False)
    client = dhis2.client_from_env()
    assert client.headers["Authorization"] == "ApiToken d2pat_fromafile"
    assert client.auth is None
    monkeypatch.setenv("AMPARO_DHIS2_USERNAME", "amparo")
    monkeypatch.setenv("AMPARO_DHIS2_PASSWORD", "s3cret-pass")
    with pytest.raises(ConfigError, match="not both"):
        dhis2.client_from_env()


TOTAL_AND_BREAKDOWN = {
    "dataElements": [
        {"indicator": "OCSEA.VICTIMS.CHILD", "dataElement": "deVictims01"},
        {
            "indicator": "OCSEA.VICTIMS.CHILD",
            "by": "sex",
            "category": "female",
            "dataElement": "deVictims01",
            "categoryOptionCombo": "cocFemale01",
        },
    ],
    "orgUnits": [],
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (TOTAL_AND_BREAKDOWN, "total and its breakdown"),
        (
            {
                "dataElements": [
                    {"indicator": "OCSEA.REPORTS.RECEIVED", "dataElement": "deShared001"},
                    {"indicator": "OCSEA.VICTIMS.CHILD", "dataElement": "deShared001"},
                ]
            },
            "more than one indicator",
        ),
        (
            {
                "dataElements": [
                    {
                        "indicator": "OCSEA.VICTIMS.CHILD",
                        "by": "sex",
                        "category": "female",
                        "dataElement": "deVictims01",
                        "categoryOptionCombo": "cocFemale01",
                    },
                    {
                        "indicator": "OCSEA.VICTIMS.CHILD",
                        "by": "sex",
                        "category": "male",
                        "dataElement": "deVictims01",
                        "categoryOptionCombo": "cocFemale01",
                    },
                ]
            },
            "same category option combo",
        ),
    ],
)
def test_mapping_check_and_load_refuse_what_dhis2_would_count_twice(
    mapping: dict, message: str, tmp_path: Path, english: None
) -> None:
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(mapping))
    with pytest.raises(CommandError, match=message):
        call_command("dhis2", "mapping", "check", str(path))
    with pytest.raises(CommandError, match=message):
        call_command("dhis2", "mapping", "load", str(path))
    assert not Dhis2DataElement.objects.exists()


@pytest.mark.django_db
def test_the_example_mapping_passes_the_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = tmp_path / "mapping.json"
    call_command("dhis2", "mapping", "example", "-o", str(example))
    call_command("dhis2", "mapping", "check", str(example), "--json")
    assert json.loads(capsys.readouterr().out)["ok"] is True
    totals = [e["dataElement"] for e in json.loads(example.read_text())["dataElements"] if not e.get("by")]
    breakdowns = [e["dataElement"] for e in json.loads(example.read_text())["dataElements"] if e.get("by")]
    assert breakdowns
    assert not set(totals) & set(breakdowns)


@pytest.mark.django_db
def test_mapping_check_without_a_file_checks_the_loaded_mapping(english: None) -> None:
    Dhis2DataElement.objects.bulk_create(  # loaded before the rule existed
        [
            Dhis2DataElement(
                indicator=e["indicator"],
                dimension=e.get("by", ""),
                category=e.get("category", ""),
                data_element=e["dataElement"],
                category_option_combo=e.get("categoryOptionCombo", ""),
            )
            for e in TOTAL_AND_BREAKDOWN["dataElements"]
        ]
    )
    with pytest.raises(CommandError, match="loaded mapping.*total and its breakdown"):
        call_command("dhis2", "mapping", "check")
