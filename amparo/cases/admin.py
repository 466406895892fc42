"""Directory data of the cases app in the admin (system administrators, CorePermission.CONFIG_MANAGE).

Only configuration lives here (service providers; the service directory): never a case, a person or any
case content. Saves go through the actions, which record the audit entries. Nothing is deleted here:
a provider that is no longer used is made inactive.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from amparo.cases.actions.justice import PROVIDER_FIELDS, save_service_provider
from amparo.cases.models import ServiceProvider
from amparo.core.admin import PolicyAdmin, site
from amparo.core.permissions import CorePermission

# --- Service providers for preservation and disclosure requests --------------------------------------


@admin.register(ServiceProvider, site=site)
class ServiceProviderAdmin(PolicyAdmin):
    manage_permission = CorePermission.CONFIG_MANAGE
    list_display = ("name", "code", "kind", "response_days", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name", "legal_name")
    fields = PROVIDER_FIELDS

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("code",) if obj is not None else ()  # codes are stable identifiers

    def save_model(self, request: HttpRequest, obj: ServiceProvider, form: Any, change: bool) -> None:
        save_service_provider(request.user, obj, form.changed_data if change else ())
