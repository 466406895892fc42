from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ObservatoryConfig(AppConfig):
    name = "amparo.observatory"
    label = "observatory"
    verbose_name = _("Observatory")

    def ready(self) -> None:
        from amparo.observatory import extract, policy, tracker  # noqa: F401  (policy registers on import)

        tracker.register_rules()
        extract.register_rules()

        from amparo.core.views import register_home_links
        from amparo.observatory.links import home_links

        register_home_links(home_links)

        from amparo.core.replica import on_replica
        from amparo.core.schedule import register_periodic
        from amparo.observatory import snapshots, tasks

        # The refresh reads the replica (if there is one) and writes its snapshot to the primary.
        register_periodic(
            "observatory.refresh", every=snapshots.refresh_every(), job=on_replica(tasks.refresh_periodic)
        )
