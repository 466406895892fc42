"""Audit entries for sign-in, failed sign-in and sign-out, from Django's auth signals.

Sessions are the one place where a signal is the right hook: Django's own login() and
authenticate() send them, whichever view (ours, the admin's, a test client) did the work.
A failed sign-in records neither the username typed nor any other credential: what was typed
may be someone else's name or a password typed into the wrong box.

Imported from amparo.core.admin (loaded at start-up by admin autodiscovery) and
amparo.core.views, so the receivers are connected before the first request.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver

from amparo.core import audit
from amparo.core.audit import CoreAudit
from amparo.core.middleware import mark_signed_in

# The channel named in session audit entries.
WEB_LOGIN = "web-login"


@receiver(user_logged_in, dispatch_uid="amparo.core.audit_login")
def audit_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        mark_signed_in(request.session)  # the absolute session lifetime counts from here
    with transaction.atomic():
        audit.record(audit.Actor(user=user, channel=WEB_LOGIN), CoreAudit.LOGIN, user)


@receiver(user_login_failed, dispatch_uid="amparo.core.audit_login_failed")
def audit_login_failed(sender: Any, credentials: Any = None, request: Any = None, **kwargs: Any) -> None:
    # `credentials` is deliberately ignored: no username, no password, not even a hash of them.
    with transaction.atomic():
        audit.record(audit.Actor(channel=WEB_LOGIN), CoreAudit.LOGIN_FAILED)


@receiver(user_logged_out, dispatch_uid="amparo.core.audit_logout")
def audit_logout(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    if user is None or not getattr(user, "is_authenticated", False):
        return  # signing out an anonymous session changes nothing worth recording
    with transaction.atomic():
        audit.record(audit.Actor(user=user, channel=WEB_LOGIN), CoreAudit.LOGOUT, user)
