"""The access policy as a reviewed table: every role, every permission, every relation of a case
to the user, checked through the three doors a case can be reached by (`can`, the list query
`visible_cases` and the loader `get_case_for_user`).

The expected values below are written out by hand from the product rules; they are not derived
from the code under test. "Y" grants, "." refuses. To change the policy, change the table first.

Product rules the tables encode:
- a case is visible to its owning agency and to agencies with an ACCEPTED referral (pending,
  declined and revoked referrals grant nothing), narrowed by the user's geographic scope;
- identifying fields only to investigator, social_worker, prosecutor, helpline_operator,
  intake_officer and court_officer of an agency with access;
- agency_supervisor sees the case, not identities, and may reassign;
- analyst and national_coordinator see aggregates only; auditor the audit log only; sysadmin
  manages users, agencies and configuration and sees no case content;
- referral decisions belong to the receiving agency; referring (and revoking) to the owning one.

Where the spec is silent the tables record the current design, with a comment saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from amparo.cases.access import get_case_for_user, get_referral_for_user
from amparo.cases.models import Case, Referral, ReferralStatus
from amparo.cases.permissions import CasePermission
from amparo.cases.policy import visible_cases
from amparo.core.models import Agency, AuditEntry, Province, User
from amparo.core.permissions import CorePermission
from amparo.core.policy import UnknownPermission, can
from amparo.core.roles import Role

pytestmark = pytest.mark.django_db

OWNER = "linha-fala-crianca"  # national helpline: owns the case under test
PARTNER = "sernic"  # national: the agency a case is referred to
THIRD = "pgr"  # national: owns a decoy case, or receives a referral that is not the user's
CASE_DISTRICT = "MZ0702"  # Cidade de Nampula, in province MZ07 (Nampula)


# ---------------------------------------------------------------------------------------------
# Relations of the case to the user.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Relation:
    agency: str  # the user's agency
    referral: str | None = None  # status of a referral of the case from OWNER, if any
    referral_to: str | None = None  # its receiving agency (default: the user's agency)
    scope: tuple[str, str | None, str | None] = ("", None, None)  # the user's own scope

    @property
    def receiver(self) -> str:
        return self.referral_to or self.agency


RELATIONS: dict[str, Relation] = {
    # own agency, national scope inherited from the agency
    "OWN": Relation(OWNER),
    # another agency, no referral at all
    "OTHER": Relation(PARTNER),
    # another agency, referral in each state
    "ACC": Relation(PARTNER, ReferralStatus.ACCEPTED),
    "PEND": Relation(PARTNER, ReferralStatus.PENDING),
    "DECL": Relation(PARTNER, ReferralStatus.DECLINED),
    "REVK": Relation(PARTNER, ReferralStatus.REVOKED),
    # another agency; the case was referred and accepted, but by a third agency
    "ACC_ELSE": Relation(PARTNER, ReferralStatus.ACCEPTED, referral_to=THIRD),
    # own agency, user narrowed to the case's province / to another province
    "P_IN": Relation(OWNER, scope=("province", "MZ07", None)),
    "P_OUT": Relation(OWNER, scope=("province", "MZ06", None)),
    # own agency, user narrowed to the case's district / to another district of the same province
    "D_IN": Relation(OWNER, scope=("district", "MZ07", "MZ0702")),
    "D_OUT": Relation(OWNER, scope=("district", "MZ07", "MZ0703")),
    # accepted referral, but the receiving user is narrowed to another district
    "ACC_D_OUT": Relation(PARTNER, ReferralStatus.ACCEPTED, scope=("district", "MZ07", "MZ0703")),
}


# ---------------------------------------------------------------------------------------------
# The expected tables.
# ---------------------------------------------------------------------------------------------

# Case-level permissions, checked against the case under test.
# WRITE and TRANSITION follow READ for every case-working role, the supervisor included (the
# spec does not say otherwise). REFER stays with the owning agency, and so do SET_PRIORITY (the
# time limits are the owner's) and RECORD_CONSENT (the consent to share is asked by who refers). A supervisor of an agency
# with an accepted referral may reassign (current design; see the report).
CASE_MATRIX = """
role                  permission     OWN OTHER ACC PEND DECL REVK ACC_ELSE P_IN P_OUT D_IN D_OUT ACC_D_OUT
helpline_operator     READ            Y    .    Y    .    .    .     .      Y    .     Y    .      .
helpline_operator     WRITE           Y    .    Y    .    .    .     .      Y    .     Y    .      .
helpline_operator     TRANSITION      Y    .    Y    .    .    .     .      Y    .     Y    .      .
helpline_operator     READ_IDENTITY   Y    .    Y    .    .    .     .      Y    .     Y    .      .
helpline_operator     REFER           Y    .    .    .    .    .     .      Y    .     Y    .      .
helpline_operator     SET_PRIORITY    Y    .    .    .    .    .     .      Y    .     Y    .      .
helpline_operator     RECORD_CONSENT  Y    .    .    .    .    .     .      Y    .     Y    .      .
helpline_operator     REASSIGN        .    .    .    .    .    .     .      .    .     .    .      .
intake_officer        READ            Y    .    Y    .    .    .     .      Y    .     Y    .      .
intake_officer        WRITE           Y    .    Y    .    .    .     .      Y    .     Y    .      .
intake_officer        TRANSITION      Y    .    Y    .    .    .     .      Y    .     Y    .      .
intake_officer        READ_IDENTITY   Y    .    Y    .    .    .     .      Y    .     Y    .      .
intake_officer        REFER           Y    .    .    .    .    .     .      Y    .     Y    .      .
intake_officer        SET_PRIORITY    Y    .    .    .    .    .     .      Y    .     Y    .      .
intake_officer        RECORD_CONSENT  Y    .    .    .    .    .     .      Y    .     Y    .      .
intake_officer        REASSIGN        .    .    .    .    .    .     .      .    .     .    .      .
investigator          READ            Y    .    Y    .    .    .     .      Y    .     Y    .      .
investigator          WRITE           Y    .    Y    .    .    .     .      Y    .     Y    .      .
investigator          TRANSITION      Y    .    Y    .    .    .     .      Y    .     Y    .      .
investigator          READ_IDENTITY   Y    .    Y    .    .    .     .      Y    .     Y    .      .
investigator          REFER           Y    .    .    .    .    .     .      Y    .     Y    .      .
investigator          SET_PRIORITY    Y    .    .    .    .    .     .      Y    .     Y    .      .
investigator          RECORD_CONSENT  Y    .    .    .    .    .     .      Y    .     Y    .      .
investigator          REASSIGN        .    .    .    .    .    .     .      .    .     .    .      .
prosecutor            READ            Y    .    Y    .    .    .     .      Y    .     Y    .      .
prosecutor            WRITE           Y    .    Y    .    .    .     .      Y    .     Y    .      .
prosecutor            TRANSITION      Y    .    Y    .    .    .     .      Y    .     Y    .      .
prosecutor            READ_IDENTITY   Y    .    Y    .    .    .     .      Y    .     Y    .      .
prosecutor            REFER           Y    .    .    .    .    .     .      Y    .     Y    .      .
prosecutor            SET_PRIORITY    Y    .    .    .    .    .     .      Y    .     Y    .      .
prosecutor            RECORD_CONSENT  Y    .    .    .    .    .     .      Y    .     Y    .      .
prosecutor            REASSIGN        .    .    .    .    .    .     .      .    .     .    .      .
social_worker         READ            Y    .    Y    .    .    .     .      Y    .     Y    .      .
social_worker         WRITE           Y    .    Y    .    .    .     .      Y    .     Y    .      .
social_worker         TRANSITION      Y    .    Y    .    .    .     .      Y    .     Y    .      .
social_worker         READ_IDENTITY   Y    .    Y    .    .    .     .      Y    .     Y    .      .
social_worker         REFER           Y    .    .    .    .    .     .      Y    .     Y    .      .
social_worker         SET_PRIORITY    Y    .    .    .    .    .     .      Y    .     Y    .      .
social_worker         RECORD_CONSENT  Y    .    .    .    .    .     .      Y    .     Y    .      .
social_worker         REASSIGN        .    .    .    .    .    .     .      .    .     .    .      .
court_officer         READ            Y    .    Y    .    .    .     .      Y    .     Y    .      .
court_officer         WRITE           Y    .    Y    .    .    .     .      Y    .     Y    .      .
court_officer         TRANSITION      Y    .    Y    .    .    .     .      Y    .     Y    .      .
court_officer         READ_IDENTITY   Y    .    Y    .    .    .     .      Y    .     Y    .      .
court_officer         REFER           Y    .    .    .    .    .     .      Y    .     Y    .      .
court_officer         SET_PRIORITY    Y    .    .    .    .    .     .      Y    .     Y    .      .
court_officer         RECORD_CONSENT  Y    .    .    .    .    .     .      Y    .     Y    .      .
court_officer         REASSIGN        .    .    .    .    .    .     .      .    .     .    .      .
agency_supervisor     READ            Y    .    Y    .    .    .     .      Y    .     Y    .      .
agency_supervisor     WRITE           Y    .    Y    .    .    .     .      Y    .     Y    .      .
agency_supervisor     TRANSITION      Y    .    Y    .    .    .     .      Y    .     Y    .      .
agency_supervisor     READ_IDENTITY   .    .    .    .    .    .     .      .    .     .    .      .
agency_supervisor     REFER           Y    .    .    .    .    .     .      Y    .     Y    .      .
agency_supervisor     SET_PRIORITY    Y    .    .    .    .    .     .      Y    .     Y    .      .
agency_supervisor     RECORD_CONSENT  Y    .    .    .    .    .     .      Y    .     Y    .      .
agency_supervisor     REASSIGN        Y    .    Y    .    .    .     .      Y    .     Y    .      .
national_coordinator  READ            .    .    .    .    .    .     .      .    .     .    .      .
national_coordinator  WRITE           .    .    .    .    .    .     .      .    .     .    .      .
national_coordinator  TRANSITION      .    .    .    .    .    .     .      .    .     .    .      .
national_coordinator  READ_IDENTITY   .    .    .    .    .    .     .      .    .     .    .      .
national_coordinator  REFER           .    .    .    .    .    .     .      .    .     .    .      .
national_coordinator  SET_PRIORITY    .    .    .    .    .    .     .      .    .     .    .      .
national_coordinator  RECORD_CONSENT  .    .    .    .    .    .     .      .    .     .    .      .
national_coordinator  REASSIGN        .    .    .    .    .    .     .      .    .     .    .      .
analyst               READ            .    .    .    .    .    .     .      .    .     .    .      .
analyst               WRITE           .    .    .    .    .    .     .      .    .     .    .      .
analyst               TRANSITION      .    .    .    .    .    .     .      .    .     .    .      .
analyst               READ_IDENTITY   .    .    .    .    .    .     .      .    .     .    .      .
analyst               REFER           .    .    .    .    .    .     .      .    .     .    .      .
analyst               SET_PRIORITY    .    .    .    .    .    .     .      .    .     .    .      .
analyst               RECORD_CONSENT  .    .    .    .    .    .     .      .    .     .    .      .
analyst               REASSIGN        .    .    .    .    .    .     .      .    .     .    .      .
auditor               READ            .    .    .    .    .    .     .      .    .     .    .      .
auditor               WRITE           .    .    .    .    .    .     .      .    .     .    .      .
auditor               TRANSITION      .    .    .    .    .    .     .      .    .     .    .      .
auditor               READ_IDENTITY   .    .    .    .    .    .     .      .    .     .    .      .
auditor               REFER           .    .    .    .    .    .     .      .    .     .    .      .
auditor               SET_PRIORITY    .    .    .    .    .    .     .      .    .     .    .      .
auditor               RECORD_CONSENT  .    .    .    .    .    .     .      .    .     .    .      .
auditor               REASSIGN        .    .    .    .    .    .     .      .    .     .    .      .
sysadmin              READ            .    .    .    .    .    .     .      .    .     .    .      .
sysadmin              WRITE           .    .    .    .    .    .     .      .    .     .    .      .
sysadmin              TRANSITION      .    .    .    .    .    .     .      .    .     .    .      .
sysadmin              READ_IDENTITY   .    .    .    .    .    .     .      .    .     .    .      .
sysadmin              REFER           .    .    .    .    .    .     .      .    .     .    .      .
sysadmin              SET_PRIORITY    .    .    .    .    .    .     .      .    .     .    .      .
sysadmin              RECORD_CONSENT  .    .    .    .    .    .     .      .    .     .    .      .
sysadmin              REASSIGN        .    .    .    .    .    .     .      .    .     .    .      .
"""

# Permissions that do not depend on a case: the same answer with no object, with a case of the
# user's agency and with a case of another agency. Prosecutors and court officers receive cases
# rather than open them (current design). Supervisors see their statistics (current design:
# AGGREGATE_ROLES includes them).
ROLE_MATRIX = """
role                  LIST CREATE USER_MANAGE AGENCY_MANAGE CONFIG_MANAGE AUDIT_READ AGGREGATE_READ
helpline_operator       Y    Y        .            .             .            .            .
intake_officer          Y    Y        .            .             .            .            .
investigator            Y    Y        .            .             .            .            .
prosecutor              Y    .        .            .             .            .            .
social_worker           Y    Y        .            .             .            .            .
court_officer           Y    .        .            .             .            .            .
agency_supervisor       Y    Y        .            .             .            .            Y
national_coordinator    .    .        .            .             .            .            Y
analyst                 .    .        .            .             .            .            Y
auditor                 .    .        .            .             .            Y            .
sysadmin                .    .        Y            Y             Y            .            .
"""

# Deciding a referral of the case from OWNER (to PARTNER unless said otherwise).
#   TO_*       the user is in the receiving agency and the referral is pending/accepted/declined/revoked
#   FROM_PEND  the user is in the referring (owning) agency
#   THIRD_PEND the user is in an agency the referral has nothing to do with
#   TO_D_OUT   the user is in the receiving agency, narrowed to a district the case is not in
REFERRAL_MATRIX = """
role                  TO_PEND TO_ACC TO_DECL TO_REVK FROM_PEND THIRD_PEND TO_D_OUT
helpline_operator        Y       .      .       .        .         .         .
intake_officer           Y       .      .       .        .         .         .
investigator             Y       .      .       .        .         .         .
prosecutor               Y       .      .       .        .         .         .
social_worker            Y       .      .       .        .         .         .
court_officer            Y       .      .       .        .         .         .
agency_supervisor        Y       .      .       .        .         .         .
national_coordinator     .       .      .       .        .         .         .
analyst                  .       .      .       .        .         .         .
auditor                  .       .      .       .        .         .         .
sysadmin                 .       .      .       .        .         .         .
"""

# (user's agency, referral status, user's own scope) for each referral column.
REFERRAL_RELATIONS: dict[str, tuple[str, str, tuple[str, str | None, str | None]]] = {
    "TO_PEND": (PARTNER, ReferralStatus.PENDING, ("", None, None)),
    "TO_ACC": (PARTNER, ReferralStatus.ACCEPTED, ("", None, None)),
    "TO_DECL": (PARTNER, ReferralStatus.DECLINED, ("", None, None)),
    "TO_REVK": (PARTNER, ReferralStatus.REVOKED, ("", None, None)),
    "FROM_PEND": (OWNER, ReferralStatus.PENDING, ("", None, None)),
    "THIRD_PEND": (THIRD, ReferralStatus.PENDING, ("", None, None)),
    "TO_D_OUT": (PARTNER, ReferralStatus.PENDING, ("district", "MZ07", "MZ0703")),
}


def _parse(text: str, with_permission: bool) -> tuple[list[str], dict[tuple[str, ...], dict[str, bool]]]:
    lines = [line.split() for line in text.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    key_width = 2 if with_permission else 1
    columns = header[key_width:]
    table: dict[tuple[str, ...], dict[str, bool]] = {}
    for row in rows:
        key, marks = tuple(row[:key_width]), row[key_width:]
        assert len(marks) == len(columns), f"row {key} has {len(marks)} marks for {len(columns)} columns"
        assert set(marks) <= {"Y", "."}, f"row {key}: marks are Y or ."
        assert key not in table, f"row {key} appears twice"
        table[key] = {col: mark == "Y" for col, mark in zip(columns, marks, strict=True)}
    return columns, table


CASE_PERMISSIONS = [
    CasePermission.READ,
    CasePermission.WRITE,
    CasePermission.TRANSITION,
    CasePermission.READ_IDENTITY,
    CasePermission.REFER,
    CasePermission.REASSIGN,
    CasePermission.SET_PRIORITY,
    CasePermission.RECORD_CONSENT,
]
ROLE_PERMISSIONS: dict[str, StrEnum] = {
    "LIST": CasePermission.LIST,
    "CREATE": CasePermission.CREATE,
    **{p.name: p for p in CorePermission},
}

CASE_COLUMNS, CASE_TABLE = _parse(CASE_MATRIX, with_permission=True)
ROLE_COLUMNS, ROLE_TABLE = _parse(ROLE_MATRIX, with_permission=False)
REFERRAL_COLUMNS, REFERRAL_TABLE = _parse(REFERRAL_MATRIX, with_permission=False)


def expected_case(role: str, permission: CasePermission, relation: str) -> bool:
    return CASE_TABLE[(role, permission.name)][relation]


# ---------------------------------------------------------------------------------------------
# The tables themselves are complete.
# ---------------------------------------------------------------------------------------------


def test_case_matrix_covers_every_role_permission_and_relation() -> None:
    assert set(CASE_COLUMNS) == set(RELATIONS)
    assert set(CASE_TABLE) == {(r, p.name) for r in Role.values for p in CASE_PERMISSIONS}


def test_role_and_referral_matrices_cover_every_role_and_permission() -> None:
    assert set(ROLE_TABLE) == {(r,) for r in Role.values}
    assert set(ROLE_COLUMNS) == set(ROLE_PERMISSIONS)
    assert set(REFERRAL_TABLE) == {(r,) for r in Role.values}
    assert set(REFERRAL_COLUMNS) == set(REFERRAL_RELATIONS)
    # Every permission of both enums is in one of the three tables (DECIDE_REFERRAL in the last).
    covered = {p.value for p in CASE_PERMISSIONS} | {p.value for p in ROLE_PERMISSIONS.values()}
    covered.add(CasePermission.DECIDE_REFERRAL.value)
    assert covered == {p.value for p in CasePermission} | {p.value for p in CorePermission}


# ---------------------------------------------------------------------------------------------
# Building the world for one cell.
# ---------------------------------------------------------------------------------------------

Builder = Callable[[tuple[str, ...], str], tuple[User, Case]]


def _agency(code: str) -> Agency:
    return Agency.objects.get(code=code)


@pytest.fixture
def world(make_user: Callable[..., User], make_case: Callable[..., Any]) -> Builder:
    """The case under test (owned by OWNER, in CASE_DISTRICT), a decoy case of THIRD that no
    user of the matrix may see, and a user with `roles` in the given relation to the case."""

    def build(roles: tuple[str, ...], relation: str) -> tuple[User, Case]:
        rel = RELATIONS[relation]
        case = make_case(agency=OWNER, district=CASE_DISTRICT)
        make_case(agency=THIRD, district=CASE_DISTRICT)
        if rel.referral:
            sender = make_user(Role.INTAKE_OFFICER, agency=OWNER)
            Referral.objects.create(
                case=case,
                from_agency=case.owning_agency,
                to_agency=_agency(rel.receiver),
                status=rel.referral,
                reason="Synthetic referral for the access matrix.",
                created_by=sender,
            )
        level, prov, dist = rel.scope
        user = make_user(
            *roles, agency=rel.agency, scope_level=level, scope_province=prov, scope_district=dist
        )
        return user, case

    return build


def _load_outcome(user: Any, case: Case, permission: StrEnum) -> str:
    """What get_case_for_user does: 'ok', '404' or '403'."""
    try:
        loaded = get_case_for_user(user, case.reference, permission)
    except Http404:
        return "404"
    except PermissionDenied:
        return "403"
    assert loaded.pk == case.pk
    return "ok"


def _expected_load(read: bool, granted: bool) -> str:
    if not read:
        return "404"
    return "ok" if granted else "403"


def _visible_pks(user: Any) -> set[Any]:
    return set(visible_cases(user).values_list("pk", flat=True))


# ---------------------------------------------------------------------------------------------
# The matrix, through can, visible_cases and get_case_for_user.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("relation", list(RELATIONS))
@pytest.mark.parametrize("role", Role.values)
def test_case_permissions_follow_the_matrix(world: Builder, role: str, relation: str) -> None:
    user, case = world((role,), relation)
    wrong = []
    for permission in CASE_PERMISSIONS:
        expected = expected_case(role, permission, relation)
        got = can(user, permission, case)
        if got is not expected:
            wrong.append(f"can({role}, {permission.name}, {relation}) is {got}, expected {expected}")
    assert wrong == []


@pytest.mark.parametrize("relation", list(RELATIONS))
@pytest.mark.parametrize("role", Role.values)
def test_case_list_agrees_with_can(world: Builder, role: str, relation: str) -> None:
    user, case = world((role,), relation)
    expected = expected_case(role, CasePermission.READ, relation)
    assert can(user, CasePermission.READ, case) is expected
    # The decoy case of a third agency never shows; the case under test shows exactly when readable.
    assert _visible_pks(user) == ({case.pk} if expected else set())


@pytest.mark.parametrize("relation", list(RELATIONS))
@pytest.mark.parametrize("role", Role.values)
def test_case_loader_gives_404_to_outsiders_and_403_to_readers_without_the_right(
    world: Builder, role: str, relation: str
) -> None:
    user, case = world((role,), relation)
    read = expected_case(role, CasePermission.READ, relation)
    wrong = []
    for permission in CASE_PERMISSIONS:
        expected = _expected_load(read, expected_case(role, permission, relation))
        before = AuditEntry.objects.filter(action="cases:case:view").count()
        got = _load_outcome(user, case, permission)
        after = AuditEntry.objects.filter(action="cases:case:view").count()
        if got != expected:
            wrong.append(
                f"get_case_for_user({role}, {permission.name}, {relation}) gave {got}, expected {expected}"
            )
        if got == "ok" and after != before + 1:
            wrong.append(f"get_case_for_user({role}, {permission.name}, {relation}) did not audit the view")
    assert wrong == []


@pytest.mark.parametrize("role", Role.values)
def test_role_level_permissions_follow_the_matrix_whatever_the_case(
    make_user: Callable[..., User], make_case: Callable[..., Any], role: str
) -> None:
    user = make_user(role, agency=OWNER)
    own_case = make_case(agency=OWNER)
    other_case = make_case(agency=THIRD)
    wrong = []
    for column, permission in ROLE_PERMISSIONS.items():
        expected = ROLE_TABLE[(role,)][column]
        for label, obj in (("no object", None), ("own case", own_case), ("other case", other_case)):
            got = can(user, permission, obj)
            if got is not expected:
                wrong.append(f"can({role}, {column}, {label}) is {got}, expected {expected}")
    assert wrong == []


@pytest.mark.parametrize("relation", list(REFERRAL_RELATIONS))
@pytest.mark.parametrize("role", Role.values)
def test_referral_decisions_follow_the_matrix(
    make_user: Callable[..., User], make_case: Callable[..., Any], role: str, relation: str
) -> None:
    agency, status, (level, prov, dist) = REFERRAL_RELATIONS[relation]
    case = make_case(agency=OWNER, district=CASE_DISTRICT)
    sender = make_user(Role.INTAKE_OFFICER, agency=OWNER)
    referral = Referral.objects.create(
        case=case,
        from_agency=case.owning_agency,
        to_agency=_agency(PARTNER),
        status=status,
        reason="Synthetic.",
        created_by=sender,
    )
    user = make_user(role, agency=agency, scope_level=level, scope_province=prov, scope_district=dist)
    expected = REFERRAL_TABLE[(role,)][relation]

    assert can(user, CasePermission.DECIDE_REFERRAL, referral) is expected
    # A referral is decided as a referral, never as a case.
    assert can(user, CasePermission.DECIDE_REFERRAL, case) is False

    involved = agency in (OWNER, PARTNER)
    try:
        get_referral_for_user(user, referral.pk, CasePermission.DECIDE_REFERRAL)
        outcome = "ok"
    except Http404:
        outcome = "404"
    except PermissionDenied:
        outcome = "403"
    assert outcome == ("404" if not involved else "ok" if expected else "403")


# ---------------------------------------------------------------------------------------------
# Users with several roles: the union of what each role grants, nothing more.
# ---------------------------------------------------------------------------------------------

P, C = CasePermission, CorePermission
CASE_WORK = {P.READ, P.WRITE, P.TRANSITION}
OWNER_WORK = {P.REFER, P.SET_PRIORITY, P.RECORD_CONSENT}  # the owning agency's rights

MULTI_ROLE_CASES: list[tuple[tuple[str, ...], str, set[StrEnum]]] = [
    # roles, relation, everything granted (case permissions on the case, role-level permissions)
    (
        (Role.ANALYST, Role.INVESTIGATOR),
        "OWN",
        CASE_WORK | OWNER_WORK | {P.LIST, P.READ_IDENTITY, P.CREATE, C.AGGREGATE_READ},
    ),
    ((Role.ANALYST, Role.INVESTIGATOR), "PEND", {P.LIST, P.CREATE, C.AGGREGATE_READ}),
    (
        (Role.AGENCY_SUPERVISOR, Role.INVESTIGATOR),
        "OWN",
        CASE_WORK | OWNER_WORK | {P.LIST, P.READ_IDENTITY, P.REASSIGN, P.CREATE, C.AGGREGATE_READ},
    ),
    (
        (Role.AGENCY_SUPERVISOR, Role.INVESTIGATOR),
        "ACC",
        CASE_WORK | {P.LIST, P.READ_IDENTITY, P.REASSIGN, P.CREATE, C.AGGREGATE_READ},
    ),
    (
        (Role.AGENCY_SUPERVISOR, Role.ANALYST),
        "OWN",
        CASE_WORK | OWNER_WORK | {P.LIST, P.REASSIGN, P.CREATE, C.AGGREGATE_READ},
    ),
    ((Role.PROSECUTOR, Role.COURT_OFFICER), "ACC", CASE_WORK | {P.LIST, P.READ_IDENTITY}),
    ((Role.PROSECUTOR, Role.COURT_OFFICER), "REVK", {P.LIST}),
    ((Role.AUDITOR, Role.SYSADMIN), "OWN", {C.AUDIT_READ, C.USER_MANAGE, C.AGENCY_MANAGE, C.CONFIG_MANAGE}),
    ((Role.ANALYST, Role.NATIONAL_COORDINATOR), "OWN", {C.AGGREGATE_READ}),
    ((Role.SOCIAL_WORKER, Role.AUDITOR), "D_OUT", {P.LIST, P.CREATE, C.AUDIT_READ}),
    (
        (Role.SOCIAL_WORKER, Role.AUDITOR),
        "D_IN",
        CASE_WORK | OWNER_WORK | {P.LIST, P.READ_IDENTITY, P.CREATE, C.AUDIT_READ},
    ),
]


@pytest.mark.parametrize(
    ("roles", "relation", "granted"),
    MULTI_ROLE_CASES,
    ids=[f"{'+'.join(r)}-{rel}" for r, rel, _ in MULTI_ROLE_CASES],
)
def test_several_roles_grant_the_union(
    world: Builder, roles: tuple[str, ...], relation: str, granted: set[StrEnum]
) -> None:
    user, case = world(roles, relation)
    everything = [p for p in CasePermission if p != P.DECIDE_REFERRAL] + list(CorePermission)
    got = {p for p in everything if can(user, p, None if p in (P.LIST, P.CREATE, *CorePermission) else case)}
    assert got == granted
    assert _visible_pks(user) == ({case.pk} if P.READ in granted else set())


# ---------------------------------------------------------------------------------------------
# Nobody without an active account gets anything.
# ---------------------------------------------------------------------------------------------

ALL_PERMISSIONS: list[StrEnum] = [*CasePermission, *CorePermission]


@pytest.mark.parametrize("relation", ["OWN", "ACC"])
@pytest.mark.parametrize("role", Role.values)
def test_inactive_user_gets_nothing(world: Builder, role: str, relation: str) -> None:
    user, case = world((role,), relation)
    referral = Referral.objects.filter(case=case).first()
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.refresh_from_db()
    assert user.is_active is False
    for permission in ALL_PERMISSIONS:
        for obj in (None, case, referral):
            assert can(user, permission, obj) is False, (permission, obj)
    assert _visible_pks(user) == set()
    for permission in CASE_PERMISSIONS:
        assert _load_outcome(user, case, permission) == "404"


def test_anonymous_user_gets_nothing(make_case: Callable[..., Any], make_user: Callable[..., User]) -> None:
    case = make_case(agency=OWNER)
    sender = make_user(Role.INTAKE_OFFICER, agency=OWNER)
    referral = Referral.objects.create(
        case=case,
        from_agency=case.owning_agency,
        to_agency=_agency(PARTNER),
        reason="Synthetic.",
        created_by=sender,
    )
    anonymous = AnonymousUser()
    for permission in ALL_PERMISSIONS:
        for obj in (None, case, referral):
            assert can(anonymous, permission, obj) is False, (permission, obj)
        assert can(None, permission, case) is False
    assert _visible_pks(anonymous) == set()
    for permission in CASE_PERMISSIONS:
        assert _load_outcome(anonymous, case, permission) == "404"
    with pytest.raises(Http404):
        get_referral_for_user(anonymous, referral.pk, CasePermission.DECIDE_REFERRAL)


class _Bogus(StrEnum):
    DELETE = "cases:case:delete"


def test_unknown_permission_is_an_error_not_a_refusal(
    make_case: Callable[..., Any], make_user: Callable[..., User]
) -> None:
    case = make_case(agency=OWNER)
    investigator = make_user(Role.INVESTIGATOR, agency=OWNER)
    with pytest.raises(UnknownPermission):
        can(investigator, _Bogus.DELETE, case)
    with pytest.raises(UnknownPermission):
        can(AnonymousUser(), _Bogus.DELETE, case)
    # The loader does not treat an unknown permission as granted either.
    with pytest.raises(UnknownPermission):
        get_case_for_user(investigator, case.reference, _Bogus.DELETE)  # type: ignore[arg-type]


def test_unknown_reference_is_404(make_user: Callable[..., User]) -> None:
    investigator = make_user(Role.INVESTIGATOR, agency=OWNER)
    with pytest.raises(Http404):
        get_case_for_user(investigator, "AMP-0000-0000")


# ---------------------------------------------------------------------------------------------
# Geographic scope: inherited from the agency, or the user's own.
# ---------------------------------------------------------------------------------------------


def _scoped_agency(code: str, level: str, province: str | None, district: str | None) -> Agency:
    return Agency.objects.create(
        code=code,
        name=f"Test agency {code}",
        short_name=code,
        kind="social_welfare",
        scope_level=level,
        province_id=province,
        district_id=district,
    )


SCOPE_CASES: list[
    tuple[str, tuple[str, str | None, str | None], tuple[str, str | None, str | None], set[str]]
] = [
    # agency scope, user's own scope, the effective scope, the cases seen (by district; "-" = no place,
    # "MZ07" = province known, district not)
    (("province", "MZ07", None), ("", None, None), ("province", "MZ07", None), {"MZ0702", "MZ0703", "MZ07"}),
    (("province", "MZ07", None), ("district", "MZ07", "MZ0702"), ("district", "MZ07", "MZ0702"), {"MZ0702"}),
    (("district", "MZ07", "MZ0702"), ("", None, None), ("district", "MZ07", "MZ0702"), {"MZ0702"}),
    (
        ("national", None, None),
        ("", None, None),
        ("national", None, None),
        {"MZ0702", "MZ0703", "MZ0601", "MZ07", "-"},
    ),
    (
        ("national", None, None),
        ("province", "MZ07", None),
        ("province", "MZ07", None),
        {"MZ0702", "MZ0703", "MZ07"},
    ),
    (("national", None, None), ("district", "MZ07", "MZ0703"), ("district", "MZ07", "MZ0703"), {"MZ0703"}),
    (("national", None, None), ("province", "MZ06", None), ("province", "MZ06", None), {"MZ0601"}),
]


@pytest.mark.parametrize(
    ("agency_scope", "user_scope", "effective", "seen"),
    SCOPE_CASES,
    ids=[f"agency_{a[0]}-user_{u[0] or 'inherit'}-{i}" for i, (a, u, _, _) in enumerate(SCOPE_CASES)],
)
def test_user_scope_is_inherited_from_the_agency_or_overrides_it(
    make_user: Callable[..., User],
    make_case: Callable[..., Any],
    agency_scope: tuple[str, str | None, str | None],
    user_scope: tuple[str, str | None, str | None],
    effective: tuple[str, str | None, str | None],
    seen: set[str],
) -> None:
    agency = _scoped_agency("test-scoped", *agency_scope)
    cases = {
        "MZ0702": make_case(agency=agency, district="MZ0702"),
        "MZ0703": make_case(agency=agency, district="MZ0703"),
        "MZ0601": make_case(agency=agency, district="MZ0601"),
        "MZ07": make_case(agency=agency, district=None, province=Province.objects.get(pk="MZ07")),
        "-": make_case(agency=agency, district=None),
    }
    level, prov, dist = user_scope
    user = make_user(
        Role.SOCIAL_WORKER, agency=agency, scope_level=level, scope_province=prov, scope_district=dist
    )
    assert user.effective_scope() == effective
    readable = {place for place, case in cases.items() if can(user, CasePermission.READ_IDENTITY, case)}
    assert readable == seen
    assert _visible_pks(user) == {cases[place].pk for place in seen}


def test_seeded_provincial_court_inherits_its_province(
    make_user: Callable[..., User], make_case: Callable[..., Any]
) -> None:
    in_maputo = make_case(agency="tribunal-menores-maputo", district="MZ0601")
    in_nampula = make_case(agency="tribunal-menores-maputo", district="MZ0702")
    officer = make_user(Role.COURT_OFFICER, agency="tribunal-menores-maputo")
    assert officer.effective_scope() == ("province", "MZ06", None)
    assert can(officer, CasePermission.READ, in_maputo) is True
    assert can(officer, CasePermission.READ, in_nampula) is False
    assert _visible_pks(officer) == {in_maputo.pk}


@pytest.mark.parametrize("level", ["province", "district"])
def test_user_with_an_incomplete_scope_sees_nothing_in_the_list_either(
    make_user: Callable[..., User], make_case: Callable[..., Any], level: str
) -> None:
    """A user whose scope names a level but no place: `can` refuses every case, and so must the list
    (a filter on a NULL province or district would otherwise list the cases that have no place)."""
    placed = make_case(agency=OWNER, district="MZ0702")
    placeless = make_case(agency=OWNER, district=None)
    with pytest.raises(ValidationError):
        make_user(Role.INVESTIGATOR, agency=OWNER, scope_level=level)
    # A row corrupted behind the actions' back (no place for its level) still sees nothing.
    user = make_user(Role.INVESTIGATOR, agency=OWNER)
    User.objects.filter(pk=user.pk).update(scope_level=level)
    user = User.objects.get(pk=user.pk)
    assert can(user, CasePermission.READ, placed) is False
    assert can(user, CasePermission.READ, placeless) is False
    assert _visible_pks(user) == set()
