"""DHIS2: the mapping file, the dataValueSets payload, and the push against a local fake DHIS2."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amparo.core.models import AuditEntry
from amparo.lib.env import ConfigError
from amparo.observatory import dhis2
from amparo.observatory.compute import Period
from amparo.observatory.models import Dhis2DataElement, Dhis2OrgUnit, Dhis2Push
from amparo.observatory.permissions import ObservatoryAudit
from amparo.observatory.tests.test_compute import MARCH, SYSTEM, at, new_case
from amparo.observatory.tests.test_suppression_outputs import MAPPING

REQUIRED = {"dataElement", "period", "orgUnit", "value"}


def answer_json(handler: BaseHTTPRequestHandler, status: int, payload: object) -> None:
    """Answer a request of a fake DHIS2 with ``payload`` as JSON."""
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class FakeDhis2:
    """A DHIS2 /api/dataValueSets on 127.0.0.1 that checks what it receives.

    It answers 503 to the first ``fail_first`` requests (to exercise the retries), 401 to wrong
    credentials, 409 to a payload missing a required key or carrying a small count, else 200.
    """

    def __init__(self, fail_first: int = 1) -> None:
        self.fail_first = fail_first
        self.requests: list[dict] = []
        self.problems: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append({"path": self.path, "body": body})
                expected = "Basic " + base64.b64encode(b"amparo:s3cret-pass").decode()
                if self.headers.get("Authorization") != expected:
                    return self.answer(401, {"status": "ERROR"})
                if len(fake.requests) <= fake.fail_first:
                    return self.answer(503, {"status": "ERROR"})
                if not self.path.startswith("/api/dataValueSets"):
                    return self.answer(404, {})
                for value in body.get("dataValues", []):
                    if not value.keys() >= REQUIRED:
                        fake.problems.append("missing key")
                    elif not value["value"].replace(".", "", 1).isdigit():
                        fake.problems.append("not a number")
                    elif "." not in value["value"] and 0 < int(value["value"]) < 5:
                        fake.problems.append("small count sent")
                if fake.problems:
                    return self.answer(409, {"status": "ERROR"})
                count = len(body.get("dataValues", []))
                return self.answer(
                    200, {"status": "SUCCESS", "importCount": {"imported": count, "updated": 0}}
                )

            def answer(self, status: int, payload: dict) -> None:
                answer_json(self, status, payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeDhis2:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_dhis2(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDhis2]:
    with FakeDhis2() as fake:
        monkeypatch.setenv("AMPARO_DHIS2_URL", fake.url)
        monkeypatch.setenv("AMPARO_DHIS2_USERNAME", "amparo")
        monkeypatch.setenv("AMPARO_DHIS2_PASSWORD", "s3cret-pass")
        monkeypatch.setenv("AMPARO_DHIS2_RETRY_SECONDS", "0")
        yield fake


def cases_in_march() -> None:
    for _ in range(7):
        new_case(at(3), district="MZ0702", channel="helpline")
    for _ in range(2):
        new_case(at(3), district="MZ0702", channel="sms")
    for _ in range(8):
        new_case(at(3), district="MZ1102", channel="helpline")


@pytest.mark.django_db
def test_payload_has_dhis2_period_and_mapped_org_units_and_no_suppressed_values() -> None:
    dhis2.load_mapping(SYSTEM, json.dumps(MAPPING), "json")
    cases_in_march()
    values = dhis2.build_payload(MARCH)["dataValues"]
    assert {v["period"] for v in values} == {"202603"}
    national = {v.get("categoryOptionCombo", ""): v["value"] for v in values if v["orgUnit"] == "ouMozambiqu"}
    assert national[""] == "17"
    assert "cocSmsText1" not in national  # 2 SMS reports: suppressed, so not sent at all
    assert all(not (v["value"].isdigit() and 0 < int(v["value"]) < 5) for v in values)


@pytest.mark.django_db
def test_push_retries_after_a_failure_and_audits_once(fake_dhis2: FakeDhis2) -> None:
    dhis2.load_mapping(SYSTEM, json.dumps(MAPPING), "json")
    cases_in_march()
    waits: list[float] = []
    outcome = dhis2.push(MARCH, attempts=3, delay=0.5, sleep=waits.append)
    assert len(fake_dhis2.requests) == 2  # 503 first, then accepted
    assert waits == [0.5]
    assert fake_dhis2.problems == []
    assert outcome.status == 200
    assert outcome.sent == len(fake_dhis2.requests[-1]["body"]["dataValues"])
    assert outcome.sent > 0
    assert "imported" in outcome.detail
    assert fake_dhis2.requests[-1]["path"].startswith("/api/dataValueSets")
    entries = AuditEntry.objects.filter(
        action__in=[ObservatoryAudit.DHIS2_PUSH, ObservatoryAudit.DHIS2_PUSH_FAILED]
    )
    assert [(e.action, e.object_type, e.actor_channel) for e in entries] == [
        (ObservatoryAudit.DHIS2_PUSH, "observatory.dhis2push", "dhis2")
    ]
    assert Dhis2Push.objects.get(pk=entries[0].object_id).period == "202603"


@pytest.mark.django_db
def test_push_gives_up_after_its_attempts_and_says_why(fake_dhis2: FakeDhis2) -> None:
    fake_dhis2.fail_first = 10
    with pytest.raises(dhis2.Dhis2Error, match="HTTP 503"):
        dhis2.push(MARCH, attempts=3, delay=1, sleep=lambda _s: None)
    assert len(fake_dhis2.requests) == 3
    assert AuditEntry.objects.filter(action=ObservatoryAudit.DHIS2_PUSH_FAILED).count() == 1


@pytest.mark.django_db
def test_wrong_credentials_are_named_without_the_password(
    fake_dhis2: FakeDhis2, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMPARO_DHIS2_PASSWORD", "wrong")
    with pytest.raises(dhis2.Dhis2Error, match="AMPARO_DHIS2_USERNAME") as error:
        dhis2.push(MARCH, attempts=1)
    assert "wrong" not in str(error.value)


@pytest.mark.django_db
def test_push_task_sends_through_the_queue(fake_dhis2: FakeDhis2) -> None:
    from amparo.observatory.tasks import push_to_dhis2

    dhis2.load_mapping(SYSTEM, json.dumps(MAPPING), "json")
    cases_in_march()
    result = push_to_dhis2.enqueue("2026-03")  # the immediate backend in tests
    assert result.return_value > 0
    assert len(fake_dhis2.requests) == 2


def test_password_can_come_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "dhis2-password"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("AMPARO_DHIS2_URL", "https://dhis2.example.org")
    monkeypatch.setenv("AMPARO_DHIS2_USERNAME", "amparo")
    monkeypatch.delenv("AMPARO_DHIS2_PASSWORD", raising=False)
    monkeypatch.setenv("AMPARO_DHIS2_PASSWORD_FILE", str(secret))
    client = dhis2.client_from_env()
    assert isinstance(client, dhis2.HttpDhis2Client)
    assert client.auth == ("amparo", "from-a-file")
    assert client.url == "https://dhis2.example.org/api/dataValueSets"


def test_without_a_url_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AMPARO_DHIS2_URL", raising=False)
    client = dhis2.client_from_env()
    assert isinstance(client, dhis2.NullDhis2Client)
    assert client.push({"dataValues": [{"value": "9"}]}).sent == 0


def test_a_url_without_credentials_or_scheme_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMPARO_DHIS2_URL", "https://dhis2.example.org")
    monkeypatch.delenv("AMPARO_DHIS2_USERNAME", raising=False)
    monkeypatch.delenv("AMPARO_DHIS2_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="AMPARO_DHIS2_USERNAME"):
        dhis2.client_from_env()
    monkeypatch.setenv("AMPARO_DHIS2_URL", "ftp://dhis2.example.org")
    with pytest.raises(ConfigError, match="https://"):
        dhis2.client_from_env()


def test_every_client_conforms_to_the_protocol() -> None:
    assert isinstance(dhis2.NullDhis2Client(), dhis2.Dhis2Client)
    assert isinstance(dhis2.HttpDhis2Client("https://x.example", "u", "p"), dhis2.Dhis2Client)


@pytest.mark.django_db
def test_csv_mapping_loads_and_replaces_the_previous_one(tmp_path: Path) -> None:
    dhis2.load_mapping(SYSTEM, json.dumps(MAPPING), "json")
    path = tmp_path / "mapping.csv"
    path.write_text(
        "type,indicator,by,category,dataElement,categoryOptionCombo,area,orgUnit\n"
        "dataElement,OCSEA.VICTIMS.CHILD,sex,female,deVictimSex,cocFemale01,,\n"
        "dataElement,OCSEA.VICTIMS.CHILD,,,deVictims01,,,\n"
        "orgUnit,,,,,,MZ0702,ouNampulaCt\n"
    )
    call_command("dhis2", "mapping", "load", str(path))
    assert Dhis2DataElement.objects.count() == 2
    assert list(Dhis2OrgUnit.objects.values_list("area", "org_unit")) == [("MZ0702", "ouNampulaCt")]
    assert AuditEntry.objects.filter(action=ObservatoryAudit.DHIS2_MAPPING_LOAD).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"indicator": "NOPE", "dataElement": "deReports01"}, "unknown indicator"),
        ({"indicator": "OCSEA.REPORTS.RECEIVED", "dataElement": "bad"}, "DHIS2 identifier"),
        (
            {
                "indicator": "OCSEA.REPORTS.RECEIVED",
                "by": "sex",
                "category": "female",
                "dataElement": "deReports01",
            },
            "cannot be broken down",
        ),
        (
            {
                "indicator": "OCSEA.REPORTS.RECEIVED",
                "by": "channel",
                "category": "pigeon",
                "dataElement": "deReports01",
            },
            "unknown category",
        ),
        ({"indicator": "OCSEA.REPORTS.RECEIVED", "by": "channel", "dataElement": "deReports01"}, "both"),
    ],
)
def test_a_bad_mapping_entry_is_refused_and_nothing_is_loaded(
    entry: dict, message: str, tmp_path: Path, english
) -> None:
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps({"dataElements": [entry], "orgUnits": []}))
    with pytest.raises(CommandError, match=message):
        call_command("dhis2", "mapping", "load", str(path))
    assert not Dhis2DataElement.objects.exists()


@pytest.mark.django_db
def test_unknown_area_is_refused() -> None:
    with pytest.raises(dhis2.MappingError, match="P-code"):
        dhis2.parse_mapping(json.dumps({"orgUnits": [{"area": "ZZ99", "orgUnit": "ouSomewhere"}]}), "json")


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))),
    st.sampled_from(["json", "csv"]),
)
def test_mapping_parser_refuses_garbage_with_a_mapping_error_only(text: str, fmt: str) -> None:
    try:
        elements, units = dhis2.parse_mapping(text, fmt)
    except dhis2.MappingError:
        return
    assert all(e.indicator for e in elements)
    assert all(u.org_unit for u in units)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["indicator", "by", "category", "dataElement", "categoryOptionCombo"]),
            st.one_of(
                st.text(max_size=12),
                st.sampled_from(["OCSEA.REPORTS.RECEIVED", "channel", "sms", "deReports01"]),
            ),
        ),
        max_size=4,
    )
)
def test_mapping_parser_accepts_only_valid_entries(entries: list[dict]) -> None:
    try:
        elements, _units = dhis2.parse_mapping(json.dumps({"dataElements": entries}), "json")
    except dhis2.MappingError:
        return
    for element in elements:
        assert len(element.data_element) == 11


@pytest.mark.django_db
def test_export_command_writes_a_data_value_set(tmp_path: Path) -> None:
    dhis2.load_mapping(SYSTEM, json.dumps(MAPPING), "json")
    cases_in_march()
    out = tmp_path / "out.json"
    call_command("dhis2", "export", "--period", "202603", "-o", str(out))
    payload = json.loads(out.read_text())
    assert payload["dataValues"]
    assert {v["period"] for v in payload["dataValues"]} == {"202603"}
    assert AuditEntry.objects.filter(action=ObservatoryAudit.DHIS2_EXPORT, object_id="202603").exists()


@pytest.mark.django_db
def test_export_command_refuses_a_bad_period(english) -> None:
    with pytest.raises(CommandError, match="quarter"):
        call_command("dhis2", "export", "--period", "2026-13")


def test_period_has_dhis2_identifiers() -> None:
    assert Period.parse("202610").dhis2() == "202610"
    assert Period.parse("2026Q3").dhis2() == "2026Q3"
    assert Period.parse("2026").dhis2() == "2026"


@pytest.mark.django_db
def test_example_mapping_loads_and_exports_after_a_fresh_start(tmp_path: Path) -> None:
    example = tmp_path / "mapping.json"
    call_command("dhis2", "mapping", "example", "-o", str(example))
    call_command("dhis2", "mapping", "load", str(example))
    assert Dhis2OrgUnit.objects.count() == 12  # the country and its 11 provinces
    cases_in_march()
    out = tmp_path / "out.json"
    call_command("dhis2", "export", "--period", "2026-03", "-o", str(out))
    values = json.loads(out.read_text())["dataValues"]
    national_total = dhis2._placeholder_uid("de", "OCSEA.REPORTS.RECEIVED")  # noqa: SLF001
    assert any(v["dataElement"] == national_total and v["value"] == "17" for v in values)


@pytest.mark.django_db
def test_export_without_a_mapping_uses_the_example_and_push_refuses(tmp_path: Path) -> None:
    cases_in_march()
    out = tmp_path / "out.json"
    call_command("dhis2", "export", "--period", "202603", "-o", str(out))
    assert json.loads(out.read_text())["dataValues"]
    assert not Dhis2DataElement.objects.exists()  # nothing stored
    with pytest.raises(CommandError, match="mapping load"):
        call_command("dhis2", "push", "--period", "202603", "--now")
