from amparo.cases.views import core, justice, relations, rights, services

app_name = "cases"
# Each area's routes are more specific ("<reference>/services/…") and come before the case page.
urlpatterns = [
    *services.urlpatterns,
    *justice.urlpatterns,
    *relations.urlpatterns,
    *rights.urlpatterns,
    *core.urlpatterns,  # the list, inbox and overdue pages, then the case page and its forms
]
