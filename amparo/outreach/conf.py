"""Settings of the outreach campaigns, read from the environment when used (fail loudly when malformed).

| variable | default | meaning |
|---|---|---|
| `AMPARO_OUTREACH_SEND_HOURS` | `08:00-19:00` | local (Africa/Maputo) hours in which series messages may be sent |
| `AMPARO_OUTREACH_RATE_PER_SECOND` | `5` | series messages handed to the provider per second on one channel |
| `AMPARO_OUTREACH_BATCH` | `1000` | most series messages one `send_due` run sends |
| `AMPARO_OUTREACH_SMS_CHANNEL` | *(empty)* | id of the SMS channel that sends series to USSD subscribers (default: the oldest active SMS channel) |
"""

from __future__ import annotations

import datetime as dt
import re

from amparo.lib.env import ConfigError, env_int, env_str

_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def send_hours() -> tuple[dt.time, dt.time]:
    raw = env_str("AMPARO_OUTREACH_SEND_HOURS", "08:00-19:00")
    match = _HOURS.match(raw)
    if not match:
        raise ConfigError(f"AMPARO_OUTREACH_SEND_HOURS must look like 08:00-19:00; got {raw!r}.")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        start, end = dt.time(h1, m1), dt.time(h2, m2)
    except ValueError:
        raise ConfigError(f"AMPARO_OUTREACH_SEND_HOURS holds an impossible time: {raw!r}.") from None
    if start >= end:
        raise ConfigError(f"AMPARO_OUTREACH_SEND_HOURS must start before it ends; got {raw!r}.")
    return start, end


def rate_per_second() -> int:
    return env_int("AMPARO_OUTREACH_RATE_PER_SECOND", 5, minimum=1)


def batch_size() -> int:
    return env_int("AMPARO_OUTREACH_BATCH", 1000, minimum=1)


def sms_channel_id() -> str:
    return env_str("AMPARO_OUTREACH_SMS_CHANNEL", "").strip()
