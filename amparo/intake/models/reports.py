"""Public reports: receipts, reporter follow-up messages and attachments."""

__all__: list[str] = []
