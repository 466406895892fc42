import pytest
from django.db import connection

from amparo.cases import actions
from amparo.cases.access import get_case_for_user
from amparo.core import audit
from amparo.core.models import AuditEntry


@pytest.mark.django_db
def test_created_case_is_audited_and_readable_by_owning_agency(make_user, make_case):
    case = make_case(victim_name="Zélia Inventada", victim_phone="+258 84 000 1111")
    operator = make_user("helpline_operator", agency="linha-fala-crianca")
    loaded = get_case_for_user(operator, case.reference)
    assert loaded.pk == case.pk
    actions_logged = list(AuditEntry.objects.values_list("action", flat=True))
    assert "cases:case:create" in actions_logged
    assert actions_logged[-1] == "cases:case:view"
    assert list(audit.verify()) == []


@pytest.mark.django_db
def test_victim_name_and_phone_never_reach_the_database_in_clear(make_case):
    make_case(victim_name="Zélia Inventada", victim_phone="+258 84 000 1111")
    with connection.cursor() as cur:
        cur.execute("SELECT name, phone, name_index, phone_index FROM cases_person")
        rows = cur.fetchall()
    flat = " ".join(str(v) for row in rows for v in row)
    assert rows
    assert "Zélia" not in flat
    assert "Inventada" not in flat
    assert "840001111" not in flat
    assert "84 000 1111" not in flat
    assert actions.find_persons_by_phone("00258840001111").count() == 1
