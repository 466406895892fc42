"""DHIS2: the mapping of our indicators onto a DHIS2 instance, the ``dataValueSets`` payload and
the push to a DHIS2 server.

* The mapping lives in two tables (:class:`Dhis2DataElement`, :class:`Dhis2OrgUnit`) loaded from a
  JSON or CSV file (``amparo dhis2 mapping load FILE``); see :func:`parse_mapping` for the format.
* :func:`build_payload` computes every mapped indicator for one period through
  :mod:`amparo.observatory.compute` (the breakdowns of one indicator are protected together) and
  turns the published cells into DHIS2 data values. A suppressed cell is not sent at all: DHIS2
  has no "<5", and sending a zero or a placeholder would be a false figure, so the data value is
  simply absent, as DHIS2 treats missing data.
* :class:`HttpDhis2Client` posts to ``<AMPARO_DHIS2_URL>/api/dataValueSets`` with a personal access
  token or basic authentication; :class:`NullDhis2Client` (used when AMPARO_DHIS2_URL is unset) sends
  nothing and says so. :func:`push` retries network failures with a growing delay, reads DHIS2's import
  summary (:func:`parse_import_summary`: imported, partly imported with conflicts, or refused) and keeps
  and audits the outcome.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import httpx
from django.db import transaction
from django.utils.translation import gettext as _

from amparo.core import audit
from amparo.core.models import District, Province
from amparo.lib.env import ConfigError, env_int, env_secret, env_str
from amparo.observatory import compute as c
from amparo.observatory import indicators as reg
from amparo.observatory.models import Dhis2DataElement, Dhis2OrgUnit, Dhis2Push
from amparo.observatory.permissions import ObservatoryAudit

log = logging.getLogger(__name__)

NATIONAL_AREA = "MZ"
# DHIS2 identifiers: 11 characters, a letter then letters or digits.
_UID = re.compile(r"[A-Za-z][A-Za-z0-9]{10}")


# --- Mapping ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ElementRow:
    indicator: str
    dimension: str
    category: str
    data_element: str
    category_option_combo: str


@dataclass(frozen=True)
class OrgUnitRow:
    area: str
    org_unit: str


class MappingError(ValueError):
    """The mapping file is not valid; the message names the line or entry and what to fix."""


def _check_uid(value: str, what: str, where: str) -> str:
    if not _UID.fullmatch(value):
        raise MappingError(
            _(
                "%(where)s: %(what)s must be a DHIS2 identifier (11 letters or digits, starting with a letter)."
            )
            % {"where": where, "what": what}
        )
    return value


def _check_element(raw: dict[str, Any], where: str) -> ElementRow:
    code = str(raw.get("indicator", "")).strip()
    if code not in reg.REGISTRY:
        raise MappingError(
            _("%(where)s: unknown indicator code; see `amparo indicators list`.") % {"where": where}
        )
    indicator = reg.REGISTRY[code]
    dimension = str(raw.get("by", raw.get("dimension", "")) or "").strip()
    category = str(raw.get("category", raw.get("key", "")) or "").strip()
    if dimension and dimension not in indicator.disaggregations:
        raise MappingError(
            _(
                "%(where)s: the indicator cannot be broken down by that disaggregation; it allows: %(allowed)s."
            )
            % {"where": where, "allowed": ", ".join(indicator.disaggregations)}
        )
    if dimension in (reg.PROVINCE, reg.DISTRICT):
        raise MappingError(
            _("%(where)s: places are mapped as organisation units, not as categories.") % {"where": where}
        )
    if bool(dimension) != bool(category):
        raise MappingError(
            _("%(where)s: give both a disaggregation and a category, or neither.") % {"where": where}
        )
    if dimension and category not in {code for code, _label in c.categories(dimension)}:
        raise MappingError(_("%(where)s: unknown category for that disaggregation.") % {"where": where})
    coc = str(raw.get("categoryOptionCombo", "") or "").strip()
    return ElementRow(
        indicator=code,
        dimension=dimension,
        category=category,
        data_element=_check_uid(str(raw.get("dataElement", "")).strip(), "dataElement", where),
        category_option_combo=_check_uid(coc, "categoryOptionCombo", where) if coc else "",
    )


def _check_org_unit(raw: dict[str, Any], where: str) -> OrgUnitRow:
    area = str(raw.get("area", "")).strip()
    if area != NATIONAL_AREA and not (
        Province.objects.filter(pk=area).exists() or District.objects.filter(pk=area).exists()
    ):
        raise MappingError(
            _("%(where)s: area must be MZ (the country) or a province or district P-code.") % {"where": where}
        )
    return OrgUnitRow(area=area, org_unit=_check_uid(str(raw.get("orgUnit", "")).strip(), "orgUnit", where))


def parse_mapping(text: str, fmt: str) -> tuple[list[ElementRow], list[OrgUnitRow]]:
    """Read a mapping file.

    JSON: ``{"dataElements": [{"indicator": "OCSEA.VICTIMS.CHILD", "by": "sex", "category": "female",
    "dataElement": "abcDEF12345", "categoryOptionCombo": "ghiJKL67890"}, ...],
    "orgUnits": [{"area": "MZ07", "orgUnit": "mnoPQR12345"}, ...]}`` (``by``/``category`` empty or
    absent for the indicator's total).

    CSV: a header ``type,indicator,by,category,dataElement,categoryOptionCombo,area,orgUnit`` and one
    line per entry, ``type`` being ``dataElement`` or ``orgUnit``.
    """
    elements: list[ElementRow] = []
    units: list[OrgUnitRow] = []
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MappingError(
                _("The file is not valid JSON (line %(line)s).") % {"line": exc.lineno}
            ) from None
        if not isinstance(data, dict):
            raise MappingError(_("The JSON mapping must be an object with dataElements and orgUnits."))
        raw_elements, raw_units = data.get("dataElements", []), data.get("orgUnits", [])
        if not isinstance(raw_elements, list) or not isinstance(raw_units, list):
            raise MappingError(_("dataElements and orgUnits must be lists."))
        for i, raw in enumerate(raw_elements, start=1):
            if not isinstance(raw, dict):
                raise MappingError(_("dataElements entry %(n)s is not an object.") % {"n": i})
            elements.append(_check_element(raw, _("dataElements entry %(n)s") % {"n": i}))
        for i, raw in enumerate(raw_units, start=1):
            if not isinstance(raw, dict):
                raise MappingError(_("orgUnits entry %(n)s is not an object.") % {"n": i})
            units.append(_check_org_unit(raw, _("orgUnits entry %(n)s") % {"n": i}))
    elif fmt == "csv":
        try:
            _read_csv(text, elements, units)
        except csv.Error:
            raise MappingError(_("The file is not valid CSV.")) from None
    else:
        raise MappingError(_("The mapping file must be .json or .csv."))
    keys = [(e.indicator, e.dimension, e.category) for e in elements]
    if len(set(keys)) != len(keys):
        raise MappingError(_("An indicator and category are mapped twice."))
    if len({u.area for u in units}) != len(units):
        raise MappingError(_("An area is mapped twice."))
    check_data_elements(elements)
    return elements, units


def check_data_elements(elements: Iterable[ElementRow]) -> None:
    """Refuse a mapping DHIS2 would add up wrongly.

    DHIS2's analytics sums every category option combo of a data element. A data element must therefore
    carry one indicator and either its total alone or one breakdown (each category on its own category
    option combo): a total beside its breakdown, or two breakdowns, would be counted twice."""
    by_element: dict[str, list[ElementRow]] = {}
    for element in elements:
        by_element.setdefault(element.data_element, []).append(element)
    for uid, rows in sorted(by_element.items()):
        if len({r.indicator for r in rows}) > 1:
            raise MappingError(
                _(
                    "Data element %(uid)s carries more than one indicator: give each indicator its own data element."
                )
                % {"uid": uid}
            )
        dimensions = {r.dimension for r in rows}
        if "" in dimensions and len(rows) > 1:
            raise MappingError(
                _(
                    "Data element %(uid)s carries a total and its breakdown: DHIS2 adds up every category option combo, so the total would be counted twice. Map the total and the breakdown to separate data elements, or map the breakdown alone."
                )
                % {"uid": uid}
            )
        if len(dimensions) > 1:
            raise MappingError(
                _(
                    "Data element %(uid)s carries two breakdowns (%(by)s): DHIS2 adds them up, counting every case twice. Give each breakdown its own data element."
                )
                % {"uid": uid, "by": ", ".join(sorted(dimensions))}
            )
        combos = [r.category_option_combo for r in rows]
        if len(rows) > 1 and len(set(combos)) != len(combos):
            raise MappingError(
                _(
                    "Data element %(uid)s has two categories on the same category option combo: give each category its own."
                )
                % {"uid": uid}
            )


def check_loaded_mapping() -> tuple[int, int]:
    """Check the mapping in the database (one loaded before these rules existed); raises MappingError."""
    elements = [
        ElementRow(e.indicator, e.dimension, e.category, e.data_element, e.category_option_combo)
        for e in Dhis2DataElement.objects.all()
    ]
    check_data_elements(elements)
    return len(elements), Dhis2OrgUnit.objects.count()


def _read_csv(text: str, elements: list[ElementRow], units: list[OrgUnitRow]) -> None:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or "type" not in reader.fieldnames:
        raise MappingError(_("The CSV mapping needs a header line with a type column."))
    for line, raw in enumerate(reader, start=2):
        where = _("line %(n)s") % {"n": line}
        kind = (raw.get("type") or "").strip()
        clean = {k: (v or "") for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)}
        if kind == "dataElement":
            elements.append(_check_element(clean, where))
        elif kind == "orgUnit":
            units.append(_check_org_unit(clean, where))
        else:
            raise MappingError(_("%(where)s: type must be dataElement or orgUnit.") % {"where": where})


def _placeholder_uid(prefix: str, text: str) -> str:
    return prefix + hashlib.sha256(text.encode()).hexdigest()[: 11 - len(prefix)]


def example_mapping() -> dict[str, Any]:
    """A complete example mapping with placeholder identifiers (to be replaced by the DHIS2
    instance's own): the total of every available indicator, child victims by sex on a data element
    of its own (never beside the total: DHIS2 would add them up), and the country and its provinces as
    organisation units."""
    elements: list[dict[str, str]] = []
    for indicator in reg.all_indicators():
        if not indicator.available or indicator.kind == "funnel":
            continue
        elements.append({"indicator": indicator.code, "dataElement": _placeholder_uid("de", indicator.code)})
    for code, _label in c.categories(reg.SEX):
        elements.append(
            {
                "indicator": "OCSEA.VICTIMS.CHILD",
                "by": reg.SEX,
                "category": code,
                "dataElement": _placeholder_uid("de", "OCSEA.VICTIMS.CHILD:sex"),
                "categoryOptionCombo": _placeholder_uid("co", f"sex:{code}"),
            }
        )
    areas = [NATIONAL_AREA, *Province.objects.values_list("code", flat=True)]
    units = [{"area": area, "orgUnit": _placeholder_uid("ou", area)} for area in areas]
    return {"dataElements": elements, "orgUnits": units}


def load_mapping(actor: Any, text: str, fmt: str) -> tuple[int, int]:  # noqa: ANN401
    """Replace the whole mapping with the file's, in one transaction, audited."""
    elements, units = parse_mapping(text, fmt)
    with transaction.atomic():
        Dhis2DataElement.objects.all().delete()
        Dhis2OrgUnit.objects.all().delete()
        Dhis2DataElement.objects.bulk_create(
            [
                Dhis2DataElement(
                    indicator=e.indicator,
                    dimension=e.dimension,
                    category=e.category,
                    data_element=e.data_element,
                    category_option_combo=e.category_option_combo,
                )
                for e in elements
            ]
        )
        Dhis2OrgUnit.objects.bulk_create([Dhis2OrgUnit(area=u.area, org_unit=u.org_unit) for u in units])
        audit.record(
            actor,
            ObservatoryAudit.DHIS2_MAPPING_LOAD,
            ("observatory.dhis2mapping", "all"),
            ["data_element", "org_unit"],
        )
    return len(elements), len(units)


# --- Payload ------------------------------------------------------------------------------------


def _level(area: str) -> str:
    if area == NATIONAL_AREA:
        return "national"
    return reg.PROVINCE if len(area) == 4 else reg.DISTRICT


def _allowed(indicator: reg.Indicator, by: tuple[str, ...]) -> bool:
    try:
        c._check(indicator, by)  # noqa: SLF001  (the one definition of what a breakdown allows)
    except ValueError:
        return False
    return True


def _published_value(
    indicator: reg.Indicator, cell: Any, rate: float | None, median: float | None
) -> str | None:  # noqa: ANN401
    """The value DHIS2 receives, or None when it is withheld (suppressed counts are never sent)."""
    if indicator.unit == reg.PERCENT:
        return None if rate is None else f"{rate:.1f}"
    if indicator.unit == reg.DAYS:
        return None if median is None or cell.suppressed else f"{median:.1f}"
    return None if cell.suppressed else str(cell.value)


def build_payload(period: c.Period, mapping: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``dataValueSets`` body for one period (whole country), from the stored mapping or from
    ``mapping`` (the JSON form of a mapping file, e.g. :func:`example_mapping`)."""
    if mapping is None:
        units = {u.area: u.org_unit for u in Dhis2OrgUnit.objects.all()}
        elements = list(Dhis2DataElement.objects.all())
    else:
        rows, unit_rows = parse_mapping(json.dumps(mapping), "json")
        units = {u.area: u.org_unit for u in unit_rows}
        elements = [
            Dhis2DataElement(
                indicator=e.indicator,
                dimension=e.dimension,
                category=e.category,
                data_element=e.data_element,
                category_option_combo=e.category_option_combo,
            )
            for e in rows
        ]
    levels = sorted({_level(area) for area in units})
    values: list[dict[str, str]] = []
    by_indicator: dict[str, list[Dhis2DataElement]] = {}
    for element in elements:
        by_indicator.setdefault(element.indicator, []).append(element)
    for code, mapped in sorted(by_indicator.items()):
        indicator = reg.get(code)
        if not indicator.available:
            continue
        wanted: list[tuple[str, tuple[str, ...], Dhis2DataElement]] = []
        for level in levels:
            for element in mapped:
                place = () if level == "national" else (level,)
                by = (*place, element.dimension) if element.dimension else place
                if _allowed(indicator, by):
                    wanted.append((level, by, element))
        bys = list(dict.fromkeys(by for _level_, by, _e in wanted))
        results = dict(zip(bys, c.compute_linked(code, period, bys), strict=True))
        for level, by, element in wanted:
            result = results[by]
            if result.by != by:
                continue  # published only more coarsely: nothing at this level of detail
            for area, value in _values_for(indicator, result, level, element):
                if area not in units or value is None:
                    continue  # unmapped place, or a suppressed value: never sent
                value_row = {
                    "dataElement": element.data_element,
                    "period": period.dhis2(),
                    "orgUnit": units[area],
                    "value": value,
                }
                if element.category_option_combo:
                    value_row["categoryOptionCombo"] = element.category_option_combo
                values.append(value_row)
    return {"dataValues": values}


def _values_for(
    indicator: reg.Indicator, result: c.Result, level: str, element: Dhis2DataElement
) -> Iterable[tuple[str, str | None]]:
    if level == "national":
        if not element.dimension:
            yield NATIONAL_AREA, _published_value(indicator, result.total, result.rate, result.median)
            return
        for row in result.rows:
            if row.key.get(element.dimension) == element.category:
                yield NATIONAL_AREA, _published_value(indicator, row.value, row.rate, row.median)
        return
    for row in result.rows:
        if element.dimension and row.key.get(element.dimension) != element.category:
            continue
        yield row.key[level], _published_value(indicator, row.value, row.rate, row.median)


# --- Clients ------------------------------------------------------------------------------------


class Dhis2Error(Exception):
    """DHIS2 could not be reached or refused the data; the message says which, never the data.
    ``retryable`` says whether sending again later may help (network errors, 5xx)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Conflict:
    """One conflict of DHIS2's import summary: what it names (a data element, period, org unit or
    category option combo), DHIS2's message, and the error code and property when DHIS2 gives them."""

    object: str
    value: str
    error_code: str = ""
    property: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "object": self.object,
            "value": self.value,
            "errorCode": self.error_code,
            "property": self.property,
        }


@dataclass(frozen=True)
class ImportSummary:
    """DHIS2's answer to a ``dataValueSets`` import: ``status`` is OK, WARNING or ERROR."""

    status: str
    imported: int = 0
    updated: int = 0
    ignored: int = 0
    deleted: int = 0
    conflicts: tuple[Conflict, ...] = ()
    description: str = ""

    @property
    def taken(self) -> int:
        return self.imported + self.updated + self.deleted

    def counts(self) -> dict[str, int]:
        return {
            "imported": self.imported,
            "updated": self.updated,
            "ignored": self.ignored,
            "deleted": self.deleted,
        }


def _count(value: Any) -> int:  # noqa: ANN401
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


def parse_import_summary(body: Any) -> ImportSummary | None:  # noqa: ANN401
    """The import summary in a DHIS2 answer, or None when it holds none.

    DHIS2 up to 2.37 answers the summary itself (``{"responseType": "ImportSummary", "status": "ERROR",
    "importCount": {...}, "conflicts": [...]}``, HTTP 200 even when nothing was imported); 2.38 and later
    wrap it in a web message (``{"httpStatus": "Conflict", "status": "WARNING", "response": {...}}``, HTTP
    409 when a value conflicts). Status SUCCESS (older) is read as OK."""
    if not isinstance(body, dict):
        return None
    inner = body.get("response")
    summary = inner if isinstance(inner, dict) and "importCount" in inner else body
    if "importCount" not in summary:
        return None
    counts = summary.get("importCount") if isinstance(summary.get("importCount"), dict) else {}
    status = str(summary.get("status") or body.get("status") or "").upper()
    status = {"SUCCESS": "OK"}.get(status, status)
    if status not in {"OK", "WARNING", "ERROR"}:
        status = "ERROR"
    conflicts = []
    for raw in summary.get("conflicts") or []:
        if isinstance(raw, dict):
            conflicts.append(
                Conflict(
                    object=str(raw.get("object", ""))[:200],
                    value=str(raw.get("value", raw.get("message", "")))[:500],
                    error_code=str(raw.get("errorCode", "") or "")[:16],
                    property=str(raw.get("property", "") or "")[:64],
                )
            )
    return ImportSummary(
        status=status,
        imported=_count(counts.get("imported")),
        updated=_count(counts.get("updated")),
        ignored=_count(counts.get("ignored")),
        deleted=_count(counts.get("deleted")),
        conflicts=tuple(conflicts),
        description=str(summary.get("description") or body.get("message") or "")[:300],
    )


@dataclass(frozen=True)
class PushOutcome:
    sent: int
    status: int
    detail: str
    summary: ImportSummary | None = None

    @property
    def partial(self) -> bool:
        summary = self.summary
        return summary is not None and (
            summary.status != "OK" or bool(summary.conflicts) or summary.ignored > 0
        )


class Dhis2Refused(Dhis2Error):
    """DHIS2 answered with an import summary that took nothing (status ERROR): sending the same data
    again cannot help. The summary's conflicts say what to fix."""

    def __init__(self, message: str, summary: ImportSummary) -> None:
        super().__init__(message, retryable=False)
        self.summary = summary


@runtime_checkable
class Dhis2Client(Protocol):
    def push(self, payload: dict[str, Any]) -> PushOutcome: ...


class NullDhis2Client:
    """Used when AMPARO_DHIS2_URL is unset: sends nothing and logs how much was not sent."""

    def push(self, payload: dict[str, Any]) -> PushOutcome:
        count = len(payload.get("dataValues", []))
        log.info("DHIS2 is not configured (AMPARO_DHIS2_URL): %d data values not sent.", count)
        return PushOutcome(sent=0, status=0, detail="not configured")


class HttpDhis2Client:
    """Posts to ``/api/dataValueSets`` with basic authentication (``username``, ``password``) or a
    personal access token (``token``: ``Authorization: ApiToken …``)."""

    def __init__(
        self, base_url: str, username: str = "", password: str = "", timeout: float = 30.0, *, token: str = ""
    ) -> None:
        self.url = base_url.rstrip("/") + "/api/dataValueSets"
        self.auth = (username, password) if not token else None
        self.headers = {"Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"ApiToken {token}"
        self.timeout = timeout

    def push(self, payload: dict[str, Any]) -> PushOutcome:
        try:
            response = httpx.post(
                self.url,
                json=payload,
                auth=self.auth,
                timeout=self.timeout,
                params={"importStrategy": "CREATE_AND_UPDATE"},
                headers=self.headers,
            )
        except httpx.HTTPError as exc:
            raise Dhis2Error(f"DHIS2 could not be reached ({type(exc).__name__}).") from None
        code = response.status_code
        if code in (401, 403):
            raise Dhis2Error(
                f"DHIS2 refused the credentials (HTTP {code}): check AMPARO_DHIS2_TOKEN, or "
                "AMPARO_DHIS2_USERNAME and AMPARO_DHIS2_PASSWORD.",
                retryable=False,
            )
        if code >= 500 or code in (408, 429):
            raise Dhis2Error(f"DHIS2 answered HTTP {code}.")
        try:
            body = response.json()
        except ValueError:
            body = None
        summary = parse_import_summary(body)
        sent = len(payload.get("dataValues", []))
        if summary is None:
            if code >= 300:
                message = str(body.get("message", ""))[:200] if isinstance(body, dict) else ""
                raise Dhis2Error(
                    f"DHIS2 answered HTTP {code}" + (f": {message}" if message else "."), retryable=False
                )
            return PushOutcome(sent=sent, status=code, detail="")
        detail = ", ".join(f"{k} {v}" for k, v in sorted(summary.counts().items()))
        return PushOutcome(sent=sent, status=code, detail=detail, summary=summary)


def client_from_env() -> Dhis2Client:
    """The DHIS2 client the environment asks for (read at call time)."""
    url = env_str("AMPARO_DHIS2_URL").strip()
    if not url:
        return NullDhis2Client()
    if not url.startswith(("https://", "http://")):
        raise ConfigError("AMPARO_DHIS2_URL must start with https:// (or http:// on a private network).")
    timeout = float(env_int("AMPARO_DHIS2_TIMEOUT", 30, minimum=1))
    token = env_secret("AMPARO_DHIS2_TOKEN")
    username = env_str("AMPARO_DHIS2_USERNAME").strip()
    password = env_secret("AMPARO_DHIS2_PASSWORD")
    if token:
        if username or password:
            raise ConfigError(
                "Set either AMPARO_DHIS2_TOKEN (a personal access token) or AMPARO_DHIS2_USERNAME and "
                "AMPARO_DHIS2_PASSWORD, not both."
            )
        return HttpDhis2Client(url, timeout=timeout, token=token)
    if not username or not password:
        raise ConfigError(
            "AMPARO_DHIS2_URL is set: set AMPARO_DHIS2_TOKEN (or AMPARO_DHIS2_TOKEN_FILE), or "
            "AMPARO_DHIS2_USERNAME and AMPARO_DHIS2_PASSWORD (or AMPARO_DHIS2_PASSWORD_FILE) too."
        )
    return HttpDhis2Client(url, username, password, timeout=timeout)


def _record(
    period: c.Period,
    outcome: str,
    action: ObservatoryAudit,
    *,
    sent: int = 0,
    summary: ImportSummary | None = None,
    detail: str = "",
) -> Dhis2Push:
    """Keep what DHIS2 answered and audit it, in one transaction (the system, ``dhis2``, acts)."""
    counts = summary.counts() if summary else {}
    with transaction.atomic():
        row = Dhis2Push.objects.create(
            period=period.dhis2(),
            outcome=outcome,
            import_status=summary.status if summary else "",
            sent=sent,
            conflicts=[conflict.as_dict() for conflict in summary.conflicts] if summary else [],
            detail=detail[:300],
            **counts,
        )
        if summary is not None:
            fields = ["dataValues", "importCount", "conflicts"]
        else:
            fields = [] if outcome == Dhis2Push.Outcome.FAILED else ["dataValues"]
        audit.record(audit.Actor.system("dhis2"), action, row, fields)
    return row


def push(
    period: c.Period,
    *,
    client: Dhis2Client | None = None,
    attempts: int | None = None,
    delay: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PushOutcome:
    """Build the payload for ``period`` and send it, retrying network failures and 5xx answers with a
    doubling delay, and read DHIS2's import summary.

    - OK: audited as a push;
    - WARNING (some values conflict; HTTP 409 on DHIS2 2.38+): a partial import, returned and audited as
      such with its counts and every conflict; not sent again as a whole;
    - ERROR with nothing imported: the push failed; audited as failed with the conflicts, raised as
      :class:`Dhis2Refused` at once (sending the same data again cannot help).

    Every answer is kept as a :class:`Dhis2Push` row the audit entry names.
    """
    client = client or client_from_env()
    attempts = attempts if attempts is not None else env_int("AMPARO_DHIS2_ATTEMPTS", 4, minimum=1)
    delay = delay if delay is not None else float(env_int("AMPARO_DHIS2_RETRY_SECONDS", 30, minimum=0))
    payload = build_payload(period)
    sent = len(payload.get("dataValues", []))
    last: Dhis2Error | None = None
    for attempt in range(attempts):
        try:
            outcome = client.push(payload)
        except Dhis2Error as exc:
            last = exc
            log.warning("DHIS2 push for %s failed (attempt %d of %d): %s", period, attempt + 1, attempts, exc)
            if not exc.retryable:
                break
            if attempt + 1 < attempts:
                sleep(delay * 2**attempt)
            continue
        summary = outcome.summary
        if summary is not None and summary.status == "ERROR" and summary.taken == 0:
            _record(
                period,
                Dhis2Push.Outcome.FAILED,
                ObservatoryAudit.DHIS2_PUSH_FAILED,
                sent=sent,
                summary=summary,
            )
            raise Dhis2Refused(
                f"DHIS2 imported none of the {sent} data values (status ERROR, {outcome.detail}).", summary
            )
        if outcome.partial:
            _record(
                period,
                Dhis2Push.Outcome.PARTIAL,
                ObservatoryAudit.DHIS2_PUSH_PARTIAL,
                sent=sent,
                summary=summary,
            )
        else:
            _record(
                period, Dhis2Push.Outcome.IMPORTED, ObservatoryAudit.DHIS2_PUSH, sent=sent, summary=summary
            )
        return outcome
    _record(
        period,
        Dhis2Push.Outcome.FAILED,
        ObservatoryAudit.DHIS2_PUSH_FAILED,
        sent=sent,
        detail=str(last or ""),
    )
    raise last or Dhis2Error("DHIS2 push failed.")


def mapping_loaded() -> bool:
    return Dhis2DataElement.objects.exists() and Dhis2OrgUnit.objects.exists()


def export_json(actor: Any, period: c.Period, *, example_if_unmapped: bool = False) -> str:  # noqa: ANN401
    """The payload as a file (``amparo dhis2 export``), audited. With ``example_if_unmapped`` and no
    mapping loaded, the example mapping's placeholder identifiers are used (a demonstration file)."""
    use_example = example_if_unmapped and not mapping_loaded()
    payload = build_payload(period, example_mapping() if use_example else None)
    with transaction.atomic():
        audit.record(
            actor, ObservatoryAudit.DHIS2_EXPORT, ("observatory.dhis2", period.dhis2()), ["dataValues"]
        )
    return json.dumps(payload, indent=2) + "\n"


__all__ = [
    "Conflict",
    "Dhis2Client",
    "Dhis2Error",
    "Dhis2Refused",
    "ImportSummary",
    "HttpDhis2Client",
    "MappingError",
    "NullDhis2Client",
    "PushOutcome",
    "build_payload",
    "check_data_elements",
    "check_loaded_mapping",
    "client_from_env",
    "example_mapping",
    "mapping_loaded",
    "export_json",
    "load_mapping",
    "parse_import_summary",
    "parse_mapping",
    "push",
]
