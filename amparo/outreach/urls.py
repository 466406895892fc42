from django.urls import path

from amparo.outreach import views

app_name = "outreach"
urlpatterns: list = [
    # Public pages (no sign-in).
    path("safe-online/", views.safe_online, name="safe_online"),
    path("safe-online/<slug:group>/", views.safe_online_group, name="safe_online_group"),
    path("safe-online/posters/<slug:slug>/<str:language>.pdf", views.poster_pdf, name="poster"),
    # Staff pages.
    path("outreach/content/", views.content_list, name="content_list"),
    path("outreach/content/new/", views.content_new, name="content_new"),
    path("outreach/content/<uuid:pk>/", views.content_detail, name="content_detail"),
    path("outreach/content/<uuid:pk>/<str:language>/", views.translation_edit, name="translation_edit"),
    path("outreach/translations/<uuid:pk>/<slug:step>/", views.translation_step, name="translation_step"),
    path("outreach/sessions/", views.session_list, name="session_list"),
    path("outreach/sessions/new/", views.session_edit, name="session_new"),
    path("outreach/sessions/<uuid:pk>/", views.session_edit, name="session_edit"),
    path("outreach/reach/", views.reach_page, name="reach"),
]
