"""Disclosure control holds in every output of the indicators: the Result API, CSV, JSON and DHIS2.

Random small populations of cases are written through the case actions; each output is read back
the way a reader would see it and handed to the attackers of amparo/lib/tests/test_disclosure.py
(line solving, exact linear algebra, bound propagation, and a search for a second consistent table),
with the true counts computed here independently of the observatory.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections import Counter

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amparo.cases import actions
from amparo.cases.tests.fixtures import given_consent
from amparo.lib.disclosure import Cell, Table1D, Table2D
from amparo.lib.tests.test_disclosure import View, alternative_exists, assert_safe, view_of
from amparo.observatory import compute as c
from amparo.observatory import dhis2, exports
from amparo.observatory.tests.test_compute import MARCH, SYSTEM, at, new_case

PLACES = {"MZ03": "MZ0302", "MZ07": "MZ0702", "MZ11": "MZ1102"}
CHANNELS = ("helpline", "sms", "web")
FEW = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))

population = st.lists(st.tuples(st.sampled_from(sorted(PLACES)), st.sampled_from(CHANNELS)), max_size=24)


def make_population(cases: list[tuple[str, str]]) -> None:
    for province, channel in cases:
        new_case(at(9), district=PLACES[province], channel=channel)


def truth(cases: list[tuple[str, str]]) -> dict[str, Counter]:
    return {
        "province": Counter(p for p, _ in cases),
        "channel": Counter(ch for _, ch in cases),
    }


def cell_as_shown(display: str, true_value: int) -> Cell:
    """The cell a reader reconstructs from what is shown, carrying the truth for the attackers."""
    if display.isdigit():
        assert int(display) == true_value, "a published number must be the true count"
        return Cell(true_value, False, False)
    assert display in ("<5", "x")
    return Cell(true_value, True, display == "<5")


def assert_no_small_number(values: list[str]) -> None:
    assert not [v for v in values if v.isdigit() and 0 < int(v) < 5]


def assert_attackers_fail(tables: list[Table1D | Table2D]) -> None:
    view = view_of(tables)
    assert_safe(view)
    assert all(alternative_exists(view, var) for var in view.small())


def one_way_from(shown: dict[str, str], counts: Counter, total_display: str, total: int) -> Table1D:
    return Table1D(
        cells={k: cell_as_shown(v, counts.get(k, 0)) for k, v in shown.items()},
        total=cell_as_shown(total_display, total),
    )


def rolled_back(test):  # noqa: ANN001, ANN201
    """Run each hypothesis example in a transaction that is rolled back (a fresh population)."""

    @functools.wraps(test)
    def run(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        with transaction.atomic():
            test(*args, **kwargs)
            transaction.set_rollback(True)

    return run


VIEWS = [("province",), ("channel",), ()]


@pytest.mark.django_db
@FEW
@given(population)
@rolled_back
def test_result_api_resists_every_attacker(cases: list[tuple[str, str]]) -> None:
    make_population(cases)
    by_province, by_channel, total = c.compute_linked("OCSEA.REPORTS.RECEIVED", MARCH, VIEWS)
    counts = truth(cases)
    tables = []
    for result, dim in ((by_province, "province"), (by_channel, "channel")):
        if result.by != (dim,):
            continue  # published more coarsely
        shown = {row.key[dim]: row.value.display() for row in result.rows}
        tables.append(one_way_from(shown, counts[dim], result.total.display(), len(cases)))
        assert_no_small_number(list(shown.values()))
    # The shared total may itself be hidden (as a complement) to protect a breakdown.
    assert total.total.display() in ("<5", "x", str(len(cases)))
    assert total.total.display() == by_province.total.display() == by_channel.total.display()
    if tables:
        assert_attackers_fail(tables)


@pytest.mark.django_db
@FEW
@given(population)
@rolled_back
def test_csv_export_resists_every_attacker(cases: list[tuple[str, str]]) -> None:
    make_population(cases)
    text = exports.export(SYSTEM, "OCSEA.REPORTS.RECEIVED", MARCH, VIEWS, "csv")
    lines = list(csv.DictReader(io.StringIO(text)))
    assert_no_small_number([line["value"] for line in lines])
    counts = truth(cases)
    shown: dict[str, dict[str, str]] = {"province": {}, "channel": {}}
    totals = {line["value"] for line in lines if not line["dimension_1"]}
    assert len(totals) == 1, "the shared total looks the same everywhere"
    for line in lines:
        if line["dimension_1"]:
            shown[line["dimension_1"]][line["category_1"]] = line["value"]
    tables = [one_way_from(shown[d], counts[d], next(iter(totals)), len(cases)) for d in shown if shown[d]]
    if tables:
        assert_attackers_fail(tables)


@pytest.mark.django_db
@FEW
@given(population)
@rolled_back
def test_json_export_resists_every_attacker(cases: list[tuple[str, str]]) -> None:
    make_population(cases)
    payload = json.loads(exports.export(SYSTEM, "OCSEA.REPORTS.RECEIVED", MARCH, VIEWS, "json"))
    counts = truth(cases)
    tables = []
    for result in payload["results"]:
        for row in result["rows"]:
            if row["suppressed"]:
                assert row["value"] is None, "a suppressed count is never written"
            else:
                assert not 0 < row["value"] < 5
        if len(result["by"]) == 1:
            dim = result["by"][0]
            shown = {row["key"][dim]: row["display"] for row in result["rows"]}
            tables.append(one_way_from(shown, counts[dim], result["total"]["display"], len(cases)))
    if tables:
        assert_attackers_fail(tables)


# The total and its breakdown by channel on separate data elements (DHIS2 adds up a data element's
# category option combos: on one data element the total would be counted twice).
MAPPING = {
    "dataElements": [
        {"indicator": "OCSEA.REPORTS.RECEIVED", "dataElement": "deReports01"},
        {
            "indicator": "OCSEA.REPORTS.RECEIVED",
            "by": "channel",
            "category": "helpline",
            "dataElement": "deReportsCh",
            "categoryOptionCombo": "cocHelpline",
        },
        {
            "indicator": "OCSEA.REPORTS.RECEIVED",
            "by": "channel",
            "category": "sms",
            "dataElement": "deReportsCh",
            "categoryOptionCombo": "cocSmsText1",
        },
        {
            "indicator": "OCSEA.REPORTS.RECEIVED",
            "by": "channel",
            "category": "web",
            "dataElement": "deReportsCh",
            "categoryOptionCombo": "cocWebForm1",
        },
    ],
    "orgUnits": [
        {"area": "MZ", "orgUnit": "ouMozambiqu"},
        {"area": "MZ03", "orgUnit": "ouProvince3"},
        {"area": "MZ07", "orgUnit": "ouProvince7"},
        {"area": "MZ11", "orgUnit": "ouProvinc11"},
    ],
}
UNIT_AREA = {u["orgUnit"]: u["area"] for u in MAPPING["orgUnits"]}
COC_CHANNEL = {e.get("categoryOptionCombo", ""): e.get("category", "") for e in MAPPING["dataElements"]}


@pytest.mark.django_db
@FEW
@given(population)
@rolled_back
def test_dhis2_payload_sends_only_published_values_and_resists_every_attacker(
    cases: list[tuple[str, str]],
) -> None:
    dhis2.load_mapping(SYSTEM, json.dumps(MAPPING), "json")
    make_population(cases)
    payload = dhis2.build_payload(MARCH)
    sent = {
        (UNIT_AREA[v["orgUnit"]], COC_CHANNEL[v.get("categoryOptionCombo", "")]): v["value"]
        for v in payload["dataValues"]
    }
    assert_no_small_number(list(sent.values()))
    # DHIS2 gets no marker for a hidden value, only its absence: it must reveal no more than the
    # protected Results it is made from (the same views, protected together), which the attackers
    # must fail on.
    views = [(), ("channel",), ("province",), ("province", "channel")]
    total, by_channel, by_province, two_way = c.compute_linked("OCSEA.REPORTS.RECEIVED", MARCH, views)
    published: dict[tuple[str, str], str] = {}
    if total.total.published is not None:
        published[("MZ", "")] = str(total.total.published)
    for row in by_channel.rows:
        if row.value.published is not None:
            published[("MZ", row.key["channel"])] = str(row.value.published)
    for row in by_province.rows:
        if row.value.published is not None:
            published[(row.key["province"], "")] = str(row.value.published)
    for row in two_way.rows:
        if row.value.published is not None:
            published[(row.key["province"], row.key["channel"])] = str(row.value.published)
    for key, value in sent.items():
        assert published.get(key) == value, "DHIS2 received a value that is not published"
    assert {k for k in published if k[0] in UNIT_AREA.values() and k[1] in {*CHANNELS, ""}} == set(sent)
    if two_way.by == ("province", "channel"):
        cells: dict[str, dict[str, Cell]] = {}
        for row in two_way.rows:
            cells.setdefault(row.key["province"], {})[row.key["channel"]] = row.value
        rows = {m.key["province"]: m.value for m in two_way.margins if "province" in m.key}
        columns = {m.key["channel"]: m.value for m in two_way.margins if "channel" in m.key}
        assert_attackers_fail(
            [Table2D(cells=cells, row_totals=rows, column_totals=columns, total=two_way.total)]
        )


victims = st.lists(
    st.tuples(st.sampled_from(["female", "male"]), st.sampled_from([7, 10, 13, 16])), max_size=20
)


@pytest.mark.django_db
@FEW
@given(victims)
@rolled_back
def test_two_way_victims_table_resists_every_attacker(people: list[tuple[str, int]]) -> None:
    case = new_case(at(9))
    for sex, age in people:
        actions.add_person(SYSTEM, case, role="victim", sex=sex, age=age)
    result = c.compute("OCSEA.VICTIMS.CHILD", MARCH, ("sex", "age_band"))
    all_shown = [cell.display() for cell in result.cells()]
    assert_no_small_number(all_shown)
    if result.by != ("sex", "age_band"):
        return
    cells: dict[str, dict[str, Cell]] = {}
    for row in result.rows:
        cells.setdefault(row.key["sex"], {})[row.key["age_band"]] = row.value
    rows = {m.key["sex"]: m.value for m in result.margins if "sex" in m.key}
    columns = {m.key["age_band"]: m.value for m in result.margins if "age_band" in m.key}
    assert_attackers_fail([Table2D(cells=cells, row_totals=rows, column_totals=columns, total=result.total)])


@pytest.mark.django_db
@FEW
@given(
    st.lists(st.sampled_from(["report", "investigation", "prosecution", "court", "conviction"]), max_size=16)
)
@rolled_back
def test_funnel_never_shows_a_small_count(stages: list[str]) -> None:
    from amparo.observatory.tests.test_compute import reach

    for stage in stages:
        reach(new_case(at(9)), stage, at(9))
    cells = c.funnel(MARCH)
    assert_no_small_number([cell.display() for _code, _label, cell in cells])
    order = ["report", "investigation", "prosecution", "court", "conviction"]
    for k, (_code, _label, cell) in enumerate(cells):
        true_value = sum(1 for s in stages if order.index(s) >= k)
        assert cell.value == true_value
        assert cell.suppressed or cell.display() == str(true_value)


@pytest.mark.django_db
def test_share_breakdown_hides_the_rest_of_a_row_too() -> None:
    """A province where 6 of 8 reports reached the police: "2 did not" is a small count, so neither
    the numerator nor the denominator of that row may be shown next to each other."""
    from amparo.core.models import Agency

    prm = Agency.objects.get(code="prm")
    # Nampula (6 of 8 reached the police) and Inhambane (5 of 7): each row has "2 did not".
    for district, referred in (("MZ0702", 6), ("MZ0301", 5)):
        for i in range(referred + 2):
            case = new_case(at(8), district=district)
            if i < referred:
                actions.refer_case(
                    SYSTEM, case, prm, reason="test", consent=given_consent(case, at=at(8, 12)), at=at(8, 12)
                )
    for _ in range(9):
        new_case(at(8), district="MZ1102")
    result = c.compute("OCSEA.REFERRAL.POLICE_72H", MARCH, ("province",))
    row = next(r for r in result.rows if r.key["province"] == "MZ07")
    assert row.value.suppressed or row.denominator.suppressed
    assert row.rate is None
    csv_text = exports.render_csv([result])
    assert_no_small_number([line["value"] for line in csv.DictReader(io.StringIO(csv_text))])


nested = st.lists(st.sampled_from(["MZ0301", "MZ0302", "MZ0701", "MZ0702"]), max_size=24)


@pytest.mark.django_db
@FEW
@given(nested)
@rolled_back
def test_province_and_district_breakdowns_resist_every_attacker_together(districts: list[str]) -> None:
    for district in districts:
        new_case(at(9), district=district)
    by_province, by_district = c.compute_linked(
        "OCSEA.REPORTS.RECEIVED", MARCH, [("province",), ("district",)]
    )
    if by_province.by != ("province",) or by_district.by != ("district",):
        return
    provinces = {row.key["province"]: row.value for row in by_province.rows}
    shown = {row.key["district"]: row.value for row in by_district.rows}
    assert_no_small_number([cell.display() for cell in [*provinces.values(), *shown.values()]])
    used = ["MZ0301", "MZ0302", "MZ0701", "MZ0702"]
    zero = Cell(0, False, False)  # a district outside the province: known to be zero
    table = Table2D(
        cells={p: {d: shown[d] if d.startswith(p) else zero for d in used} for p in ("MZ03", "MZ07")},
        row_totals={p: provinces[p] for p in ("MZ03", "MZ07")},
        column_totals={d: shown[d] for d in used},
        total=by_province.total,
    )
    assert_attackers_fail([table])


# --- Nested periods: months, their quarter and their year -------------------------------------------


class NestedView(View):
    """The attacker's view of months, a quarter and a year. A quarter's or a year's withheld figure
    ("w" here, "x" on the page) is the sum of its months: it may be any count, so it carries no
    "0 or at least 5" promise."""

    def allowed(self, var, value: int) -> bool:  # noqa: ANN001
        if self.shown[var] == "w":
            return value >= 0
        return super().allowed(var, value)


def shown_as(cell: Cell, true_value: int, derived: bool) -> str:
    if cell.published is not None:
        assert cell.published == true_value, "a published number must be the true count"
        return str(true_value)
    return "w" if derived and cell.display() == "x" else cell.display()


quarter_cases = st.lists(st.tuples(st.sampled_from(sorted(PLACES)), st.sampled_from([1, 2, 3])), max_size=30)


@pytest.mark.django_db
@FEW
@given(quarter_cases)
@rolled_back
def test_months_quarter_and_year_together_resist_every_attacker(cases: list[tuple[str, int]]) -> None:
    """Reports by province for January, February and March, for the first quarter and for the year:
    the attacker knows that each quarter or year cell is the sum of its months, and tries to
    recover every withheld month from those equations. Every attempt must fail."""
    for province, month in cases:
        new_case(at(9, month=month), district=PLACES[province], channel="helpline")
    code = "OCSEA.REPORTS.RECEIVED"
    months = [c.compute(code, c.Period.month(2026, m), ("province",)) for m in (1, 2, 3)]
    quarter = c.compute(code, c.Period.parse("2026Q1"), ("province",))
    year = c.compute(code, c.Period.parse("2026"), ("province",))
    if any(r.by != ("province",) for r in months):
        return  # a month shown coarser: nothing by province to difference
    assert quarter.by == year.by == ("province",)
    provinces = [row.key["province"] for row in quarter.rows]
    truth = Counter(cases)
    shown: dict = {}
    values: dict = {}
    equations: list = []
    for m, result in zip((1, 2, 3), months, strict=True):
        cells = {row.key["province"]: row.value for row in result.rows}
        for p in provinces:
            shown[("m", m, p)] = shown_as(cells[p], truth[(p, m)], derived=False)
            values[("m", m, p)] = truth[(p, m)]
        shown[("mt", m)] = shown_as(result.total, sum(truth[(p, m)] for p in provinces), derived=False)
        values[("mt", m)] = sum(truth[(p, m)] for p in provinces)
        equations.append([(1, ("m", m, p)) for p in provinces] + [(-1, ("mt", m))])
    for name, result in (("q", quarter), ("y", year)):
        cells = {row.key["province"]: row.value for row in result.rows}
        for p in provinces:
            count = sum(truth[(p, m)] for m in (1, 2, 3))
            shown[(name, p)] = shown_as(cells[p], count, derived=True)
            values[(name, p)] = count
            equations.append([(1, ("m", m, p)) for m in (1, 2, 3)] + [(-1, (name, p))])
        shown[(name, "total")] = shown_as(result.total, len(cases), derived=True)
        values[(name, "total")] = len(cases)
        equations.append([(1, (name, p)) for p in provinces] + [(-1, (name, "total"))])
        equations.append([(1, ("mt", m)) for m in (1, 2, 3)] + [(-1, (name, "total"))])
    assert_no_small_number(list(shown.values()))
    view = NestedView(shown, values, equations, 5)
    assert_safe(view)
    assert all(alternative_exists(view, var) for var in view.small())


@pytest.mark.django_db
def test_a_quarter_withholds_a_province_whose_month_is_withheld() -> None:
    """Nampula has 3 reports in January and 9 in February; Maputo City 9 in January. Publishing
    Nampula's quarter (12) next to its February (9) would give January's 3 back."""
    for month, n in ((1, 3), (2, 9)):
        for _ in range(n):
            new_case(at(9, month=month), district="MZ0702")
    for _ in range(9):
        new_case(at(9, month=1), district="MZ1102")
    january = c.compute("OCSEA.REPORTS.RECEIVED", c.Period.month(2026, 1), ("province",))
    february = c.compute("OCSEA.REPORTS.RECEIVED", c.Period.month(2026, 2), ("province",))
    quarter = c.compute("OCSEA.REPORTS.RECEIVED", c.Period.parse("2026Q1"), ("province",))
    nampula = {r.key["province"]: r.value for r in quarter.rows}["MZ07"]
    assert {r.key["province"]: r.value for r in january.rows}["MZ07"].display() == "<5"
    assert {r.key["province"]: r.value for r in february.rows}["MZ07"].display() == "9"
    assert nampula.suppressed
    assert "quarter or a year" in quarter.note or "trimestre" in quarter.note
