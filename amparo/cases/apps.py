from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "amparo.cases"
    label = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from amparo.cases import policy  # noqa: F401  (registers the case access rules)
