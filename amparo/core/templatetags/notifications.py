"""`{% unread_notifications as count %}`: the signed-in user's unread notifications, for the page header."""

from __future__ import annotations

from typing import Any

from django import template

from amparo.core.notifications import unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context: Any) -> int:
    request = context.get("request")
    user = getattr(request, "user", None)
    return unread_count(user) if user is not None else 0
