"""Settings of the CyberTipline import and the industry API, read from the environment when used (so
that a test or an operator can change them without touching `amparo/settings.py`). Each reader fails
loudly on a malformed value.

| variable | default | meaning |
|---|---|---|
| `AMPARO_CYBERTIP_AGENCY` | `sernic` | agency code that owns imported NCMEC referrals (its intake officers, investigators and supervisors may import) |
| `AMPARO_INDUSTRY_AGENCY` | `sernic` | agency code that owns cases opened by industry reports |
| `AMPARO_INDUSTRY_RATE` | `120` | requests per minute accepted from one API key |
| `AMPARO_INDUSTRY_MAX_FILE_BYTES` | `10485760` | largest file an organisation may upload with a report (10 MiB) |
"""

from __future__ import annotations

import re

from amparo.lib.env import ConfigError, env_int, env_str

_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def _agency_code(name: str) -> str:
    value = env_str(name, "sernic").strip()
    if not _CODE.match(value):
        raise ConfigError(f"{name} must be an agency code such as 'sernic'; got {value!r}.")
    return value


def cybertip_agency_code() -> str:
    return _agency_code("AMPARO_CYBERTIP_AGENCY")


def industry_agency_code() -> str:
    return _agency_code("AMPARO_INDUSTRY_AGENCY")


def industry_rate_per_minute() -> int:
    return env_int("AMPARO_INDUSTRY_RATE", 120, minimum=1)


def industry_max_file_bytes() -> int:
    return env_int("AMPARO_INDUSTRY_MAX_FILE_BYTES", 10 * 1024 * 1024, minimum=1)
