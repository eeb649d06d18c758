"""The API key admin: scopes are ticked as checkboxes (publish, read, admin), never typed as JSON."""

import pytest
from django.contrib.auth.models import User

from dashboard.models import ApiKey

pytestmark = pytest.mark.django_db
ADD_URL = "/admin/dashboard/apikey/add/"


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_add_form_offers_one_checkbox_per_scope_with_publish_ticked(admin_client):
    form = admin_client.get(ADD_URL).context["adminform"].form
    assert form["scopes"].field.widget.input_type == "checkbox"
    assert [value for value, _ in form.fields["scopes"].choices] == ["publish", "read", "admin"]
    assert form["scopes"].value() == ["publish"]


def test_ticked_scopes_are_stored_as_a_list(admin_client):
    response = admin_client.post(ADD_URL, {"name": "ci", "scopes": ["read", "publish"]})
    assert response.status_code == 302
    assert ApiKey.objects.get(name="ci").scopes == ["publish", "read"]


def test_a_key_needs_at_least_one_scope(admin_client):
    response = admin_client.post(ADD_URL, {"name": "ci"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["scopes"] == ["This field is required."]
    assert not ApiKey.objects.exists()


def test_an_unknown_scope_is_refused(admin_client):
    response = admin_client.post(ADD_URL, {"name": "ci", "scopes": ["publish", "root"]})
    assert "root is not one of the available choices" in response.context["adminform"].form.errors["scopes"][0]
    assert not ApiKey.objects.exists()


def test_change_form_ticks_the_key_s_scopes_and_saves_changes(admin_client, api_key):
    key, _ = api_key
    url = f"/admin/dashboard/apikey/{key.pk}/change/"
    assert admin_client.get(url).context["adminform"].form["scopes"].value() == ["publish", "read"]
    response = admin_client.post(url, {"name": key.name, "scopes": ["admin"]})
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.scopes == ["admin"]
