from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutreachConfig(AppConfig):
    name = "amparo.outreach"
    label = "outreach"
    verbose_name = _("Outreach")

    def ready(self) -> None:
        import datetime as dt

        from amparo.core.schedule import register_periodic
        from amparo.core.views import register_home_links
        from amparo.intake import hooks
        from amparo.outreach import (
            checks,  # noqa: F401  (registers the campaign settings' system check)
            policy,  # noqa: F401  (registers the outreach access rules)
            subscriptions,
            tasks,
            ussd,
        )
        from amparo.outreach.links import home_links

        register_home_links(home_links)
        hooks.register_sms_keyword(subscriptions.SUBSCRIBE_KEYWORDS, subscriptions.on_subscribe)
        hooks.register_sms_keyword(subscriptions.STOP_KEYWORDS, subscriptions.on_stop)
        hooks.register_sms_pending(subscriptions.on_pending)
        hooks.register_ussd_entry("outreach", ussd.MENU_LABEL, ussd.handle)
        register_periodic("outreach.send_due", every=dt.timedelta(minutes=5), job=tasks.send_due)

        from amparo.outreach import reach

        reach.register_indicators()  # the reach indicators, in the observatory's registry
