"""Case pages, one module per area of case work (core: list, case page, status, notes, referrals;
services, justice, relations, rights, dossier: their forms and panels). amparo.cases.urls joins them.

Cases are loaded only through amparo.cases.access (outsiders get 404, reads are audited) or listed
through amparo.cases.policy.visible_cases; writes go through amparo.cases.actions.
"""

from amparo.cases.views.core import register_case_links

__all__ = ["register_case_links"]
