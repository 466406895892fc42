"""The numbers every public text gives to call: the police and the child helpline (Linha Fala Criança).

Configured (AMPARO_POLICE_NUMBER, AMPARO_CHILD_HELPLINE_NUMBER), never written into a text: translated
strings say `%(police)s` and `%(helpline)s` and are filled in from here.
"""

from __future__ import annotations

from django.conf import settings


def emergency_numbers() -> dict[str, str]:
    return {"police": settings.AMPARO_POLICE_NUMBER, "helpline": settings.AMPARO_CHILD_HELPLINE_NUMBER}
