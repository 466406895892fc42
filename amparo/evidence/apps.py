from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvidenceConfig(AppConfig):
    name = "amparo.evidence"
    label = "evidence"
    verbose_name = _("Evidence")

    def ready(self) -> None:
        from amparo.cases.views import register_case_links
        from amparo.core import keys
        from amparo.evidence import policy  # noqa: F401  (registers the evidence access rules)
        from amparo.evidence.links import case_links
        from amparo.evidence.vault import rewrap_all

        keys.register_master_rewrap("evidence.evidenceitem", rewrap_all)
        register_case_links(case_links)
