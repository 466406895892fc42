"""What every JSON API of Amparo answers alike (the staff API in cases, the industry API in intake).

Error bodies are `{"detail": "...", ...}` in the request's language and say what to do next; a 422 also
lists the fields (`errors`). `install_error_handlers` registers the handlers both APIs share; each API
adds its own for errors only it raises (a workflow transition, a missing key scope).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import Field


class ErrorOut(Schema):
    detail: str = Field(description="What went wrong and what to do next, in the request's language.")


class FieldError(Schema):
    loc: list[str | int]
    msg: str


class ValidationErrorOut(Schema):
    detail: str
    errors: list[FieldError]


COMMON_ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 422: ValidationErrorOut, 429: ErrorOut}
OBJECT_ERRORS: dict[int, Any] = {**COMMON_ERRORS, 404: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {**OBJECT_ERRORS, 400: ErrorOut}


class RateLimited(Exception):
    """The caller (a token or a key) used up its requests for now."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def error(api: NinjaAPI, request: HttpRequest, status: int, detail: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"detail": detail, **extra}, status=status)


def field_errors(exc: NinjaValidationError) -> list[dict[str, Any]]:
    """pydantic's errors as `{loc, msg}`, without its validator names ("function-wrap[…]")."""
    errors = []
    for item in exc.errors:
        loc = [
            part
            for part in item.get("loc", ())
            if isinstance(part, int) or (isinstance(part, str) and not part.endswith("]"))
        ]
        errors.append({"loc": loc, "msg": str(item.get("msg", ""))})
    return errors


def install_error_handlers(
    api: NinjaAPI, *, too_many: str, unauthenticated: str, realm: str, not_found: str
) -> None:
    """Register the handlers both APIs share. `too_many` takes %(seconds)d; the others are plain text
    (already translated lazily or not: they are rendered per request)."""

    def rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
        response = error(api, request, 429, str(too_many) % {"seconds": exc.retry_after})
        response["Retry-After"] = str(exc.retry_after)
        return response

    def not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = error(api, request, 401, str(unauthenticated))
        response["WWW-Authenticate"] = f'Bearer realm="{realm}"'
        return response

    def invalid_input(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors = field_errors(exc)
        # loc is (where, field, ...): "body.consent.purpose: Field required".
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '?'}: {e['msg']}" for e in errors)
        return error(
            api, request, 422, _("The request is not valid: %(errors)s") % {"errors": where}, errors=errors
        )

    def refused(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        return error(api, request, 400, " ".join(str(m) for m in exc.messages))

    def missing(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error(api, request, 404, str(not_found))

    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400:  # ninja's "Cannot parse request body"
            return error(api, request, 400, _("The request body is not valid JSON."))
        return error(api, request, exc.status_code, str(exc))

    api.add_exception_handler(RateLimited, rate_limited)
    api.add_exception_handler(AuthenticationError, not_authenticated)
    api.add_exception_handler(NinjaValidationError, invalid_input)
    api.add_exception_handler(DjangoValidationError, refused)
    api.add_exception_handler(Http404, missing)
    api.add_exception_handler(HttpError, http_error)


def docs_for_staff_or_token(auth: Callable[[HttpRequest], Any], unauthenticated: str) -> Callable:
    """A `docs_decorator` for NinjaAPI: an API's docs page and OpenAPI schema are for a signed-in member of
    staff (past the second factor, which the middleware asks for first) or a caller holding a valid
    credential of that API (`auth`, the API's own bearer check). A browser without either is sent to
    sign in; a client with a wrong credential gets 401 like any operation."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            from amparo.core.middleware import user_needs_second_factor

            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and not user_needs_second_factor(user):
                return view(request, *args, **kwargs)
            if "Authorization" in request.headers:
                try:
                    allowed = auth(request) is not None
                except RateLimited:
                    allowed = False
                if allowed:
                    return view(request, *args, **kwargs)
                response = JsonResponse({"detail": str(unauthenticated)}, status=401)
                response["WWW-Authenticate"] = "Bearer"
                return response
            return redirect_to_login(request.get_full_path())

        return guarded

    return decorator
