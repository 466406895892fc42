"""Channels (web, SMS, USSD, helpline, desk), provider messages and USSD sessions."""

__all__: list[str] = []
