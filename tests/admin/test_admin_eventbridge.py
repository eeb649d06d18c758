"""The admin pages of event buses, connections and API destinations: connections never show their secrets."""

import pytest
from django.contrib.auth.models import User

from dashboard.rules import configuration
from tests.dashboard_support import PASSWORD

pytestmark = pytest.mark.django_db
API_KEY = {"ApiKeyAuthParameters": {"ApiKeyName": "X-Api-Key", "ApiKeyValue": "s3cret-value"}}


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", "root@example.com", PASSWORD))
    return client


def test_connection_page_shows_the_key_name_but_not_its_value(admin_client):
    connection = configuration.create_connection("hooks", authorization_type="API_KEY", auth_parameters=API_KEY)
    page = admin_client.get(f"/admin/dashboard/connection/{connection.pk}/change/")
    assert page.status_code == 200
    assert b"X-Api-Key" in page.content
    assert b"s3cret-value" not in page.content


def test_api_destination_list_shows_the_endpoint(admin_client):
    configuration.create_connection("hooks", authorization_type="API_KEY", auth_parameters=API_KEY)
    configuration.create_api_destination(
        "receiver", connection="hooks", invocation_endpoint="https://hooks.example.com/in", http_method="POST"
    )
    page = admin_client.get("/admin/dashboard/apidestination/")
    assert b"https://hooks.example.com/in" in page.content


def test_default_bus_cannot_be_deleted_in_the_admin(admin_client):
    default = configuration.get_bus("default")
    assert admin_client.get(f"/admin/dashboard/eventbus/{default.pk}/delete/").status_code == 403
