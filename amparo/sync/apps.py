import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SyncConfig(AppConfig):
    name = "amparo.sync"
    label = "sync"
    verbose_name = _("District nodes and synchronisation")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from amparo.core.metrics import register_source
        from amparo.sync.metrics import sync_metrics

        register_source("sync", sync_metrics)
        from django.conf import settings

        from amparo.cases.panels import register_panel
        from amparo.core import schedule
        from amparo.sync import policy  # noqa: F401  (registers the rules)
        from amparo.sync.views import PANEL

        register_panel(PANEL)
        from amparo.core import keys
        from amparo.core.wipe import register_wipe_hook
        from amparo.sync.files import rewrap_pieces, wipe_evidence

        register_wipe_hook(wipe_evidence)
        keys.register_master_rewrap("sync.filepiece", rewrap_pieces)
        if settings.NODE_ROLE == "district":
            from amparo.sync.tasks import sync_job

            schedule.register_periodic(
                "sync.sync", every=dt.timedelta(seconds=settings.SYNC_INTERVAL), job=sync_job
            )
