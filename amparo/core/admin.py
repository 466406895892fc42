"""The admin: users, their roles and agencies, for system administrators only.

`AmparoAdminSite` replaces Django's default site. Entry is decided by the one policy
(CorePermission.USER_MANAGE, i.e. the sysadmin role) plus a completed second factor;
is_staff and is_superuser play no part. Only core directory models are registered here: no model
of amparo.cases, so that an administrator never sees case content, not even in the admin.
Writes to users and roles go through amparo.core.actions, which record the audit entries.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy, ngettext

from amparo.core import actions
from amparo.core.forms import RoleGrantFormSet, UserAddForm, UserChangeForm
from amparo.core.models import Agency, District, DutyRequest, Province, RoleGrant, User
from amparo.core.permissions import CorePermission
from amparo.core.policy import can
from amparo.core.roles import Role
from amparo.core.views import second_factor_done


class AmparoAdminSite(admin.AdminSite):
    site_header = gettext_lazy("Amparo administration")
    site_title = "Amparo"
    index_title = gettext_lazy("Users and agencies")
    site_url = "/"
    enable_nav_sidebar = False

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and can(user, CorePermission.USER_MANAGE) and second_factor_done(user))

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """There is one sign-in page (with lock-out and two-factor sign-in): ours, not the admin's."""
        if self.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        if request.user.is_authenticated:
            raise PermissionDenied  # signed in, but not a system administrator: no loop back to sign-in
        next_url = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index", current_app=self.name)
        return redirect_to_login(next_url, reverse("login"))


site = AmparoAdminSite(name="admin")


class PolicyAdmin(admin.ModelAdmin):
    """A ModelAdmin whose permissions come from the policy. Nothing is deleted from the admin:
    users and agencies are deactivated instead, so that the audit trail keeps its references."""

    manage_permission: CorePermission = CorePermission.USER_MANAGE

    def _allowed(self, request: HttpRequest) -> bool:
        return can(request.user, self.manage_permission)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyPolicyAdmin(PolicyAdmin):
    """Reference data loaded by migrations (geography): looked at, never edited here."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return can(request.user, CorePermission.USER_MANAGE) or can(
            request.user, CorePermission.AGENCY_MANAGE
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RoleGrantInline(admin.TabularInline):
    """Roles of a user. A grant is never edited in place: remove it (revoke) or add a row (grant)."""

    model = RoleGrant
    formset = RoleGrantFormSet
    fields = ("role", "granted_at")
    readonly_fields = ("granted_at",)
    extra = 1
    verbose_name = gettext_lazy("role")
    verbose_name_plural = gettext_lazy("roles")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can(request.user, CorePermission.USER_MANAGE)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can(request.user, CorePermission.USER_MANAGE)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can(request.user, CorePermission.USER_MANAGE)

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> type[RoleGrantFormSet]:
        formset = super().get_formset(request, obj, **kwargs)
        formset.acting_user = request.user
        return formset


_PASSWORD_FORM_FIELDS = frozenset({"password1", "password2", "new_password1", "new_password2"})


@admin.register(User, site=site)
class UserAdmin(PolicyAdmin):
    manage_permission = CorePermission.USER_MANAGE
    form = UserChangeForm
    add_form = UserAddForm
    inlines = [RoleGrantInline]
    list_display = ("username", "get_full_name", "agency", "role_list", "is_active", "last_login")
    list_filter = ("agency", "is_active", "role_grants__role")
    list_select_related = ("agency",)
    search_fields = ("username", "first_name", "last_name", "email")
    ordering = ("username",)
    readonly_fields = ("last_login", "date_joined")
    actions = ["reset_two_factor"]
    fieldsets = (
        (None, {"fields": ("username", "agency", "first_name", "last_name", "email", "is_active")}),
        (gettext_lazy("Geographic scope"), {"fields": ("scope_level", "scope_province", "scope_district")}),
        (
            gettext_lazy("Sign-in"),
            {"fields": ("new_password1", "new_password2", "is_demo", "last_login", "date_joined")},
        ),
    )
    add_fieldsets = (
        (None, {"fields": ("username", "agency", "first_name", "last_name", "email")}),
        (gettext_lazy("Geographic scope"), {"fields": ("scope_level", "scope_province", "scope_district")}),
        (gettext_lazy("Sign-in"), {"fields": ("password1", "password2", "is_demo")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("role_grants")

    @admin.display(description=gettext_lazy("roles"))
    def role_list(self, obj: User) -> str:
        return ", ".join(str(Role(g.role).label) for g in obj.role_grants.all() if g.role in Role.values)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return () if obj is None else self.readonly_fields

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = self.add_form
        form = super().get_form(request, obj, change=change, **kwargs)
        form.acting_user = request.user
        return form

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            created = actions.create_user(
                request.user,
                username=data["username"],
                agency=data["agency"],
                roles=(),  # granted by save_formset, one audited grant per role
                password=data.get("password") or None,
                email=data.get("email", ""),
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
                scope_level=data.get("scope_level", ""),
                scope_province=data.get("scope_province"),
                scope_district=data.get("scope_district"),
                is_demo=data.get("is_demo", False),
            )
            # The admin goes on with `obj` (inlines, messages, redirect): make it the created user.
            obj.pk = created.pk
            obj.refresh_from_db()
            obj._state.adding = False
            return
        changes = {name: data[name] for name in form.changed_data if name in actions.USER_FIELDS}
        password = data.get("password") or None
        updated = actions.update_user(request.user, obj, password=password, **changes)
        if password and obj.pk != request.user.pk:
            self.message_user(request, _WAITING, messages.WARNING)
        obj.refresh_from_db()
        obj.password = updated.password

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not RoleGrant:
            super().save_formset(request, form, formset, change)
            return
        user = form.instance
        revoked = [f.instance for f in formset.deleted_forms if f.instance.pk]
        granted = formset.roles_to_grant()
        for grant in revoked:
            actions.revoke_role(request.user, user, grant.role)
        waiting = [role for role in granted if actions.grant_role(request.user, user, role) is not None]
        if waiting:
            self.message_user(request, _WAITING, messages.WARNING)
        # What formset.save() would have reported, for the admin's own change message.
        formset.new_objects = list(RoleGrant.objects.filter(user=user, role__in=granted))
        formset.changed_objects = []
        formset.deleted_objects = revoked

    @admin.action(
        description=gettext_lazy("Reset two-factor sign-in (they set it up again at their next sign-in)"),
        permissions=["change"],
    )
    def reset_two_factor(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        results = [actions.reset_two_factor(request.user, user) for user in queryset]
        if any(isinstance(r, DutyRequest) for r in results):
            self.message_user(request, _WAITING, messages.WARNING)
            return
        count = sum(bool(r) for r in results)
        self.message_user(
            request,
            ngettext(
                "Two-factor sign-in was reset for %(count)d user.",
                "Two-factor sign-in was reset for %(count)d users.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


_WAITING = gettext_lazy(
    "Another administrator must approve this change before it takes effect: it is listed under "
    "Changes waiting for approval."
)


@admin.register(DutyRequest, site=site)
class DutyRequestAdmin(PolicyAdmin):
    """Changes one administrator asked for and another approves (separation of duties)."""

    list_display = ("kind", "user", "role", "status", "requested_by", "requested_at", "decided_by")
    list_filter = ("status", "kind")
    list_select_related = ("user", "requested_by", "decided_by")
    fields = ("kind", "user", "role", "status", "requested_by", "requested_at", "decided_by", "decided_at")
    readonly_fields = fields
    actions = ["approve", "reject"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _decide(self, request: HttpRequest, queryset: QuerySet[DutyRequest], decide: Any) -> None:
        done = 0
        for duty in queryset:
            try:
                decide(request.user, duty)
                done += 1
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
        if done:
            self.message_user(
                request,
                ngettext("%(count)d change decided.", "%(count)d changes decided.", done) % {"count": done},
                messages.SUCCESS,
            )

    @admin.action(description=gettext_lazy("Approve the selected changes"), permissions=["view"])
    def approve(self, request: HttpRequest, queryset: QuerySet[DutyRequest]) -> None:
        self._decide(request, queryset, actions.approve_request)

    @admin.action(description=gettext_lazy("Reject the selected changes"), permissions=["view"])
    def reject(self, request: HttpRequest, queryset: QuerySet[DutyRequest]) -> None:
        self._decide(request, queryset, actions.reject_request)


@admin.register(Agency, site=site)
class AgencyAdmin(PolicyAdmin):
    manage_permission = CorePermission.AGENCY_MANAGE
    list_display = ("short_name", "name", "code", "kind", "scope_level", "province", "active")
    list_filter = ("kind", "scope_level", "active")
    search_fields = ("code", "name", "short_name")
    fields = (
        "code",
        "name",
        "short_name",
        "kind",
        "scope_level",
        "province",
        "district",
        "active",
        "is_demo",
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("code",) if obj is not None else ()  # codes are stable identifiers

    def save_model(self, request: HttpRequest, obj: Agency, form: Any, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in actions.AGENCY_FIELDS if name in form.cleaned_data}
        if change:
            data.pop("code", None)
            saved = actions.update_agency(
                request.user, obj, **{k: v for k, v in data.items() if k in form.changed_data}
            )
        else:
            saved = actions.create_agency(request.user, **data)
        obj.pk = saved.pk
        obj.refresh_from_db()
        obj._state.adding = False


@admin.register(Province, site=site)
class ProvinceAdmin(ReadOnlyPolicyAdmin):
    list_display = ("code", "name", "iso_3166_2", "capital")
    search_fields = ("code", "name")


@admin.register(District, site=site)
class DistrictAdmin(ReadOnlyPolicyAdmin):
    list_display = ("code", "name", "province", "is_capital")
    list_filter = ("province",)
    list_select_related = ("province",)
    search_fields = ("code", "name")
