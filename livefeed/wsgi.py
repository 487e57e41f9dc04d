"""WSGI entry point, for management tooling that expects one; live pages need ASGI (Daphne)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "livefeed.settings")
application = get_wsgi_application()
