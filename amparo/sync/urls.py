from django.urls import path

from amparo.sync import server, views

app_name = "sync"
urlpatterns = [
    path("v1/hello", server.hello, name="hello"),
    path("v1/push", server.push, name="push"),
    path("v1/pull", server.pull, name="pull"),
    path("v1/wiped", server.wiped, name="wiped"),
    path("v1/file/offer", server.file_offer, name="file_offer"),
    path("v1/file/piece", server.file_piece, name="file_piece"),
    path("conflicts/<str:reference>/<uuid:conflict_id>/resolve", views.resolve, name="resolve"),
]
