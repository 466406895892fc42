import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntakeConfig(AppConfig):
    name = "amparo.intake"
    label = "intake"
    verbose_name = _("Intake")

    def ready(self) -> None:
        from amparo.core.metrics import register_source
        from amparo.intake.metrics import intake_metrics

        register_source("intake", intake_metrics)
        from amparo.core import keys
        from amparo.intake.actions import attachment_aad
        from amparo.intake.models import Attachment

        keys.register_sealed_blobs(keys.SealedBlobs(Attachment, "sealed", "key_pk", attachment_aad))
        from amparo.cases.timeline import register_timeline_source
        from amparo.cases.views import register_case_links
        from amparo.core import health
        from amparo.core import ratelimit as core_ratelimit
        from amparo.core.schedule import register_periodic
        from amparo.core.views import register_home_links
        from amparo.core.wipe import register_wipe_hook
        from amparo.intake import (
            actions,
            policy,  # noqa: F401  (registers the intake access rules)
            tasks,
        )
        from amparo.intake.home import case_links, home_links
        from amparo.intake.ratelimit import check_and_consume
        from amparo.intake.timeline import intake_history

        register_home_links(home_links)
        register_case_links(case_links)
        core_ratelimit.register_backend(check_and_consume)  # shared buckets for every app
        register_timeline_source(intake_history)
        register_wipe_hook(actions.wipe_unfiled)  # a revoked district node erases what is not filed yet
        # Stored web reports and SMS whose task was lost, outgoing SMS whose retry is due (back-off), and USSD sessions left
        # open (amparo.intake.tasks).
        register_periodic(
            "intake.file_pending_web_reports",
            every=dt.timedelta(minutes=1),
            job=tasks.file_pending_web_reports,
        )
        register_periodic(
            "intake.process_pending_sms", every=dt.timedelta(minutes=1), job=tasks.process_pending_sms
        )
        register_periodic("intake.send_due_sms", every=dt.timedelta(minutes=1), job=tasks.send_due_sms)
        register_periodic(
            "intake.expire_ussd_sessions", every=dt.timedelta(minutes=5), job=tasks.expire_stale_ussd_sessions
        )
        # /healthz turns unhealthy while an acknowledged web report or SMS waits too long for its case.
        health.register_backlog("intake", lambda limit: actions.intake_stalled(older_than=limit))
