"""The desk's WebSocket route: session authentication and a same-origin check."""

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from .consumers import DeskConsumer

desk_websocket_urlpatterns = [
    path("ws/desk/<slug:slug>/", AllowedHostsOriginValidator(AuthMiddlewareStack(DeskConsumer.as_asgi()))),
]
