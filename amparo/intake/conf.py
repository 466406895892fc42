"""Settings of the SMS and USSD channels, read from the environment when they are used (so that a test
or an operator can change them without touching `amparo/settings.py`). Each reader fails loudly on a
malformed value.

| variable | default | meaning |
|---|---|---|
| `AMPARO_SMS_API_BASE_URL` | `https://api.africastalking.com` | base URL of Africa's Talking (tests point it at a local server; the sandbox is `https://api.sandbox.africastalking.com`) |
| `AMPARO_SMS_PROVIDER` | *(empty)* | `log` sends nothing on every channel (staging, demos); empty uses each channel's own provider |
| `AMPARO_SMS_TIMEOUT` | `10` | seconds to wait for a provider's answer |
| `AMPARO_SMS_MAX_ATTEMPTS` | `6` | attempts to send an outgoing SMS before it is marked failed |
| `AMPARO_SMS_RETRY_BASE_SECONDS` | `30` | first retry delay; each further retry doubles it |
| `AMPARO_USSD_SESSION_TIMEOUT` | `300` | seconds after which an unanswered USSD session is closed by `amparo channels expire_ussd_sessions` |
| `AMPARO_INTAKE_CHANNEL_RATE` | `600` | requests per minute accepted on one SMS or USSD channel |
| `AMPARO_INTAKE_PHONE_RATE` | `30` | requests per minute accepted from one phone number on one channel |
| `AMPARO_PUBLIC_BASE_URL` | `https://amparo.example` | public address printed in webhook URLs by `amparo channels list` |
"""

from __future__ import annotations

from amparo.lib.env import ConfigError, env_int, env_str

AFRICASTALKING_DEFAULT_BASE = "https://api.africastalking.com"


def sms_api_base_url() -> str:
    value = env_str("AMPARO_SMS_API_BASE_URL", AFRICASTALKING_DEFAULT_BASE).strip().rstrip("/")
    if not value.startswith(("https://", "http://")):
        raise ConfigError(f"AMPARO_SMS_API_BASE_URL must start with https:// or http://; got {value!r}.")
    return value


def sms_provider_override() -> str:
    value = env_str("AMPARO_SMS_PROVIDER", "").strip()
    if value not in {"", "log"}:
        raise ConfigError(f"AMPARO_SMS_PROVIDER must be empty or 'log'; got {value!r}.")
    return value


def sms_timeout() -> int:
    return env_int("AMPARO_SMS_TIMEOUT", 10, minimum=1)


def sms_max_attempts() -> int:
    return env_int("AMPARO_SMS_MAX_ATTEMPTS", 6, minimum=1)


def sms_retry_base_seconds() -> int:
    return env_int("AMPARO_SMS_RETRY_BASE_SECONDS", 30, minimum=1)


def ussd_session_timeout() -> int:
    return env_int("AMPARO_USSD_SESSION_TIMEOUT", 300, minimum=30)


def channel_rate_per_minute() -> int:
    return env_int("AMPARO_INTAKE_CHANNEL_RATE", 600, minimum=1)


def phone_rate_per_minute() -> int:
    return env_int("AMPARO_INTAKE_PHONE_RATE", 30, minimum=1)


def public_base_url() -> str:
    return env_str("AMPARO_PUBLIC_BASE_URL", "https://amparo.example").strip().rstrip("/")
