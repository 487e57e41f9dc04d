"""The stock Channels fan-out, served only by the benchmark so the gain is measured, not claimed.

Each reader is a consumer in a channel-layer group; a committed change is one `group_send`, which
channels-redis turns into a message per reader, each dispatched to its consumer (Livefeed's first
design). Run as `python -m livefeed.serve --application bench.stock:application`.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import path

from livefeed.asgi import application as livefeed_application  # sets Django up

# isort: split
from feeds.broadcast import publishing  # needs Django set up


def group_name(feed_slug: str) -> str:
    return f"feed.{feed_slug}"


def publish_to_group(*, feed_slug: str, seq: int, text: str) -> None:
    """Replaces `publishing.publish` in this process: one group_send per change.

    It also publishes the change's `seq` where Livefeed publishes changes, so the benchmark clocks
    the moment of publishing the same way on both paths (one extra command per change).
    """
    event = {"type": "feed.change", "seq": seq, "text": text}
    publishing._publisher().publish(publishing.redis_channel(feed_slug), f"{seq} ")
    async_to_sync(get_channel_layer().group_send)(group_name(feed_slug), event)


publishing.publish = publish_to_group


class StockFeedConsumer(AsyncWebsocketConsumer):
    """A reader as a consumer with its own channel, forwarding each change it is sent."""

    async def connect(self) -> None:
        self.group = group_name(self.scope["url_route"]["kwargs"]["slug"])
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def feed_change(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)


application = ProtocolTypeRouter(
    {
        "http": livefeed_application,
        "websocket": URLRouter([path("ws/feeds/<slug:slug>/", StockFeedConsumer.as_asgi())]),
    }
)
