from django.conf import settings
from django.http import HttpRequest


def amparo(request: HttpRequest) -> dict:
    return {"AMPARO_DEMO": settings.DEMO, "AMPARO_NODE_ROLE": settings.NODE_ROLE}
