"""Forms of the core app: the two-factor code, and the admin's user forms.

Forms parse and validate input; the writes happen in amparo.core.actions (called from the
views and the admin)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from amparo.core.models import ScopeLevel, User
from amparo.core.roles import Role

_SIX_DIGITS = re.compile(r"^[0-9]{6}$")


class TOTPCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Six-digit code"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "autofocus": True,
                "size": 8,
            }
        ),
    )

    def clean_code(self) -> str:
        code = re.sub(r"[\s-]", "", self.cleaned_data["code"])
        if not _SIX_DIGITS.match(code):
            raise forms.ValidationError(_("Enter the six digits shown in your authenticator app."))
        return code


# The user fields a system administrator edits. Password hashes, is_staff, is_superuser,
# groups and Django permissions are left out on purpose: access comes from roles only.
USER_DETAIL_FIELDS = ("username", "agency", "first_name", "last_name", "email")
USER_SCOPE_FIELDS = ("scope_level", "scope_province", "scope_district")


def _check_scope(form: forms.ModelForm) -> None:
    level = form.cleaned_data.get("scope_level")
    province = form.cleaned_data.get("scope_province")
    district = form.cleaned_data.get("scope_district")
    if not level:
        if province or district:
            form.add_error(
                "scope_level", _("Choose a geographic scope, or leave the province and district empty.")
            )
        return
    if level == ScopeLevel.NATIONAL and (province or district):
        form.add_error("scope_level", _("A national scope has no province or district."))
    if level in (ScopeLevel.PROVINCE, ScopeLevel.DISTRICT) and not province:
        form.add_error("scope_province", _("Choose the province of this scope."))
    if level == ScopeLevel.PROVINCE and district:
        form.add_error("scope_district", _("A province scope has no district."))
    if level == ScopeLevel.DISTRICT:
        if not district:
            form.add_error("scope_district", _("Choose the district of this scope."))
        elif province and district.province_id != province.pk:
            form.add_error("scope_district", _("The district is not in the chosen province."))


def _check_password_pair(form: forms.Form, first: str, second: str, user: User | None) -> str:
    password = form.cleaned_data.get(first) or ""
    again = form.cleaned_data.get(second) or ""
    if not password and not again:
        return ""
    if password != again:
        form.add_error(second, _("The two passwords are not the same."))
        return ""
    try:
        password_validation.validate_password(password, user)
    except forms.ValidationError as error:
        form.add_error(first, error)
        return ""
    return password


class UserAddForm(forms.ModelForm):
    password1 = forms.CharField(
        label=_("Initial password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Give it to the person in private. Leave empty to create the account without a password: it cannot sign in until one is set."
        ),
    )
    password2 = forms.CharField(
        label=_("Initial password again"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = User
        fields = (*USER_DETAIL_FIELDS, *USER_SCOPE_FIELDS, "is_demo")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        _check_scope(self)
        cleaned["password"] = _check_password_pair(self, "password1", "password2", None)
        return cleaned


class UserChangeForm(forms.ModelForm):
    new_password1 = forms.CharField(
        label=_("New password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Only to reset a forgotten password. Leave empty to keep the current one."),
    )
    new_password2 = forms.CharField(
        label=_("New password again"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    # Set by the admin: the system administrator editing the form.
    acting_user: Any = None

    class Meta:
        model = User
        fields = (*USER_DETAIL_FIELDS, *USER_SCOPE_FIELDS, "is_active", "is_demo")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        _check_scope(self)
        if (
            self.acting_user is not None
            and self.instance.pk == self.acting_user.pk
            and cleaned.get("is_active") is False
        ):
            self.add_error("is_active", _("You cannot deactivate your own account."))
        cleaned["password"] = _check_password_pair(self, "new_password1", "new_password2", self.instance)
        return cleaned


class RoleGrantFormSet(BaseInlineFormSet):
    """Roles of one user. Existing grants can only be removed (revoked); new rows grant roles."""

    acting_user: Any = None

    def roles_to_revoke(self) -> list[str]:
        return [f.instance.role for f in self.deleted_forms if f.instance.pk]

    def roles_to_grant(self) -> list[str]:
        deleted = set(map(id, self.deleted_forms))
        return [
            f.cleaned_data["role"]
            for f in self.extra_forms
            if id(f) not in deleted and f.has_changed() and f.cleaned_data.get("role")
        ]

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        grant = self.roles_to_grant()
        if len(grant) != len(set(grant)):
            raise forms.ValidationError(_("Each role can be granted only once."))
        acting = self.acting_user
        if acting is not None and self.instance.pk == acting.pk and grant:
            raise forms.ValidationError(_("You cannot grant roles to yourself; ask another administrator."))
        if (
            acting is not None
            and self.instance.pk == acting.pk
            and Role.SYSADMIN in self.roles_to_revoke()
            and Role.SYSADMIN not in grant
        ):
            raise forms.ValidationError(
                _("You cannot remove your own system administrator role; ask another administrator.")
            )
