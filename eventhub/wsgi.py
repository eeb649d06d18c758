"""WSGI entry point, for tools that want one; EventHub itself runs under Daphne (ASGI)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventhub.settings")

application = get_wsgi_application()
