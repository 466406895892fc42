from django.urls import include, path

from amparo.core import views as core_views
from amparo.core.admin import site as admin_site

urlpatterns = [
    path("", include("amparo.core.urls")),
    # Sign-in and sign-out keep Django's un-namespaced names (settings.LOGIN_URL = "login").
    path("accounts/login/", core_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", core_views.LogoutView.as_view(), name="logout"),
    path("cases/", include("amparo.cases.urls")),
    # Intake serves public pages (/report/), provider webhooks (/channels/…) and staff pages (/intake/…).
    path("", include("amparo.intake.urls")),
    path("evidence/", include("amparo.evidence.urls")),
    path("observatory/", include("amparo.observatory.urls")),
    path("sync/", include("amparo.sync.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin_site.urls),
]
