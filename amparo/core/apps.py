from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "amparo.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        import datetime as dt

        from django.conf import settings

        from amparo.core import audit, checks, signals, totp  # noqa: F401  (registers system checks and sign-in audit receivers)
        from amparo.core.schedule import register_periodic

        totp.install()
        register_periodic(
            "core.audit_checkpoint",
            every=dt.timedelta(minutes=settings.AUDIT_CHECKPOINT_MINUTES),
            job=audit.write_checkpoints,
        )
