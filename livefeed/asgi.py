"""ASGI entry point: HTTP for pages, API and files, the readers' feed consumer for WebSockets.

An HTTP request meets, in order: the health check, static files, the answers kept for each feed's
current seq, and readers' votes and reactions counted in Redis, all answered in the event loop;
anything else runs through Django's whole middleware chain and view in a thread of a pool
(`livefeed.django_threads`), never through sync/async hops inside Django.

Readers' pages and other sites' widgets connect from any origin, so the WebSocket route carries no
origin check; it is read-only and needs no session. The editors' desk route checks both.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "livefeed.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

django_wsgi_app = get_wsgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from feeds.answers import KeptAnswers  # noqa: E402
from feeds.desk.routing import desk_websocket_urlpatterns  # noqa: E402
from feeds.health import HealthCheck  # noqa: E402
from feeds.participation.loop_votes import LoopVotes  # noqa: E402
from feeds.routing import websocket_urlpatterns  # noqa: E402
from livefeed.django_threads import ThreadedDjango  # noqa: E402
from livefeed.static_files import StaticFiles  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": HealthCheck(StaticFiles(KeptAnswers(LoopVotes(ThreadedDjango(django_wsgi_app))))),
        "websocket": URLRouter([*desk_websocket_urlpatterns, *websocket_urlpatterns]),
    }
)
