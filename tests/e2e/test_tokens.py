"""A revoked token stops working at once, even on a connection kept alive from before."""

from __future__ import annotations

import httpx2 as httpx
import pytest

from feeds.models import ApiToken
from feeds.tokens import revoke_token

pytestmark = pytest.mark.django_db(transaction=True)


def test_revoked_token_is_refused_on_the_same_kept_alive_connection(start_daphne, publisher, live_feed):
    server = start_daphne()
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {publisher.token}"}, timeout=10
    ) as client:
        first = client.post(f"/api/feeds/{live_feed.slug}/entries/", json={"body": "before"})
        assert first.status_code == 201
        first_stream = first.extensions["network_stream"]
        revoke_token(token=ApiToken.objects.get(user=publisher))
        second = client.post(f"/api/feeds/{live_feed.slug}/entries/", json={"body": "after"})
        assert second.extensions["network_stream"] is first_stream, "the connection was kept alive"
    assert second.status_code == 401
