from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntakeConfig(AppConfig):
    name = "amparo.intake"
    label = "intake"
    verbose_name = _("Intake")

    def ready(self) -> None:
        from amparo.cases.views import register_case_links
        from amparo.core.views import register_home_links
        from amparo.intake import policy  # noqa: F401  (registers the intake access rules)
        from amparo.intake.home import case_links, home_links

        register_home_links(home_links)
        register_case_links(case_links)
