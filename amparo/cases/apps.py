from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "amparo.cases"
    label = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from amparo.cases import (
            policy,  # noqa: F401  (registers the case access rules)
            tasks,  # noqa: F401  (registers the periodic overdue notices)
        )
        from amparo.cases.history import case_history
        from amparo.cases.timeline import register_timeline_source
        from amparo.cases.views.core import case_list_link, home_links
        from amparo.core.views import register_home_links

        register_timeline_source(case_history)
        register_home_links(case_list_link, first=True)
        register_home_links(home_links)

        # Justice, interviews, preservation requests and relations: timeline sources,
        # the preservation reminder job (registered on import) and the case-page panels.
        from amparo.cases import preservation  # noqa: F401
        from amparo.cases.justice import justice_history
        from amparo.cases.relations import relations_history
        from amparo.cases.views import justice as _justice_views  # noqa: F401  (registers panels)
        from amparo.cases.views import relations as _relations_views  # noqa: F401  (registers panels)

        register_timeline_source(justice_history)
        register_timeline_source(relations_history)

        # Service directory, service referrals and the rights package: case-page panels
        # and timeline sources (registered when the views modules are imported).
        from amparo.cases.views import rights as _rights_views  # noqa: F401
        from amparo.cases.views import services as _services_views  # noqa: F401
