"""The favicon: linked from every page and answered at /favicon.ico, so a first page load has no 404."""

import pytest
from django.test import Client

from tests.dashboard_support import make_viewer

pytestmark = pytest.mark.django_db


def test_favicon_ico_is_an_icon_without_a_login(client: Client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # the ICO header


def test_pages_link_the_svg_favicon(client: Client):
    client.force_login(make_viewer())
    html = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
