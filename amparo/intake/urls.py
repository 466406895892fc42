from django.urls import path

from amparo.intake import cybertip_views, views, webhooks

app_name = "intake"
urlpatterns: list = [
    # The public front door, the report and the anonymous follow-up (no sign-in).
    path("", views.front_door, name="front_door"),
    path("report/", views.report, name="report"),
    path("report/exit/", views.report_exit, name="report_exit"),
    path("report/follow-up/", views.follow_up, name="follow_up"),
    path("report/follow-up/rights/", views.rights, name="rights"),
    # Staff intake: helpline console, agency desk, triage queue, messages to the reporter.
    path("intake/console/", views.console, name="console"),
    path("intake/desk/", views.desk, name="desk"),
    path("intake/triage/", views.triage, name="triage"),
    path(
        "intake/triage/<str:reference>/<slug:action>/",
        views.triage_action,
        name="triage_action",
    ),
    path("intake/cases/<str:reference>/reporter/", views.reporter_messages, name="reporter_messages"),
    path("intake/cybertip/", cybertip_views.cybertip_import, name="cybertip"),
    # Provider webhooks (SMS, USSD); the channel's random id is the secret part of the address.
    path("channels/<uuid:channel_id>/sms/inbound", webhooks.sms_inbound, name="sms_inbound"),
    path("channels/<uuid:channel_id>/sms/delivery", webhooks.sms_delivery, name="sms_delivery"),
    path("channels/<uuid:channel_id>/ussd", webhooks.ussd_callback, name="ussd"),
    # The same with a trailing slash, as providers' consoles often save them (no redirect: it loses a POST).
    path("channels/<uuid:channel_id>/sms/inbound/", webhooks.sms_inbound),
    path("channels/<uuid:channel_id>/sms/delivery/", webhooks.sms_delivery),
    path("channels/<uuid:channel_id>/ussd/", webhooks.ussd_callback),
]
