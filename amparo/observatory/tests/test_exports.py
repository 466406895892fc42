"""CSV and JSON exports of indicator views, the `amparo indicators` command, and who may export."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command

from amparo.core.models import Agency, AuditEntry
from amparo.observatory import compute as c
from amparo.observatory import exports
from amparo.observatory.permissions import ObservatoryAudit
from amparo.observatory.tests.test_compute import MARCH, SYSTEM, at, new_case


def populate() -> None:
    for _ in range(3):
        new_case(at(2), district="MZ0702", channel="sms")
    for _ in range(9):
        new_case(at(2), district="MZ1102", channel="helpline")


@pytest.mark.django_db
def test_csv_has_one_line_per_category_and_the_total_with_markers() -> None:
    populate()
    text = exports.export(SYSTEM, "OCSEA.REPORTS.RECEIVED", MARCH, [("province",)], "csv")
    lines = list(csv.DictReader(io.StringIO(text)))
    by_code = {line["category_1"]: line for line in lines if line["dimension_1"] == "province"}
    assert by_code["MZ07"]["value"] == "<5"
    assert by_code["MZ07"]["label_1"] == "Nampula"
    total = [line for line in lines if not line["dimension_1"]]
    assert len(total) == 1
    # The complement that hides Nampula's "<5" is Maputo City or the total (the province, district
    # and channel views of March are protected together, and one complement there protects all).
    line = [by_code["MZ11"]["value"], total[0]["value"]]
    assert "x" in line
    assert set(line) <= {"x", "9", "12"}
    assert all(v["value"] in ("0", "<5", "x") or int(v["value"]) >= 5 for v in lines)
    assert {line["period"] for line in lines} == {"2026-03"}


@pytest.mark.django_db
def test_json_never_holds_a_suppressed_number() -> None:
    populate()
    payload = json.loads(exports.export(SYSTEM, "OCSEA.REPORTS.RECEIVED", MARCH, [("channel",)], "json"))
    rows = {row["key"]["channel"]: row for row in payload["results"][0]["rows"]}
    assert rows["sms"] == {
        "key": {"channel": "sms"},
        "label": {"channel": "SMS"},
        "value": None,
        "display": "<5",
        "suppressed": True,
        "rate": None,
        "median": None,
    }
    total = payload["results"][0]["total"]
    # One of the helpline count and the total is the complement, and then it holds no number.
    hidden = [cell for cell in (rows["helpline"], total) if cell["suppressed"]]
    assert hidden
    assert all(cell == {**cell, "value": None, "display": "x"} for cell in hidden)
    assert rows["helpline"]["value"] in (None, 9)
    assert total["value"] in (None, 12)


@pytest.mark.django_db
def test_export_is_audited_with_field_names_only() -> None:
    populate()
    exports.export(SYSTEM, "OCSEA.REPORTS.RECEIVED", MARCH, [("province",)], "json")
    entry = AuditEntry.objects.get(action=ObservatoryAudit.EXPORT)
    assert entry.object_id == "OCSEA.REPORTS.RECEIVED/2026-03/national"
    assert entry.fields == ["by", "format"]


@pytest.mark.django_db
def test_supervisor_exports_only_their_own_agency(make_user) -> None:  # noqa: ANN001
    supervisor = make_user("agency_supervisor", agency="sernic")
    own, other = Agency.objects.get(code="sernic"), Agency.objects.get(code="prm")
    assert exports.export(supervisor, "OCSEA.REPORTS.RECEIVED", MARCH, [()], "csv", agency=own)
    with pytest.raises(PermissionDenied):
        exports.export(supervisor, "OCSEA.REPORTS.RECEIVED", MARCH, [()], "csv", agency=other)
    with pytest.raises(PermissionDenied):
        exports.export(supervisor, "OCSEA.REPORTS.RECEIVED", MARCH, [()], "csv")


@pytest.mark.django_db
def test_case_workers_cannot_export_statistics(make_user) -> None:  # noqa: ANN001
    investigator = make_user("investigator", agency="sernic")
    with pytest.raises(PermissionDenied):
        exports.export(investigator, "OCSEA.REPORTS.RECEIVED", MARCH, [()], "csv")
    assert not AuditEntry.objects.filter(action=ObservatoryAudit.EXPORT).exists()


@pytest.mark.django_db
def test_national_analyst_exports_the_country(make_user) -> None:  # noqa: ANN001
    analyst = make_user("analyst", agency="mgcas")
    assert exports.export(analyst, "OCSEA.REPORTS.RECEIVED", MARCH, [()], "json")


def test_spreadsheet_formulas_are_neutralised() -> None:
    assert exports._safe_text("=HYPERLINK(1)") == "'=HYPERLINK(1)"  # noqa: SLF001
    assert exports._safe_text("Nampula") == "Nampula"  # noqa: SLF001


@pytest.mark.django_db
def test_export_command_writes_a_file(tmp_path: Path) -> None:
    populate()
    out = tmp_path / "reports.csv"
    call_command(
        "indicators", "export", "--indicator", "OCSEA.REPORTS.RECEIVED", "--period", "2026Q1",
        "--by", "province", "--by", "channel", "--format", "csv", "-o", str(out),
    )  # fmt: skip
    lines = list(csv.DictReader(io.StringIO(out.read_text())))
    assert {line["dimension_1"] for line in lines} == {"province", "channel", ""}
    assert not [line for line in lines if line["value"].isdigit() and 0 < int(line["value"]) < 5]


@pytest.mark.django_db
def test_export_command_two_way_breakdown_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    populate()
    call_command(
        "indicators", "export", "--indicator", "OCSEA.REPORTS.RECEIVED", "--period", "2026-03",
        "--by", "province,channel", "--format", "json",
    )  # fmt: skip
    payload = json.loads(capsys.readouterr().out)
    assert payload["results"][0]["by"] in (["province", "channel"], ["province"], [])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--indicator", "NOPE", "--period", "2026"], "indicators list"),
        (["--indicator", "OCSEA.REPORTS.RECEIVED", "--period", "26"], "quarter"),
        (["--indicator", "OCSEA.REPORTS.RECEIVED", "--period", "2026", "--by", "sex"], "broken down by"),
        (["--indicator", "OCSEA.REPORTS.RECEIVED", "--period", "2026", "--agency", "nope"], "agency code"),
    ],
)
def test_export_command_errors_say_what_to_do(args: list[str], message: str, english) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("indicators", "export", *args)


@pytest.mark.django_db
def test_refresh_command_stores_only_published_values(capsys: pytest.CaptureFixture[str]) -> None:
    populate()
    call_command("indicators", "refresh", "--period", "2026-03", "--json")
    assert json.loads(capsys.readouterr().out)["views"] > 10
    stored = c.snapshot("OCSEA.REPORTS.RECEIVED", MARCH, ("province",))
    rows = {row["key"]["province"]: row for row in stored["rows"]}
    assert rows["MZ07"]["value"] is None
    assert rows["MZ07"]["display"] == "<5"
    # The views of a dashboard are protected together, as published: here even the total is hidden.
    assert stored["total"] == {"value": None, "display": "x", "suppressed": True}
    assert AuditEntry.objects.filter(action=ObservatoryAudit.SNAPSHOT_REFRESH).count() == 1


@pytest.mark.django_db
def test_refresh_task_covers_the_current_and_previous_periods() -> None:
    from amparo.observatory.tasks import refresh_indicators

    result = refresh_indicators.enqueue()
    assert result.return_value > 0
    current = c.current_periods()
    assert c.snapshot("OCSEA.REPORTS.RECEIVED", current[0]) is not None
    assert c.snapshot("OCSEA.REPORTS.RECEIVED", current[1]) is not None


@pytest.mark.django_db
def test_cached_result_shows_what_compute_shows_without_holding_small_counts() -> None:
    from amparo.observatory import indicators as reg
    from amparo.observatory.tasks import refresh_snapshots, snapshot_views

    populate()
    refresh_snapshots(SYSTEM, [MARCH], codes=["OCSEA.REPORTS.RECEIVED", "OCSEA.VICTIMS.CHILD"])
    views = snapshot_views(reg.get("OCSEA.REPORTS.RECEIVED"))
    live = c.compute_linked("OCSEA.REPORTS.RECEIVED", MARCH, views)[views.index(("province",))]
    cached = c.compute_cached("OCSEA.REPORTS.RECEIVED", MARCH, ("province",))
    assert [r.value.display() for r in cached.rows] == [r.value.display() for r in live.rows]
    assert cached.total.display() == live.total.display()
    assert all(r.value.value == 0 for r in cached.rows if r.value.suppressed)
    assert c.compute_cached("OCSEA.VICTIMS.CHILD", MARCH, ("sex", "age_band")).by == ("sex", "age_band")
    # a view that is not kept as a snapshot is computed on demand
    on_demand = c.compute_cached("OCSEA.REPORTS.RECEIVED", MARCH, ("province", "channel"))
    assert on_demand.total.value == 12  # a live Result carries its true (if hidden) total
