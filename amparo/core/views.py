from django.http import HttpRequest, HttpResponse


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")


def two_factor(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")
