from django.urls import path

from amparo.core import health, views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("accounts/two-factor/", views.two_factor, name="two_factor"),
]
