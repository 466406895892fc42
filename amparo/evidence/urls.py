from django.urls import path

from amparo.evidence import takedown_views, views

app_name = "evidence"
urlpatterns = [
    path("cases/<str:reference>/", views.case_evidence, name="case"),
    path("items/<uuid:item_id>/", views.item_detail, name="item"),
    path("items/<uuid:item_id>/preview/", views.item_preview, name="preview"),
    path("items/<uuid:item_id>/reveal/", views.item_reveal, name="reveal"),
    path("items/<uuid:item_id>/custody/", views.item_custody, name="custody"),
    path("items/<uuid:item_id>/custody.pdf", views.custody_report, name="custody_report"),
    path("takedown/", takedown_views.takedown_page, name="takedown"),
    path("takedown/<uuid:notice_id>/withdraw/", takedown_views.takedown_withdraw, name="takedown_withdraw"),
    path("blocklist/<int:entry_id>/remove/", takedown_views.blocklist_remove, name="blocklist_remove"),
]
