from django.urls import include, path

from amparo.cases.api import api as api_v1
from amparo.core import views as core_views
from amparo.core.admin import site as admin_site
from amparo.intake.industry.api import api as industry_api

urlpatterns = [
    path("", include("amparo.core.urls")),
    # Sign-in and sign-out keep Django's un-namespaced names (settings.LOGIN_URL = "login").
    path("accounts/login/", core_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", core_views.LogoutView.as_view(), name="logout"),
    path("cases/", include("amparo.cases.urls")),
    path("api/v1/", api_v1.urls),  # the staff API (bearer tokens only; amparo/cases/api.py)
    path("api/industry/v1/", industry_api.urls),  # providers' API keys only (amparo/intake/industry/api.py)
    # Intake serves public pages (/report/), provider webhooks (/channels/…) and staff pages (/intake/…).
    path("", include("amparo.intake.urls")),
    path("evidence/", include("amparo.evidence.urls")),
    path("observatory/", include("amparo.observatory.urls")),
    # Outreach serves public pages (/safe-online/) and staff pages (/outreach/…).
    path("", include("amparo.outreach.urls")),
    path("sync/", include("amparo.sync.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin_site.urls),
]

# Error pages that read nothing from the request, so that a malformed body gives 400, never 500; a
# database that does not answer gives 503 with Retry-After (amparo/core/errors.py).
handler400 = "amparo.core.errors.bad_request"
handler500 = "amparo.core.errors.server_error"
