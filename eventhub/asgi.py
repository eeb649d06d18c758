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
from dashboard.observability.health import HealthProbes  # noqa: E402
from dashboard.observability.log_redaction import redact_daphne_access_log  # noqa: E402
from dashboard.observability.tracing import start_from_settings  # noqa: E402
from dashboard.ui.websocket_urls import websocket_urlpatterns  # noqa: E402

skip_twisted_form_parsing()
redact_daphne_access_log()
start_from_settings("eventhub-web")

application = ProtocolTypeRouter(
    {
        # Static files are served by the app itself so one Daphne process is the whole deployment.
        # Probes are answered before anything else, so they stay cheap and need no Host or session.
        "http": HealthProbes(PublishFastPath(ASGIStaticFilesHandler(django_asgi_app), PublishHandler())),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
