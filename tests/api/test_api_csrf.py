"""API POSTs authenticate with keys, not cookies: no CSRF token is needed on any of them."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

POST_URLS = [
    "/api/v1/events",
    "/api/v1/patterns/test",
    "/api/v1/dead-letters/redrive",
    "/api/v1/replays",
    "/api/v1/streams/Order/o-1/events",
    "/api/v1/shop/orders",
]


@pytest.mark.parametrize("url", POST_URLS)
def test_api_post_reaches_the_view_without_a_csrf_token(url):
    response = Client(enforce_csrf_checks=True).post(url, "{}", content_type="application/json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "MissingApiKey"
