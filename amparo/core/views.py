from django.http import HttpRequest, HttpResponse, JsonResponse


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({})


def two_factor(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")
