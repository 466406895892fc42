from django.urls import path

from amparo.cases import views

app_name = "cases"
urlpatterns = [
    path("", views.case_list, name="list"),
    path("<str:reference>/", views.case_detail, name="detail"),
]
