"""The API answers in the client's language (`Accept-Language`), as the desk does for its user.

Only the words Livefeed writes for the request are affected (refusals, errors); a feed's own
content stays in the feed's language. Reader pages are left alone, so a CDN keeps one copy per URL.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers


class APILanguageMiddleware:
    """Activate the language a client of /api/ asks for while its request is answered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.prefix: str | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.prefix is None:
            self.prefix = reverse("api:schema").removesuffix("schema/")
        if not request.path.startswith(self.prefix):
            return self.get_response(request)
        with translation.override(translation.get_language_from_request(request)):
            response = self.get_response(request)
        if response.status_code >= 400:
            # A refusal is worded for the client; a cache must not hand it to one asking in another language.
            patch_vary_headers(response, ["Accept-Language"])
        return response
