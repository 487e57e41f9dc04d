"""Shared fixtures: the database the run uses, and real Redis, Daphne and Chromium.

`pytest` runs on the SQLite default; `pytest --db=postgres` starts a throwaway PostgreSQL server
and runs the same suite on it, the production path. Each plug-in app's tests live in
tests/<app>/ and are left out when the app is not installed: `LIVEFEED_PLUGINS= pytest` runs the
core's tests without any plug-in (`make test-core`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import dj_database_url
import pytest

from tests.fixtures import servers

# Sync Playwright runs an event loop in the test's thread; the ORM calls in the same tests are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
os.environ.pop("REDIS_URL", None)

PLUGIN_APPS = ("feeds.timing", "feeds.messaging", "feeds.webhooks", "feeds.participation")


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["tests.fixtures.hashing.QuickPBKDF2PasswordHasher"]
    config.addinivalue_line(
        "markers", "needs_plugins: about the plug-in apps together; left out without all of them"
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    from django.conf import settings

    tests_dir = Path(__file__).parent
    if collection_path.parent == tests_dir and f"feeds.{collection_path.name}" in PLUGIN_APPS:
        return f"feeds.{collection_path.name}" not in settings.PLUGINS or None
    return None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db", choices=["sqlite", "postgres"], default="sqlite", help="Database to test against."
    )
    parser.addoption(
        "--shard",
        default=None,
        metavar="K/N",
        help="Run the Kth of N interleaved shares of the tests (by test id), to run them side by side.",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.conf import settings

    # Before `-m` selects: every test that drives Chromium is a `browser` test, so `make test` can
    # run them in a pass of their own.
    # Redis belongs to the production mode, which runs on PostgreSQL (the embedded mode, SQLite's,
    # has no Redis): a test that starts Redis runs in the PostgreSQL pass.
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "browser" in fixtures:
            item.add_marker(pytest.mark.browser)
        if "redis" in fixtures:
            item.add_marker(pytest.mark.postgres)

    shard = config.getoption("--shard")
    if shard:
        k, n = (int(part) for part in shard.split("/"))
        ids = sorted(item.nodeid for item in items)
        mine = set(ids[k - 1 :: n])
        config.hook.pytest_deselected(items=[item for item in items if item.nodeid not in mine])
        items[:] = [item for item in items if item.nodeid in mine]

    if set(PLUGIN_APPS) - set(settings.PLUGINS):
        left_out = [item for item in items if "needs_plugins" in item.keywords]
        if left_out:
            config.hook.pytest_deselected(items=left_out)
            items[:] = [item for item in items if "needs_plugins" not in item.keywords]
    if config.getoption("--db") == "postgres":
        return
    skip = pytest.mark.skip(reason="runs in the PostgreSQL pass (pytest --db=postgres)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_kind(request: pytest.FixtureRequest) -> str:
    return request.config.getoption("--db")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, database_kind: str
) -> Iterator[None]:
    from django.conf import settings
    from django.db import connections

    database = settings.DATABASES["default"]
    with ExitStack() as stack:
        if database_kind == "postgres":
            postgres = stack.enter_context(servers.postgres_server())
            database.clear()
            database.update(dj_database_url.parse(postgres.url("livefeed")))
        else:
            database["TEST"] = {"NAME": str(tmp_path_factory.mktemp("sqlite") / "test.sqlite3")}
        # Connections opened by worker threads must close after each use, or the test database
        # cannot be dropped at the end of the run.
        database["CONN_MAX_AGE"] = 0
        connections.close_all()
        for alias in list(connections):
            try:
                del connections[alias]
            except AttributeError:
                pass
        connections.configure_settings(settings.DATABASES)
        yield
        connections.close_all()


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Rate-limit counters and cached values never carry over from one test to the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def redis_settings_are_left_as_found() -> Iterator[None]:
    """A test that points this process at Redis undoes it: a leaked REDIS_URL would send every
    later test to a Redis server long stopped, and fail one far from the cause."""
    from django.conf import settings

    before = settings.REDIS_URL
    yield
    assert settings.REDIS_URL == before, "this test left settings.REDIS_URL changed"


@pytest.fixture(autouse=True)
def fresh_process_state() -> Iterator[None]:
    """Nothing a process keeps for its lifetime carries over from one test to the next: the hub
    of readers and its Redis link, the cached Redis publisher and settings, reader counts,
    connections per address, cached static files."""
    reset_process_state()
    yield
    reset_process_state()


def reset_process_state() -> None:
    from feeds import answers, broadcast, consumers, embed, presence
    from feeds.audience import sampling

    answers.reset()
    broadcast.reset_process_state()
    presence.reset()
    sampling.reset()
    consumers.reset()
    embed.reset()


@pytest.fixture(scope="session", autouse=True)
def close_other_database_sessions(
    django_db_setup: None, django_db_blocker: Any, database_kind: str
) -> Iterator[None]:
    """At the end of the run, end the sessions servers and worker threads left open on the test
    database, so PostgreSQL lets it be dropped."""
    yield
    if database_kind != "postgres":
        return
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def database_url() -> str:
    """The URL of the test database, for server processes that must share it."""
    from django.db import connection

    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings_dict['NAME']}"
    return f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"


@pytest.fixture(scope="session")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Redis]:
    with servers.redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def server_env(transactional_db: None, tmp_path: Path) -> dict[str, str]:
    """Environment for a Daphne process sharing this test's database (committed data only)."""
    from django.conf import settings

    return {
        "DATABASE_URL": database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "true",
        "LIVEFEED_VAR_DIR": str(tmp_path / "var"),
        # Without Redis the processes of one test find each other here, and no one else's.
        "LIVEFEED_BUS_DIR": str(tmp_path / "bus"),
        "LOG_LEVEL": "WARNING",
        # Crowds of test readers all connect from 127.0.0.1 (the per-address cap has its own test).
        "LIVEFEED_MAX_CONNECTIONS_PER_ADDRESS": "1000000",
        # One server process per Daphne the test starts (several on one port have their own test).
        "LIVEFEED_PROCESSES": "1",
    }


@pytest.fixture
def start_daphne(server_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., servers.Daphne]]:
    """Start Daphne processes for this test: `start_daphne(REDIS_URL=...)`, with Daphne's own
    options in `args`."""
    with ExitStack() as stack:
        count = 0

        def start(*, args: tuple[str, ...] = (), **extra_env: str) -> servers.Daphne:
            nonlocal count
            count += 1
            log = tmp_path / f"daphne-{count}.log"
            return stack.enter_context(servers.daphne_server({**server_env, **extra_env}, log, args=args))

        yield start


@pytest.fixture
def start_worker(server_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start the background task worker for this test: `start_worker(REDIS_URL=...)`."""
    with ExitStack() as stack:

        def start(**extra_env: str) -> Any:
            return stack.enter_context(
                servers.task_worker({**server_env, **extra_env}, tmp_path / "worker.log")
            )

        yield start


@pytest.fixture
def publisher(django_user_model: Any) -> Any:
    """An editor allowed to publish, with an API token in `.token`."""
    from feeds.tokens import issue_token

    user = django_user_model.objects.create_user(
        username="editor", password="not-used-here", first_name="Eddie", last_name="Tor", is_staff=True
    )
    grant_publishing(user)
    user = django_user_model.objects.get(pk=user.pk)
    _, user.token = issue_token(user=user)
    return user


def grant_publishing(user: Any) -> None:
    from django.contrib.auth.models import Permission

    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="feeds",
            codename__in=[
                "add_feed",
                "change_feed",
                "add_entry",
                "change_entry",
                "delete_entry",
                "publish_entry",
            ],
        )
    )


@pytest.fixture
def live_feed(publisher: Any) -> Any:
    from feeds import services

    return services.create_feed(by=publisher, title="Night Race", slug="night-race", status="live")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright.

    Give `page.wait_for_function` a function (`"() => ..."`), never a bare expression: Playwright
    evaluates an expression with `eval` once it has to poll, which the pages' CSP refuses."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def make_member(django_user_model: Any) -> Callable[..., Any]:
    """`make_member("Contributor", "casey")`: a staff user in a newsroom group ("superuser" for a
    superuser), with an API token in `.token`; pass `password=` to log in through a browser."""
    from django.contrib.auth.models import Group, Permission

    from feeds import roles
    from feeds.tokens import issue_token

    def make(role: str, username: str, password: str | None = None) -> Any:
        user = django_user_model.objects.create_user(
            username=username,
            password=password,
            first_name=username.capitalize(),
            is_staff=True,
            is_superuser=role == "superuser",
        )
        if role != "superuser":
            # The data migration made the groups; a transactional test's flush may have removed them.
            group, _ = Group.objects.get_or_create(name=role)
            group.permissions.add(
                *(
                    Permission.objects.get(content_type__app_label=app_label, codename=codename)
                    for app_label, codename in (name.split(".") for name in roles.permissions_of(role))
                )
            )
            user.groups.add(group)
        user = django_user_model.objects.get(pk=user.pk)
        _, user.token = issue_token(user=user)
        return user

    return make


@pytest.fixture
def receiver() -> Iterator[Any]:
    """A local HTTP receiver (webhooks, WebSub hub) that records requests; see tests/fixtures/receivers.py."""
    from tests.fixtures.receivers import receiver as start_receiver

    with start_receiver() as server:
        yield server
