"""The national action tracker (Act, Educate, Invest) and the training register.

The recommended actions come from the seeds' "way forward" (see
``amparo.observatory.actions.seed_action_tracker``). The training register feeds the indicator
"trained officers per province, inside and outside provincial capitals": a session happens in a
district (urban when it is a provincial capital, unless recorded otherwise) and its participants are
counted by agency, role, province and sex, never named.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from amparo.core.fields import EncryptedTextField
from amparo.core.models import Agency, District, Province

__all__ = [
    "Action",
    "ActionStatus",
    "Milestone",
    "Pillar",
    "TrainingParticipant",
    "TrainingRole",
    "TrainingSession",
]


class Pillar(models.TextChoices):
    ACT = "act", _("Act")
    EDUCATE = "educate", _("Educate")
    INVEST = "invest", _("Invest")


class ActionStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    STALLED = "stalled", _("Stalled")
    DONE = "done", _("Done")


class Action(models.Model):
    """One recommended national action and how far it has gone."""

    key = models.SlugField(_("key"), max_length=60, unique=True, help_text=_("A stable identifier."))
    pillar = models.CharField(_("pillar"), max_length=8, choices=Pillar.choices)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    lead_agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="led_actions", verbose_name=_("lead agency")
    )
    lead_to_be_confirmed = models.BooleanField(
        _("lead agency to be confirmed"),
        default=False,
        help_text=_("The source names no lead agency; the coordinator holds it until one is agreed."),
    )
    supporting_agencies = models.ManyToManyField(
        Agency, blank=True, related_name="supported_actions", verbose_name=_("supporting agencies")
    )
    status = models.CharField(
        _("status"), max_length=12, choices=ActionStatus.choices, default=ActionStatus.NOT_STARTED
    )
    evidence_notes = EncryptedTextField(_("evidence notes"))
    budget_allocated = models.DecimalField(
        _("budget allocated (MZN)"), max_digits=16, decimal_places=2, default=0
    )
    budget_spent = models.DecimalField(_("budget spent (MZN)"), max_digits=16, decimal_places=2, default=0)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["pillar", "position", "key"]
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        constraints = [
            models.CheckConstraint(
                name="action_budget_not_negative",
                condition=models.Q(budget_allocated__gte=0, budget_spent__gte=0),
            )
        ]

    def __str__(self) -> str:
        return self.title

    def overdue_milestones(self, today: dt.date) -> list[Milestone]:
        return [m for m in self.milestones.all() if m.is_overdue(today)]


class Milestone(models.Model):
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(_("title"), max_length=200)
    due_date = models.DateField(_("due date"))
    done_date = models.DateField(_("done date"), null=True, blank=True)

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")

    def __str__(self) -> str:
        return self.title

    def is_overdue(self, today: dt.date) -> bool:
        return self.done_date is None and self.due_date < today


class TrainingRole(models.TextChoices):
    POLICE_OFFICER = "police_officer", _("Police officer")
    INVESTIGATOR = "investigator", _("Criminal investigator")
    PROSECUTOR = "prosecutor", _("Prosecutor")
    JUDGE = "judge", _("Judge")
    LAWYER = "lawyer", _("Lawyer")
    COURT_STAFF = "court_staff", _("Courtroom staff")
    CHILD_PROTECTION = "child_protection", _("Child protection officer")
    SOCIAL_WORKER = "social_worker", _("Social worker")
    HEALTH_WORKER = "health_worker", _("Health worker")
    TEACHER = "teacher", _("Teacher")
    HELPLINE = "helpline", _("Helpline counsellor")
    OTHER = "other", pgettext_lazy("training role", "Other")


class TrainingSession(models.Model):
    """A training course held on one date in one district."""

    course_title = models.CharField(_("course title"), max_length=200)
    date = models.DateField(_("date"))
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, related_name="training_sessions", verbose_name=_("district")
    )
    urban = models.BooleanField(
        _("urban"), help_text=_("Held in a provincial capital (the default when the district holds one).")
    )
    organiser = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="training_sessions", verbose_name=_("organiser")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-date", "id"]
        verbose_name = _("training session")
        verbose_name_plural = _("training sessions")
        indexes = [models.Index(fields=["date"])]

    def __str__(self) -> str:
        return self.course_title


class TrainingParticipant(models.Model):
    """How many people of one agency, role and province took part in a session, by sex."""

    session = models.ForeignKey(TrainingSession, on_delete=models.CASCADE, related_name="participants")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+", verbose_name=_("agency"))
    role = models.CharField(_("role"), max_length=20, choices=TrainingRole.choices)
    province = models.ForeignKey(
        Province, on_delete=models.PROTECT, related_name="+", verbose_name=_("province of work")
    )
    female = models.PositiveIntegerField(_("women"), default=0)
    male = models.PositiveIntegerField(_("men"), default=0)

    class Meta:
        verbose_name = _("training participants")
        verbose_name_plural = _("training participants")
        constraints = [
            models.UniqueConstraint(
                fields=["session", "agency", "role", "province"], name="unique_training_participant_row"
            )
        ]

    def __str__(self) -> str:
        return f"{self.session_id}/{self.agency_id}/{self.role}"

    @property
    def total(self) -> int:
        return self.female + self.male
