"""ASGI entry point: Django for HTTP, the readers' feed consumer for WebSockets.

Readers' pages and other sites' widgets connect from any origin, so the WebSocket route carries no
origin check; it is read-only and needs no session. The editors' desk route checks both.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "livefeed.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from feeds.answers import KeptAnswers  # noqa: E402
from feeds.desk.routing import desk_websocket_urlpatterns  # noqa: E402
from feeds.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # A feed's public answers at its current seq are given again without entering Django.
        "http": KeptAnswers(django_asgi_app),
        "websocket": URLRouter([*desk_websocket_urlpatterns, *websocket_urlpatterns]),
    }
)
