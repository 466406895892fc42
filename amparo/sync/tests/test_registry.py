"""Every synchronised model takes every value the other installation's database can hold.

The walk below builds, for each synchronised model, a record whose every optional field is as empty as the
database lets it be (no user behind a transition or a note, no person, no consent, blank text), as the system
writes them when an SMS, USSD or web report opens a case or `seed_demo` fills a database. It then sends that
record through the same code a pull or a push runs, as a new record and as changes to an existing one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from amparo.cases import actions
from amparo.cases.actions.services import create_demo_services
from amparo.cases.models import Case
from amparo.core import audit
from amparo.core.models import Agency, District
from amparo.sync import changes, registry

SYSTEM = audit.Actor.system("sms")


def emptiest(f: models.Field, parents: dict[str, models.Model]) -> Any:  # noqa: ANN401
    """The emptiest value the database holds for `f`; a required link points to an existing row."""
    if isinstance(f, models.ForeignKey):
        return None if f.null else parents[f.related_model._meta.label_lower]
    if f.null:
        return None
    if f.has_default():
        return f.get_default()
    if isinstance(f, models.CharField | models.TextField):
        return ""
    if isinstance(f, models.DateTimeField):
        return timezone.now()
    if isinstance(f, models.DateField):
        return dt.date(2026, 11, 30)
    if isinstance(f, models.BooleanField):
        return False
    if isinstance(f, models.IntegerField | models.FloatField | models.DecimalField):
        return 0
    raise AssertionError(f"no empty value for {f.model.__name__}.{f.name} ({type(f).__name__}): add one")


def bare_record(spec: registry.Spec, parents: dict[str, models.Model]) -> models.Model:
    obj = spec.model(pk=uuid.uuid4())
    for f in spec.model._meta.concrete_fields:
        if f.primary_key or f.name in ("created_at", "updated_at"):
            continue
        value = emptiest(f, parents)
        setattr(obj, f.name if isinstance(f, models.ForeignKey) else f.attname, value)
    if spec.label == "cases.case":
        obj.reference = "AMP-BARE-" + uuid.uuid4().hex[:4].upper()
    obj.save(force_insert=True)  # as the system writes it: no form, no clean
    return obj


@pytest.fixture
def parents(db: None) -> dict[str, models.Model]:  # noqa: ARG001
    agency = Agency.objects.get(code="linha-fala-crianca")
    create_demo_services(audit.Actor.system("demo"))
    case = actions.create_case(
        SYSTEM, channel="sms", owning_agency=agency, district=District.objects.get(pk="MZ0702")
    )
    from amparo.cases.models import Service

    return {
        "cases.case": case,
        "core.agency": agency,
        "core.district": District.objects.get(pk="MZ0702"),
        "cases.service": Service.objects.order_by("name").first(),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("label", sorted(registry.SPECS, key=lambda label: registry.SPECS[label].order))
def test_every_synced_model_takes_a_record_with_every_optional_field_empty(
    label: str, parents: dict[str, models.Model]
) -> None:
    spec = registry.SPECS[label]
    original = bare_record(spec, parents)
    payload = {name: registry.dump_field(original, name, spec) for name in spec.field_names()}
    empty = [f.name for f in spec.fields() if payload[f.name] in (None, "", [], {})]
    assert empty, "the walk must leave optional fields empty"
    if label == "cases.case":
        type(original).objects.filter(pk=original.pk).delete()  # the reference is unique: take its place

    # A pull or a push of the record as a new one…
    copy = changes._create(spec, str(uuid.uuid4()), payload)  # noqa: SLF001
    assert {name: registry.dump_field(copy, name, spec) for name in spec.field_names()} | {
        "created_at": payload["created_at"]
    } == payload
    # …and as changes to an existing one: every field emptied at once.
    filled = spec.model.objects.get(pk=copy.pk)
    changes._set_fields(filled, spec, {name: payload[name] for name in empty})  # noqa: SLF001
    again = spec.model.objects.get(pk=copy.pk)
    assert all(registry.dump_field(again, name, spec) == payload[name] for name in empty)


@pytest.mark.django_db
def test_a_record_still_refuses_what_its_database_cannot_hold(parents: dict[str, models.Model]) -> None:
    spec = registry.SPECS["cases.transition"]
    payload = {
        name: registry.dump_field(bare_record(spec, parents), name, spec) for name in spec.field_names()
    }
    for name, bad in [("case", None), ("to_status", "x" * 40), ("case", str(uuid.uuid4())), ("at", None)]:
        with pytest.raises(ValidationError) as refused:
            changes._create(spec, str(uuid.uuid4()), {**payload, name: bad})  # noqa: SLF001
        assert name in refused.value.message_dict


@pytest.mark.django_db
def test_a_case_opened_by_a_channel_has_no_user_behind_it(parents: dict[str, models.Model]) -> None:
    case: Case = parents["cases.case"]
    transition = actions.transition_case(SYSTEM, case, "triaged", reason="Triagem automática.")
    assert transition.actor is None
    spec = registry.SPECS["cases.transition"]
    payload = {name: registry.dump_field(transition, name, spec) for name in spec.field_names()}
    type(transition).objects.filter(pk=transition.pk).delete()
    changes._create(spec, str(transition.pk), payload)  # noqa: SLF001
    assert type(transition).objects.get(pk=transition.pk).actor is None
