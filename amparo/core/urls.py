from django.urls import path

from amparo.core import health, metrics, notification_views, views

app_name = "core"
urlpatterns = [
    path("staff/", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("accounts/two-factor/", views.two_factor, name="two_factor"),
    path("notifications/", notification_views.notification_list, name="notifications"),
    path("notifications/read/", notification_views.notification_read, name="notifications_read"),
]
