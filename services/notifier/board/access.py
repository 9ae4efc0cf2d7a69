"""Who may look at the board: an ops (or admin) API key, sent as a header or held in the board's cookie.

A browser cannot send an `Authorization` header from a link, and a key in a URL ends up in logs and
history: the sign-in form posts the key once, and the answer sets it in a cookie that scripts cannot read
(HttpOnly), that no other site's page can make the browser send (SameSite=Strict), that only /board paths
get, and that crosses plain HTTP only outside production (`board_cookie_secure`). The key is checked again
on every request (a revoked key stops working within the authenticator's cache time), as any API call is.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi import Request, Response

from services.notifier.settings import NotifierSettings
from shared.errors import ProblemError, invalid
from shared.runtime import ServiceRuntime
from shared.web.auth import MAX_KEY_LENGTH, Principal, Scope
from shared.web.middleware import stage_response_headers

COOKIE = "firstcall_board"
PATH = "/board"
MAX_FORM_BYTES = 1024  # the form carries one key
# Everything the page needs is served by the notifier: no other origin, no inline script or style.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def secure(request: Request) -> None:
    """Give this request's answer, whatever it is (a page, a stream, a problem), the board's headers."""
    stage_response_headers(request, SECURITY_HEADERS)


def presented_key(request: Request) -> str | None:
    """The key of a script (`Authorization: Bearer`, `X-API-Key`) or, failing that, of the board's cookie."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials
    return request.headers.get("x-api-key") or request.cookies.get(COOKIE)


async def viewer(runtime: ServiceRuntime, request: Request, presented: str | None) -> Principal:
    """The principal of a key that may see the board (401 without a valid key, 403 without the scope)."""
    principal = await runtime.authenticator.authenticate(presented)
    stage_response_headers(request, runtime.authenticator.meter(principal).headers())
    if not principal.allows(Scope.OPS):
        raise ProblemError(
            403, "forbidden", "The API key lacks the scope for this operation", "The board needs an ops or admin key."
        )
    return principal


def same_origin(request: Request) -> None:
    """Refuse a form posted from another site's page (the cookie's SameSite covers reads, not this)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        fetch_site = request.headers.get("sec-fetch-site")
        if fetch_site in (None, "same-origin", "none"):
            return
    elif urlsplit(origin).netloc == request.headers.get("host"):
        return
    raise ProblemError(403, "forbidden", "Cross-site form refused", "Sign in from the board's own page.")


async def posted_key(request: Request) -> str:
    """The `key` field of the sign-in form (application/x-www-form-urlencoded), bounded."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise ProblemError(413, "payload-too-large", f"The sign-in form is at most {MAX_FORM_BYTES} bytes")
    try:
        values = parse_qs(body.decode("latin-1"), max_num_fields=4).get("key", [""])
    except ValueError as exc:  # more fields than a sign-in form has
        raise invalid("body", "the sign-in form has one field, `key`") from exc
    key = values[0].strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ProblemError(401, "unauthorized", "Authentication required", "Paste an API key with the ops scope.")
    return key


def keep_key(response: Response, key: str, settings: NotifierSettings) -> None:
    response.set_cookie(
        COOKIE,
        key,
        max_age=int(settings.board_session_hours * 3600),
        path=PATH,
        secure=settings.board_cookie_is_secure(),
        httponly=True,
        samesite="strict",
    )


def forget_key(response: Response, settings: NotifierSettings) -> None:
    response.delete_cookie(
        COOKIE, path=PATH, secure=settings.board_cookie_is_secure(), httponly=True, samesite="strict"
    )
