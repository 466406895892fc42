"""The case workflow, driven through amparo.cases.actions.transition_case.

The allowed transitions are written out below as reviewed data; a test pins
amparo.cases.workflow.ALLOWED to them, and every other pair of statuses must be refused
without touching the case, its history or the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amparo.cases import actions
from amparo.cases.models import Case, Transition
from amparo.cases.workflow import ALLOWED, COURT_OUTCOMES, Outcome, Status, TransitionError
from amparo.core import audit
from amparo.core.models import AuditEntry, AuditHead, User
from amparo.core.roles import Role

pytestmark = pytest.mark.django_db

SYSTEM = audit.Actor.system("tests")
AGENCY = "sernic"

R, TR, AS, RF, UI, WP, IC, CL = (
    "received",
    "triaged",
    "assigned",
    "referred",
    "under_investigation",
    "with_prosecutor",
    "in_court",
    "closed",
)
EXPECTED_ALLOWED: dict[str, set[str]] = {
    R: {TR, CL},
    TR: {AS, RF, CL},
    AS: {RF, UI, CL},
    RF: {AS, UI, CL},
    UI: {RF, WP, CL},
    WP: {UI, IC, CL},  # a prosecutor may send a case back for more investigation
    IC: {CL},
    CL: {TR},  # reopening goes back to triage
}
ALLOWED_PAIRS = sorted((a, b) for a, targets in EXPECTED_ALLOWED.items() for b in targets)
FORBIDDEN_PAIRS = [(a, b) for a in Status.values for b in Status.values if b not in EXPECTED_ALLOWED[a]]
CLOSABLE_FROM = sorted(a for a, targets in EXPECTED_ALLOWED.items() if CL in targets)
VERDICTS = {"convicted", "acquitted"}
REASON = "Synthetic reason for the change of status."


def _ids(pairs: list[tuple[str, str]]) -> list[str]:
    return [f"{a}->{b}" for a, b in pairs]


@pytest.fixture
def officer(make_user: Callable[..., User]) -> User:
    return make_user(Role.INVESTIGATOR, agency=AGENCY)


@pytest.fixture
def case_at(make_case: Callable[..., Any]) -> Callable[[str], Case]:
    """A fresh case put straight into `status` (set-up only: the transition under test is the next one)."""

    def make(status: str) -> Case:
        case = make_case(agency=AGENCY)
        Case.objects.filter(pk=case.pk).update(status=status, outcome="dismissed" if status == CL else "")
        case.refresh_from_db()
        return case

    return make


def _closing_outcome(current: str) -> str:
    return "convicted" if current == IC else "dismissed"


def _state(case: Case) -> tuple[Any, ...]:
    """Everything a refused transition must leave alone."""
    row = Case.objects.get(pk=case.pk)
    head = AuditHead.objects.filter(pk="national").values_list("last_hash", "count").first()
    return (
        row.status,
        row.outcome,
        row.updated_at,
        Transition.objects.filter(case=case).count(),
        AuditEntry.objects.count(),
        head,
    )


def _refused(actor: Any, case: Case, to: str, exc: type[Exception], **kwargs: Any) -> None:
    before = _state(case)
    in_memory = (case.status, case.outcome)
    with pytest.raises(exc):
        actions.transition_case(actor, case, to, **{"reason": REASON, **kwargs})
    assert _state(case) == before
    assert (case.status, case.outcome) == in_memory


# ---------------------------------------------------------------------------------------------
# The table itself.
# ---------------------------------------------------------------------------------------------


def test_workflow_table_is_the_reviewed_one() -> None:
    assert {str(k): {str(s) for s in v} for k, v in ALLOWED.items()} == EXPECTED_ALLOWED
    assert set(EXPECTED_ALLOWED) == set(Status.values)
    assert {str(o) for o in COURT_OUTCOMES} == VERDICTS
    assert len(ALLOWED_PAIRS) + len(FORBIDDEN_PAIRS) == len(Status.values) ** 2


# ---------------------------------------------------------------------------------------------
# Every allowed pair succeeds, every other pair is refused.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("current", "target"), ALLOWED_PAIRS, ids=_ids(ALLOWED_PAIRS))
def test_allowed_transition_succeeds_and_is_recorded(
    officer: User, case_at: Callable[[str], Case], current: str, target: str
) -> None:
    case = case_at(current)
    outcome = _closing_outcome(current) if target == CL else ""
    last_audit = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    before = timezone.now()

    transition = actions.transition_case(officer, case, target, reason=REASON, outcome=outcome)

    after = timezone.now()
    transition.refresh_from_db()
    assert (transition.case_id, transition.from_status, transition.to_status) == (case.pk, current, target)
    assert transition.outcome == outcome
    assert transition.actor_id == officer.pk
    assert transition.reason == REASON
    assert before <= transition.at <= after
    row = Case.objects.get(pk=case.pk)
    assert (row.status, row.outcome) == (target, outcome)
    assert (case.status, case.outcome) == (target, outcome)

    entries = list(AuditEntry.objects.filter(id__gt=last_audit))
    assert [e.action for e in entries] == ["cases:case:transition"]
    entry = entries[0]
    assert (entry.object_type, entry.object_id) == ("cases.case", str(case.pk))
    assert (entry.actor_user_id, entry.actor_username, entry.actor_agency) == (
        officer.pk,
        officer.username,
        AGENCY,
    )
    # The first acknowledging or acting step stamps the case's time limits (a fresh case has neither).
    stamped = {"acknowledged_at"} if target in {TR, AS, RF, UI, WP, IC, CL} else set()
    stamped |= {"actioned_at"} if target in {RF, UI, WP, IC, CL} else set()
    assert entry.fields == sorted({"status", *(["outcome"] if outcome else []), *stamped})
    assert (row.acknowledged_at is not None, row.actioned_at is not None) == (
        "acknowledged_at" in stamped,
        "actioned_at" in stamped,
    )
    assert before <= entry.at <= after
    assert list(audit.verify()) == []


@pytest.mark.parametrize(("current", "target"), FORBIDDEN_PAIRS, ids=_ids(FORBIDDEN_PAIRS))
def test_forbidden_transition_is_refused_and_changes_nothing(
    officer: User, case_at: Callable[[str], Case], current: str, target: str
) -> None:
    case = case_at(current)
    # Give the closing outcome a valid closure would need, so that only the pair is wrong.
    outcome = _closing_outcome(current) if target == CL else ""
    _refused(officer, case, target, TransitionError, outcome=outcome)


def test_forbidden_pairs_include_every_self_transition() -> None:
    assert {(s, s) for s in Status.values} <= set(FORBIDDEN_PAIRS)


@pytest.mark.parametrize("target", ["archived", "", "CLOSED", "Triaged"])
def test_unknown_status_is_refused(officer: User, case_at: Callable[[str], Case], target: str) -> None:
    _refused(officer, case_at(R), target, TransitionError)


# ---------------------------------------------------------------------------------------------
# Outcomes and reasons.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["", "banana", "Convicted"])
@pytest.mark.parametrize("current", CLOSABLE_FROM)
def test_closing_needs_a_known_outcome(
    officer: User, case_at: Callable[[str], Case], current: str, outcome: str
) -> None:
    _refused(officer, case_at(current), CL, TransitionError, outcome=outcome)


@pytest.mark.parametrize("outcome", Outcome.values)
@pytest.mark.parametrize("current", CLOSABLE_FROM)
def test_verdicts_only_close_a_case_in_court(
    officer: User, case_at: Callable[[str], Case], current: str, outcome: str
) -> None:
    case = case_at(current)
    if outcome in VERDICTS and current != IC:
        _refused(officer, case, CL, TransitionError, outcome=outcome)
    else:
        actions.transition_case(officer, case, CL, reason=REASON, outcome=outcome)
        assert Case.objects.values_list("status", "outcome").get(pk=case.pk) == (CL, outcome)


NON_CLOSING = [(a, b) for a, b in ALLOWED_PAIRS if b != CL]


@pytest.mark.parametrize("outcome", ["dismissed", "convicted"])
@pytest.mark.parametrize(("current", "target"), NON_CLOSING, ids=_ids(NON_CLOSING))
def test_outcome_on_a_non_closing_transition_is_refused(
    officer: User, case_at: Callable[[str], Case], current: str, target: str, outcome: str
) -> None:
    _refused(officer, case_at(current), target, TransitionError, outcome=outcome)


@pytest.mark.parametrize("reason", ["", "   ", "\n\t "])
@pytest.mark.parametrize(("current", "target", "outcome"), [(R, TR, ""), (IC, CL, "acquitted"), (CL, TR, "")])
def test_blank_reason_is_refused(
    officer: User, case_at: Callable[[str], Case], current: str, target: str, outcome: str, reason: str
) -> None:
    _refused(officer, case_at(current), target, TransitionError, outcome=outcome, reason=reason)


def test_reopening_clears_the_outcome(officer: User, case_at: Callable[[str], Case]) -> None:
    case = case_at(IC)
    actions.transition_case(officer, case, CL, reason=REASON, outcome="convicted")
    actions.transition_case(officer, case, TR, reason="New information arrived.")
    assert Case.objects.values_list("status", "outcome").get(pk=case.pk) == (TR, "")
    assert list(
        Transition.objects.filter(case=case).order_by("at").values_list("from_status", "to_status", "outcome")
    ) == [
        (IC, CL, "convicted"),
        (CL, TR, ""),
    ]


# ---------------------------------------------------------------------------------------------
# Who may move a case, and when it happened.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "agency"),
    [
        ((Role.ANALYST,), AGENCY),
        ((Role.AUDITOR,), AGENCY),
        ((Role.SYSADMIN,), AGENCY),
        ((Role.INVESTIGATOR,), "prm"),
    ],
)
def test_users_without_the_transition_right_are_refused(
    make_user: Callable[..., User], case_at: Callable[[str], Case], roles: tuple[str, ...], agency: str
) -> None:
    _refused(make_user(*roles, agency=agency), case_at(R), TR, PermissionDenied)


def test_staff_cannot_back_date_a_transition(officer: User, case_at: Callable[[str], Case]) -> None:
    case = case_at(R)
    _refused(officer, case, TR, PermissionDenied, at=timezone.now() - dt.timedelta(days=1))


def test_system_may_back_date_a_transition(make_case: Callable[..., Any]) -> None:
    received = timezone.now() - dt.timedelta(days=30)
    case = make_case(agency=AGENCY, received_at=received)
    at = received + dt.timedelta(days=2)
    transition = actions.transition_case(SYSTEM, case, TR, reason=REASON, at=at)
    transition.refresh_from_db()
    assert transition.at == at
    assert transition.actor_id is None
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry is not None
    assert (entry.action, entry.actor_user_id, entry.actor_channel) == (
        "cases:case:transition",
        None,
        "tests",
    )


@pytest.mark.parametrize(
    "offset",
    [
        pytest.param(dt.timedelta(days=-1), id="before-the-case-was-received"),
        pytest.param(dt.timedelta(days=4), id="before-the-last-transition"),
        pytest.param(dt.timedelta(days=5), id="at-the-time-of-the-last-transition"),
        pytest.param(dt.timedelta(days=365), id="in-the-future"),
    ],
)
def test_back_dating_cannot_reorder_the_history(make_case: Callable[..., Any], offset: dt.timedelta) -> None:
    """A back-dated transition must come after the case's last one (and after it was received, and
    not in the future), or the history ordered by time would no longer end at the case's status."""
    received = timezone.now() - dt.timedelta(days=30)
    case = make_case(agency=AGENCY, received_at=received)
    actions.transition_case(SYSTEM, case, TR, reason=REASON, at=received + dt.timedelta(days=5))
    _refused(SYSTEM, case, AS, ValidationError, at=received + offset)


# ---------------------------------------------------------------------------------------------
# Random walks: the status always equals the end of a connected history.
# ---------------------------------------------------------------------------------------------

HOURS = st.one_of(
    st.none(), st.integers(min_value=-48, max_value=24 * 40)
)  # after receipt (system), or now (staff)
RANDOM_STEP = st.tuples(
    st.sampled_from([*Status.values, "archived"]),  # target
    st.sampled_from(["", *Outcome.values, "banana"]),  # outcome
    st.sampled_from([REASON, "", "  "]),  # reason
    HOURS,
)


def _draw_step(data: st.DataObject, status: str) -> tuple[str, str, str, int | None]:
    """Mostly a move the workflow allows (so that walks go deep), sometimes anything at all."""
    if data.draw(st.integers(min_value=0, max_value=3), label="kind") == 0:
        return data.draw(RANDOM_STEP, label="random step")
    target = data.draw(st.sampled_from(sorted(EXPECTED_ALLOWED[status])), label="target")
    outcome = ""
    if target == CL:
        outcomes = sorted(Outcome.values) if status == IC else sorted(set(Outcome.values) - VERDICTS)
        outcome = data.draw(st.sampled_from(outcomes), label="outcome")
    return target, outcome, REASON, data.draw(HOURS, label="hours")


def _should_succeed(
    status: str,
    target: str,
    outcome: str,
    reason: str,
    at: dt.datetime | None,
    received: dt.datetime,
    last_at: dt.datetime | None,
) -> bool:
    if target not in EXPECTED_ALLOWED.get(status, set()) or not reason.strip():
        return False
    if target == CL:
        if outcome not in Outcome.values or (outcome in VERDICTS and status != IC):
            return False
    elif outcome:
        return False
    if at is not None:
        return at >= received and (last_at is None or at > last_at) and at <= timezone.now()
    return True


def _check_history(case: Case) -> None:
    row = Case.objects.get(pk=case.pk)
    history = list(Transition.objects.filter(case=case).order_by("at"))
    if not history:
        assert (row.status, row.outcome) == (R, "")
    else:
        assert history[0].from_status == R
        for earlier, later in pairwise(history):
            assert later.from_status == earlier.to_status
            assert later.at > earlier.at
        for t in history:
            assert t.to_status in EXPECTED_ALLOWED[t.from_status]
        assert row.status == history[-1].to_status
        assert row.outcome == history[-1].outcome
    audited = AuditEntry.objects.filter(action="cases:case:transition", object_id=str(case.pk)).count()
    assert audited == len(history)


@settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_walks_keep_status_and_history_in_step(
    make_case: Callable[..., Any], officer: User, data: st.DataObject
) -> None:
    received = timezone.now() - dt.timedelta(days=30)
    case = make_case(agency=AGENCY, received_at=received)
    status = R
    last_at: dt.datetime | None = None
    for _ in range(data.draw(st.integers(min_value=0, max_value=25), label="length")):
        target, outcome, reason, hours = _draw_step(data, status)
        at = None if hours is None else received + dt.timedelta(hours=hours)
        actor: Any = officer if at is None else SYSTEM
        if _should_succeed(status, target, outcome, reason, at, received, last_at):
            transition = actions.transition_case(actor, case, target, reason=reason, outcome=outcome, at=at)
            status, last_at = target, transition.at
        else:
            with pytest.raises((TransitionError, ValidationError)):
                actions.transition_case(actor, case, target, reason=reason, outcome=outcome, at=at)
        assert case.status == status
        _check_history(case)
