from django.urls import path

from amparo.cases.views import core, justice, relations, rights, services

app_name = "cases"
# Each area's routes are more specific ("<reference>/services/…") and come before the case page.
urlpatterns = [
    *services.urlpatterns,
    *justice.urlpatterns,
    *relations.urlpatterns,
    *rights.urlpatterns,
    path("", core.case_list, name="list"),
    path("<str:reference>/", core.case_detail, name="detail"),
]
