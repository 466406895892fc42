from django.conf import settings
from django.http import HttpRequest


def amparo(request: HttpRequest) -> dict:
    return {
        "AMPARO_DEMO": settings.DEMO,
        "AMPARO_NODE_ROLE": settings.NODE_ROLE,
        # The numbers every public page shows (configured: docs/configuration.md).
        "POLICE_NUMBER": settings.AMPARO_POLICE_NUMBER,
        "HELPLINE_NUMBER": settings.AMPARO_CHILD_HELPLINE_NUMBER,
    }
