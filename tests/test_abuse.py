"""Limits that keep one client from hurting everyone, answered with 429 and Retry-After."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from feeds.abuse import WriteRateThrottle
from feeds.tokens import issue_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_writes_a_minute(monkeypatch):
    monkeypatch.setattr(WriteRateThrottle, "THROTTLE_RATES", {"write": "3/min"})


def client_for(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_api_writes_are_limited_per_token(three_writes_a_minute, publisher, live_feed):
    url = f"/api/feeds/{live_feed.slug}/entries/"
    first = client_for(publisher.token)
    assert [first.post(url, {"body": f"lap {n}"}, format="json").status_code for n in range(3)] == [201] * 3
    refused = first.post(url, {"body": "one too many"}, format="json")
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    _, other_key = issue_token(user=publisher, name="timing system")
    assert client_for(other_key).post(url, {"body": "other token"}, format="json").status_code == 201


def test_reads_are_not_limited_by_the_write_limit(three_writes_a_minute, live_feed):
    client = APIClient()
    assert {client.get(f"/api/feeds/{live_feed.slug}/").status_code for _ in range(10)} == {200}


def failed_login(username: str, address: str):
    response = Client(REMOTE_ADDR=address).post(
        "/admin/login/?next=/admin/", {"username": username, "password": "wrong"}
    )
    return response


def test_admin_login_locks_out_an_address_guessing_at_one_account(publisher):
    for _ in range(4):
        assert failed_login("editor", "203.0.113.7").status_code == 200
    locked = failed_login("editor", "203.0.113.7")  # the fifth failure from that address for that account
    assert locked.status_code == 429 and int(locked["Retry-After"]) == 15 * 60
    # Even the right password waits out the lockout, from that address.
    response = Client(REMOTE_ADDR="203.0.113.7").post(
        "/admin/login/?next=/admin/", {"username": "editor", "password": "not-used-here"}
    )
    assert response.status_code == 429


def test_a_strangers_failures_cannot_lock_an_editor_out(publisher):
    for n in range(12):
        failed_login("editor", f"203.0.113.{n % 3 + 1}")
    assert failed_login("editor", "203.0.113.1").status_code == 429  # the stranger is locked out
    response = Client(REMOTE_ADDR="198.51.100.10").post(
        "/admin/login/?next=/admin/", {"username": "editor", "password": "not-used-here"}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_successful_login_is_not_affected_by_a_few_failures(django_user_model):
    django_user_model.objects.create_superuser("chief", password="a-long-password-for-tests")
    for _ in range(2):
        failed_login("chief", "203.0.113.20")
    response = Client(REMOTE_ADDR="203.0.113.20").post(
        "/admin/login/?next=/admin/", {"username": "chief", "password": "a-long-password-for-tests"}
    )
    assert response.status_code == 302
