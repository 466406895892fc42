"""De-identified research extract requests: request, approval, download."""

__all__: list[str] = []
