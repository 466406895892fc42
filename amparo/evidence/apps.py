from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvidenceConfig(AppConfig):
    name = "amparo.evidence"
    label = "evidence"
    verbose_name = _("Evidence")

    def ready(self) -> None:
        from amparo.core.metrics import register_source
        from amparo.evidence.metrics import evidence_metrics

        register_source("evidence", evidence_metrics)
        from amparo.cases.timeline import register_timeline_source
        from amparo.cases.views import register_case_links
        from amparo.core import keys
        from amparo.core.views import register_home_links
        from amparo.evidence import policy  # noqa: F401  (registers the evidence access rules)
        from amparo.evidence.links import case_links, home_links
        from amparo.evidence.timeline import evidence_history, takedown_history
        from amparo.evidence.vault import rewrap_all

        keys.register_master_rewrap("evidence.evidenceitem", rewrap_all)
        register_case_links(case_links)
        register_home_links(home_links)
        register_timeline_source(evidence_history)
        register_timeline_source(takedown_history)

        from amparo.cases.dossier import register_dossier_section
        from amparo.cases.relations import register_link_suggestions
        from amparo.evidence.proposals import dossier_section, link_suggestions

        register_link_suggestions(link_suggestions)
        register_dossier_section(dossier_section)

        from amparo.core import backup
        from amparo.evidence.backup import CHECK, SOURCE

        backup.register_files(SOURCE)
        backup.register_check(CHECK)
