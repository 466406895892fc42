from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "amparo.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from amparo.core import checks, signals  # noqa: F401  (registers system checks and sign-in audit receivers)
