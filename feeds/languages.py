"""The readers' languages: which ones a feed may be in, and the scripts' translations.

Pages are rendered in their feed's language (`Feed.language`), not the browser's, so one feed
reads the same for everyone and a CDN may cache it once. The scripts get the same words from
Django's JavaScript catalog, served per language at `/jsi18n/<language>/`.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.views.i18n import JavaScriptCatalog

# A deploy with new words reaches readers within this many seconds.
CATALOG_MAX_AGE = 3600


def language_codes() -> list[str]:
    """The languages a feed may be in."""
    return [code for code, _ in settings.LANGUAGES]


def script_catalog(request: HttpRequest, language: str) -> HttpResponseBase:
    """`gettext`, `ngettext`, `interpolate` and the formats of `language`, for the pages' scripts."""
    if language not in language_codes():
        raise Http404("No such language.")
    with translation.override(language):
        # Livefeed's own words only, not the admin's: the page loads nothing it does not use.
        response = JavaScriptCatalog.as_view(domain="djangojs", packages=["feeds"])(request)
    patch_cache_control(response, public=True, max_age=CATALOG_MAX_AGE)
    return response
