from django.urls import path

from amparo.observatory import views

app_name = "observatory"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export.<str:fmt>", views.export_download, name="export"),
    path("bulletin.pdf", views.bulletin_pdf, name="bulletin"),
    path("refresh", views.refresh, name="refresh"),
    path("tracker/", views.tracker_page, name="tracker"),
    path("tracker/actions/<int:pk>/", views.action_edit, name="action_edit"),
    path("tracker/training/new/", views.training_new, name="training_new"),
    path("extracts/", views.extract_list, name="extract_list"),
    path("extracts/<uuid:pk>/", views.extract_detail, name="extract_detail"),
    path("extracts/<uuid:pk>/download", views.extract_download, name="extract_download"),
]
