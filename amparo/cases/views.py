from django.http import HttpRequest, HttpResponse


def case_list(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")


def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    return HttpResponse("")
