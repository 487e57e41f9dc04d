"""URLs typed by editors are only requested when they lead somewhere public."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from feeds import outbound



def refusing_private() -> override_settings:
    from django.conf import settings

    return override_settings(LIVEFEED={**settings.LIVEFEED, "OUTBOUND_ALLOW_PRIVATE": False})


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "javascript:alert(1)", "http:///nohost"])
def test_only_http_urls_with_a_host_are_accepted(url: str) -> None:
    with pytest.raises(outbound.RefusedURL):
        outbound.check_url(url)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:6379/", "http://localhost/", "http://10.1.2.3/", "http://169.254.169.254/latest/meta-data", "http://[::1]/"],
)
def test_private_and_local_addresses_are_refused_by_default_in_production(url: str) -> None:
    with refusing_private(), pytest.raises(outbound.RefusedURL, match="LIVEFEED_OUTBOUND_ALLOW_PRIVATE"):
        outbound.check_url(url)


def test_the_validator_names_the_problem_for_the_admin_form() -> None:
    with refusing_private(), pytest.raises(ValidationError) as raised:
        outbound.validate_public_url("http://192.168.0.10/timing.json")
    assert "private or local address" in raised.value.messages[0]


def test_a_refused_url_is_never_requested() -> None:
    with refusing_private(), pytest.raises(outbound.RefusedURL):
        outbound.request("GET", "http://127.0.0.1:1/", timeout=1)


def test_private_addresses_may_be_allowed_by_the_operator() -> None:
    from django.conf import settings

    with override_settings(LIVEFEED={**settings.LIVEFEED, "OUTBOUND_ALLOW_PRIVATE": True}):
        outbound.check_url("http://127.0.0.1:8080/timing.json")
