"""Static files answered in the event loop, from WhiteNoise's index of them, before Django.

WhiteNoise is a WSGI (or sync Django) middleware; under the ASGI server each static file passed
through a thread hop and Django's middleware chain. Here the same index, headers, compressed
alternatives and 304s are used, and a collected file's bytes are read once and kept (they never
change while a release runs). Ranges, large files and anything not in the index go on to Django,
whose `WhiteNoiseMiddleware` still serves them.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.conf import settings
from whitenoise.middleware import WhiteNoiseMiddleware

# Files above this are streamed by WhiteNoise in Django's request threads, not kept in memory.
MAX_KEPT_FILE_BYTES = 1024 * 1024
MAX_KEPT_BYTES = 64 * 1024 * 1024


def security_headers(secure: bool) -> list[tuple[bytes, bytes]]:
    """What Django's SecurityMiddleware adds to every answer, for those given before it."""
    headers = []
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append((b"x-content-type-options", b"nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        headers.append((b"referrer-policy", settings.SECURE_REFERRER_POLICY.encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append((b"cross-origin-opener-policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()))
    if secure and settings.SECURE_HSTS_SECONDS:
        value = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            value += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            value += "; preload"
        headers.append((b"strict-transport-security", value.encode()))
    return headers


def is_secure(scope: dict[str, Any]) -> bool:
    """Whether Django would call the request secure (its scheme, or the proxy's header)."""
    if scope.get("scheme") == "https":
        return True
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    if proxy_header:
        wanted = proxy_header[0].removeprefix("HTTP_").lower().replace("_", "-").encode()
        for name, value in scope.get("headers", []):
            if name == wanted:
                return value.split(b",")[0].strip() == proxy_header[1].encode()
    return False


class StaticFiles:
    """ASGI middleware: answer `/static/...` from WhiteNoise's index, in the loop."""

    def __init__(self, application: Any) -> None:
        self.application = application
        self.whitenoise = WhiteNoiseMiddleware(get_response=None)
        self.prefix = self.whitenoise.static_prefix
        self.kept: dict[str, bytes] = {}
        self.kept_bytes = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or not path.startswith(self.prefix)
            or scope["method"] not in ("GET", "HEAD")
        ):
            await self.application(scope, receive, send)
            return
        secure = is_secure(scope)
        if settings.SECURE_SSL_REDIRECT and not secure:
            await self.application(scope, receive, send)  # Django redirects it
            return
        static_file = (
            self.whitenoise.find_file(path)
            if self.whitenoise.autorefresh
            else self.whitenoise.files.get(path)
        )
        if static_file is None:
            await self.application(scope, receive, send)
            return
        request_headers = {
            "HTTP_" + name.decode("latin-1").upper().replace("-", "_"): value.decode("latin-1")
            for name, value in scope.get("headers", [])
        }
        if "HTTP_RANGE" in request_headers:
            await self.application(scope, receive, send)
            return
        if static_file.is_not_modified(request_headers):
            answer = static_file.not_modified_response
            await _send(send, answer.status, answer.headers, b"", secure)
            return
        file_path, headers = static_file.get_path_and_headers(request_headers)
        body = b"" if scope["method"] == "HEAD" else self.contents(file_path)
        if body is None:
            await self.application(scope, receive, send)
            return
        await _send(send, HTTPStatus.OK, headers, body, secure)

    def contents(self, file_path: str) -> bytes | None:
        """The file's bytes, kept after the first read unless files may change (DEBUG) or it is large."""
        kept = self.kept.get(file_path)
        if kept is not None:
            return kept
        with open(file_path, "rb") as file:
            body = file.read(MAX_KEPT_FILE_BYTES + 1)
        if len(body) > MAX_KEPT_FILE_BYTES:
            return None
        if not self.whitenoise.autorefresh and self.kept_bytes + len(body) <= MAX_KEPT_BYTES:
            self.kept[file_path] = body
            self.kept_bytes += len(body)
        return body


async def _send(send: Any, status: int, headers: Any, body: bytes, secure: bool) -> None:
    encoded = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    await send(
        {"type": "http.response.start", "status": int(status), "headers": encoded + security_headers(secure)}
    )
    await send({"type": "http.response.body", "body": body})
