"""Safe retries: a write sent again with the same `Idempotency-Key` gets the first answer, once.

One implementation, two callers: `idempotent` wraps the desk's JSON views, `idempotent_api` the
write methods of the API's views. How it behaves is described in docs/idempotency.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema

from .models import IdempotencyKey

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A rate limit or a timeout may answer differently next time, like any 5xx: never replayed.
UNREPLAYABLE_STATUSES = frozenset({408, 429})

SCHEMA_PARAMETER = OpenApiParameter(
    name=HEADER,
    type={"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": r"^[!-~]([ -~]*[!-~])?$"},
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string of 1 to 255 characters (a UUID) chosen by the client for this write. "
        "Sending the same request again with the same key returns the first answer (status and "
        "body, with `Idempotent-Replayed: true`) without writing again; the same key with a "
        "different request is refused with 422. Keys are kept per user for "
        "`LIVEFEED_IDEMPOTENCY_TTL_HOURS` (24 h by default)."
    ),
)


class MalformedKey(ValueError):
    """The header is present but empty, too long or not printable ASCII."""


class _Discard(Exception):
    """Raised inside the transaction to roll back a write whose answer must not be replayed."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def key_from(request: HttpRequest) -> str | None:
    """The request's Idempotency-Key, None when absent; MalformedKey when unusable."""
    if HEADER not in request.headers:
        return None
    key = request.headers[HEADER].strip()
    if not key or len(key) > MAX_KEY_LENGTH or not all(" " <= char <= "~" for char in key):
        raise MalformedKey(
            _("The %(header)s header must be 1 to %(limit)s printable ASCII characters.")
            % {"header": HEADER, "limit": MAX_KEY_LENGTH}
        )
    return key


def fingerprint(*, method: str, path: str, data: Any, files: Any = None) -> str:
    """SHA-256 of what makes two requests the same write: method, path, fields and file contents.

    Fields are hashed in a canonical form, so a browser that rebuilds a multipart body with a new
    boundary, or a client that orders its JSON keys differently, still sends "the same request".
    """
    digest = hashlib.sha256(f"{method}\n{path}\n".encode())
    if isinstance(data, bytes):
        digest.update(data)
    else:
        digest.update(json.dumps(data, sort_keys=True, default=str).encode())
    for name in sorted(files or {}):
        for upload in files.getlist(name):
            digest.update(f"\n{name}:{upload.name}:{upload.size}\n".encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    return digest.hexdigest()


def _is_form(content_type: str) -> bool:
    return content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded"))


def _fields(query_dict: Any) -> dict[str, list[str]]:
    return {name: query_dict.getlist(name) for name in query_dict}


def _request_fingerprint(request: Any, *, body: Callable[[], Any]) -> str:
    """The fingerprint of a Django or DRF request; `body` reads a non-form body its own way.

    A view whose parser keeps the body as bytes (timing pushes) leaves DRF's `request.POST` as
    those bytes even for a form content type: such a body is fingerprinted as it came.
    """
    posted = request.POST if _is_form(request.content_type or "") else None
    if isinstance(posted, QueryDict):
        data: Any = _fields(posted)
        files = request.FILES
    else:
        data, files = body(), None
    return fingerprint(method=request.method or "", path=request.get_full_path(), data=data, files=files)


def _json_or_bytes(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return request.body


def _replayable(response: HttpResponse) -> bool:
    return 200 <= response.status_code < 500 and response.status_code not in UNREPLAYABLE_STATUSES


def run_once(
    *,
    user: Any,
    key: str,
    method: str,
    path: str,
    request_fingerprint: str,
    respond: Callable[[], HttpResponse],
) -> HttpResponse:
    """Answer a keyed write: replay the stored answer, refuse a mismatch, or run it and keep its answer.

    The key row is inserted before the write, in the write's own transaction: a concurrent retry's
    insert waits on the unique constraint (PostgreSQL) or the write lock (SQLite) until the first
    commits, then replays its answer. A write that fails with a 5xx rolls back with its key.
    """
    now = timezone.now()
    claim = IdempotencyKey(
        user=user,
        key=key,
        fingerprint=request_fingerprint,
        method=method,
        path=path,
        status_code=0,
        expires_at=now + timedelta(hours=settings.LIVEFEED["IDEMPOTENCY_TTL_HOURS"]),
    )
    for _attempt in range(3):
        try:
            with transaction.atomic():
                if not _claimed(claim):
                    earlier = IdempotencyKey.objects.filter(user=user, key=key).first()
                    if earlier is not None and earlier.expires_at > timezone.now():
                        return _answer_again(earlier, claim)
                    # Expired (housekeeping removes the keys nobody reuses): claim it again.
                    IdempotencyKey.objects.filter(user=user, key=key).delete()
                    continue
                response = respond()
                if not _replayable(response):
                    raise _Discard(response)
                claim.status_code = response.status_code
                claim.content_type = response.get("Content-Type", "")
                claim.body = response.content
                claim.save(update_fields=["status_code", "content_type", "body"])
                return response
        except _Discard as discarded:
            status = discarded.response.status_code
            logger.warning("%s %s answered %s: not kept, its %s may be retried", method, path, status, HEADER)
            return discarded.response
    raise RuntimeError(f"Could not claim {HEADER} {key!r}")


def _claimed(claim: IdempotencyKey) -> bool:
    """Insert the key row; False when the user already has this key (after waiting for its writer)."""
    try:
        with transaction.atomic():
            claim.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def _answer_again(earlier: IdempotencyKey, retry: IdempotencyKey) -> HttpResponse:
    if earlier.fingerprint != retry.fingerprint:
        logger.info(
            "Refused a reused %s on %s %s (first used for %s %s)",
            HEADER,
            retry.method,
            retry.path,
            earlier.method,
            earlier.path,
        )
        return JsonResponse(
            {
                "detail": _(
                    "This %(header)s was already used for a different request (%(method)s %(path)s). "
                    "Send a new key with each new request; reuse a key only to retry the same request."
                )
                % {"header": HEADER, "method": earlier.method, "path": earlier.path},
                "errors": {HEADER: [_("Already used for a different request.")]},
            },
            status=422,
        )
    response = HttpResponse(
        bytes(earlier.body), status=earlier.status_code, content_type=earlier.content_type or None
    )
    response[REPLAYED_HEADER] = "true"
    return response


def _serve(
    request: HttpRequest, *, user: Any, fingerprint_of: Callable[[], str], respond: Callable[[], HttpResponse]
) -> HttpResponse | None:
    """The keyed answer, or None when the request has no key (or nobody to keep it for)."""
    if request.method not in WRITE_METHODS:
        return None
    try:
        key = key_from(request)
    except MalformedKey as exc:
        logger.info("Refused a malformed %s on %s %s", HEADER, request.method, request.path)
        return JsonResponse({"detail": str(exc), "errors": {HEADER: [str(exc)]}}, status=400)
    if key is None or not getattr(user, "is_authenticated", False):
        return None
    return run_once(
        user=user,
        key=key,
        method=request.method,
        path=request.get_full_path(),
        request_fingerprint=fingerprint_of(),
        respond=respond,
    )


def idempotent(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Honour Idempotency-Key on a Django view (the desk's JSON endpoints)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        answer = _serve(
            request,
            user=request.user,
            fingerprint_of=lambda: _request_fingerprint(request, body=lambda: _json_or_bytes(request)),
            respond=lambda: view(request, *args, **kwargs),
        )
        return answer if answer is not None else view(request, *args, **kwargs)

    return wrapper


def idempotent_api(method: Callable[..., Any]) -> Callable[..., Any]:
    """Honour Idempotency-Key on an APIView write method, and say so in the OpenAPI schema.

    Runs after authentication (keys belong to the token's user); the method's exceptions are
    turned into their answers here, so a deterministic 4xx is kept and replayed like a success.
    """

    @wraps(method)
    def wrapper(view: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        def respond() -> HttpResponse:
            try:
                with transaction.atomic():
                    response = method(view, request, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - handle_exception re-raises what it cannot answer
                response = view.handle_exception(exc)
            response = view.finalize_response(request, response, *args, **kwargs)
            response.render()
            return response

        answer = _serve(
            request,
            user=request.user,
            fingerprint_of=lambda: _request_fingerprint(request, body=lambda: request.data),
            respond=respond,
        )
        return answer if answer is not None else method(view, request, *args, **kwargs)

    return extend_schema(parameters=[SCHEMA_PARAMETER])(wrapper)
