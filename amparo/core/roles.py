"""Staff roles. A user holds one or more roles within one agency."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    HELPLINE_OPERATOR = "helpline_operator", _("Helpline operator")
    INTAKE_OFFICER = "intake_officer", _("Intake officer")
    INVESTIGATOR = "investigator", _("Investigator")
    PROSECUTOR = "prosecutor", _("Prosecutor")
    SOCIAL_WORKER = "social_worker", _("Social worker")
    COURT_OFFICER = "court_officer", _("Court officer")
    AGENCY_SUPERVISOR = "agency_supervisor", _("Agency supervisor")
    NATIONAL_COORDINATOR = "national_coordinator", _("National coordinator")
    ANALYST = "analyst", _("Analyst")
    AUDITOR = "auditor", _("Auditor")
    SYSADMIN = "sysadmin", _("System administrator")


# Roles that work on individual cases of their agency (or referred to it).
CASE_ROLES = frozenset(
    {
        Role.HELPLINE_OPERATOR,
        Role.INTAKE_OFFICER,
        Role.INVESTIGATOR,
        Role.PROSECUTOR,
        Role.SOCIAL_WORKER,
        Role.COURT_OFFICER,
        Role.AGENCY_SUPERVISOR,
    }
)
# Of those, the roles that need to see who a person is (name, phone, address, narrative).
IDENTITY_ROLES = frozenset(
    {
        Role.INVESTIGATOR,
        Role.SOCIAL_WORKER,
        Role.PROSECUTOR,
        Role.HELPLINE_OPERATOR,
        Role.INTAKE_OFFICER,
        Role.COURT_OFFICER,
    }
)
# Roles that see statistics only, never a person.
AGGREGATE_ROLES = frozenset({Role.ANALYST, Role.NATIONAL_COORDINATOR, Role.AGENCY_SUPERVISOR})
