"""Case pages for justice (issue 4)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
