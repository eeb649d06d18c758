"""GET /metrics: the Prometheus text exposition, for an API key with the `read` scope or a client in one of
the networks of EVENTHUB_METRICS_ALLOW_NETWORKS (a Prometheus server usually scrapes without credentials)."""

import asyncio
import ipaddress
from functools import cache

from django.conf import settings
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse

from dashboard.api.auth import authenticate
from dashboard.api.errors import ApiError, error_response
from dashboard.observability.metrics import exposition


@cache
def _allowed_networks(networks: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(network.strip(), strict=False) for network in networks)


def _from_allowed_network(request: HttpRequest) -> bool:
    networks = _allowed_networks(tuple(settings.EVENTHUB["METRICS_ALLOW_NETWORKS"]))
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in networks)


def _render(accept: str) -> tuple[bytes, str]:
    try:
        return exposition(accept)
    finally:
        close_old_connections()


async def metrics(request: HttpRequest) -> HttpResponse:
    try:
        if request.method not in ("GET", "HEAD"):
            raise ApiError(405, "MethodNotAllowed", "Use GET.")
        if not _from_allowed_network(request):
            await authenticate(request, "read")
    except ApiError as error:
        return error_response(error)
    # A scrape runs several queries: in its own thread, so it never holds up the event loop or Django's
    # thread for sync views.
    body, content_type = await asyncio.to_thread(_render, request.headers.get("Accept", ""))
    return HttpResponse(body, content_type=content_type)
