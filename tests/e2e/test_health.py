"""The health check, against a real Daphne process, PostgreSQL or SQLite, and Redis."""

from __future__ import annotations

import httpx2 as httpx
import pytest

from tests.fixtures import servers

pytestmark = pytest.mark.django_db(transaction=True)


def test_health_is_ok_when_the_database_and_redis_answer(start_daphne, redis):
    server = start_daphne(REDIS_URL=redis.url)
    response = httpx.get(f"{server.url}/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == "ok" and response.json()["redis"] == "ok"
    assert "no-cache" in response.headers["Cache-Control"]


def test_health_names_redis_when_it_is_down(start_daphne, tmp_path):
    with servers.redis_server(tmp_path / "redis") as redis:
        server = start_daphne(REDIS_URL=redis.url)
        redis.process.kill()
        redis.process.wait()
        response = httpx.get(f"{server.url}/healthz", timeout=10)
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "ok",
        "redis": "unavailable",
        "subscription": "idle",
    }


def test_health_without_redis_checks_only_the_database(start_daphne):
    response = httpx.get(f"{start_daphne().url}/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "redis": "not configured",
        "subscription": "local",
    }
