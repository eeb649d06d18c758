"""ASGI entry point: HTTP through Django, WebSockets through Channels, both behind Daphne."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventhub.settings")

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from dashboard.api.fastpath import PublishFastPath, PublishHandler, skip_twisted_form_parsing  # noqa: E402
from dashboard.routing import websocket_urlpatterns  # noqa: E402

skip_twisted_form_parsing()

application = ProtocolTypeRouter(
    {
        # Static files are served by the app itself so one Daphne process is the whole deployment.
        "http": PublishFastPath(ASGIStaticFilesHandler(django_asgi_app), PublishHandler()),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
