"""The reference data loaded by the migrations: Mozambique's provinces and districts (0002) and
the national agencies (0003). Expected values are written out here; the CSV is read only to
check that every row of it reached the database."""

from __future__ import annotations

import csv
import importlib
from pathlib import Path

import pytest
from django.apps import apps

from amparo.core.models import Agency, District, Province

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parents[1] / "data"

# P-code: (display name, ISO 3166-2 code, capital, capital district, number of districts)
PROVINCES = {
    "MZ01": ("Cabo Delgado", "MZ-P", "Pemba", "MZ0104", 17),
    "MZ02": ("Gaza", "MZ-G", "Xai-Xai", "MZ0207", 14),
    "MZ03": ("Inhambane", "MZ-I", "Inhambane", "MZ0301", 14),
    "MZ04": ("Manica", "MZ-B", "Chimoio", "MZ0402", 12),
    "MZ05": ("Maputo Província", "MZ-L", "Matola", "MZ0502", 8),
    "MZ06": ("Maputo Cidade", "MZ-MPM", "Maputo", "MZ0601", 1),
    "MZ07": ("Nampula", "MZ-N", "Nampula", "MZ0702", 23),
    "MZ08": ("Niassa", "MZ-A", "Lichinga", "MZ0802", 16),
    "MZ09": ("Sofala", "MZ-S", "Beira", "MZ0906", 13),
    "MZ10": ("Tete", "MZ-T", "Tete", "MZ1006", 15),
    "MZ11": ("Zambézia", "MZ-Q", "Quelimane", "MZ1103", 23),
}

# code: (short name, kind, scope province or None for national)
AGENCIES = {
    "sernic": ("SERNIC", "criminal_investigation", None),
    "prm": ("PRM", "police", None),
    "prm-gafmvv": ("GAFMVV", "police", None),
    "pgr": ("PGR", "prosecution", None),
    "mgcas": ("MGCAS", "social_welfare", None),
    "mjacr": ("MJACR", "government", None),
    "tribunal-menores-maputo": ("TMCM", "court", "MZ06"),
    "linha-fala-crianca": ("Linha 116", "helpline", None),
    "incm": ("INCM", "regulator", None),
    "intic": ("INTIC", "regulator", None),
    "cndh": ("CNDH", "human_rights", None),
    "minedh": ("MINEDH", "education", None),
    "misau": ("MISAU", "health", None),
}


def _csv_rows(name: str) -> list[dict[str, str]]:
    with open(DATA / name, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_eleven_provinces_and_156_districts() -> None:
    assert Province.objects.count() == 11
    assert District.objects.count() == 156
    assert sorted(Province.objects.values_list("code", flat=True)) == [f"MZ{n:02d}" for n in range(1, 12)]


def test_provinces_have_their_names_iso_codes_and_capitals() -> None:
    loaded = {p.code: (p.name, p.iso_3166_2, p.capital) for p in Province.objects.all()}
    assert loaded == {code: (name, iso, capital) for code, (name, iso, capital, _, _) in PROVINCES.items()}


def test_iso_codes_agree_with_the_iso_csv() -> None:
    iso = {row["code"]: row["iso_3166_2"] for row in _csv_rows("mz_province_iso3166.csv")}
    assert dict(Province.objects.values_list("code", "iso_3166_2")) == iso


def test_every_district_sits_in_the_province_the_csv_names() -> None:
    rows = [row for row in _csv_rows("mz_admin_units.csv") if row["level"] == "district"]
    assert len(rows) == 156
    expected = {row["code"]: (row["name"], row["parent_code"]) for row in rows}
    assert {d.code: (d.name, d.province_id) for d in District.objects.all()} == expected
    # P-codes nest: a district's code starts with its province's.
    assert all(code.startswith(parent) and len(code) == 6 for code, (_, parent) in expected.items())


def test_district_counts_per_province() -> None:
    for code, (*_, count) in PROVINCES.items():
        assert District.objects.filter(province_id=code).count() == count, code


def test_each_province_has_exactly_one_capital_district() -> None:
    capitals: dict[str, list[str]] = {}
    for d in District.objects.filter(is_capital=True).order_by("code"):
        capitals.setdefault(d.province_id, []).append(d.code)
    assert capitals == {code: [district] for code, (_, _, _, district, _) in PROVINCES.items()}
    assert District.objects.filter(is_capital=True).count() == 11


def test_maputo_cidade_is_one_district() -> None:
    maputo = Province.objects.get(pk="MZ06")
    assert maputo.name == "Maputo Cidade"
    assert list(maputo.districts.values_list("code", "is_capital")) == [("MZ0601", True)]


def test_loading_the_geography_again_changes_nothing() -> None:
    migration = importlib.import_module("amparo.core.migrations.0002_geography")
    before = sorted(District.objects.values_list("code", "name", "province_id", "is_capital"))
    migration.load(apps, None)
    assert Province.objects.count() == 11
    assert sorted(District.objects.values_list("code", "name", "province_id", "is_capital")) == before


def test_the_national_agencies_exist_with_their_kinds() -> None:
    loaded = {a.code: (a.short_name, a.kind, a.province_id) for a in Agency.objects.filter(code__in=AGENCIES)}
    assert loaded == AGENCIES
    assert Agency.objects.count() == 13
    for agency in Agency.objects.all():
        assert agency.active
        assert not agency.is_demo
        assert agency.district_id is None
        assert agency.scope_level == ("province" if agency.province_id else "national")
