"""API keys: every request needs one, with the right scope, in the header."""

import json

import pytest
from django.core.management import call_command

from dashboard.models import ApiKey

pytestmark = pytest.mark.django_db

BODY = json.dumps({"source": "a", "detail-type": "b"})


def publish(client, **headers):
    return client.post("/api/v1/events", BODY, content_type="application/json", **headers)


def test_request_without_a_key_is_401(client):
    response = publish(client)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "MissingApiKey"


def test_wrong_secret_is_401(client, api_key):
    key, _ = api_key
    assert publish(client, HTTP_AUTHORIZATION=f"Bearer {key.access_key_id}:nope").status_code == 401


def test_revoked_key_is_403(client, api_key, auth_header):
    api_key[0].revoke()
    response = publish(client, **auth_header)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "RevokedApiKey"


def test_key_without_the_scope_is_403(client):
    key, secret = ApiKey.issue("reader", ["read"])
    response = publish(client, HTTP_AUTHORIZATION=f"Bearer {key.access_key_id}:{secret}")
    assert response.status_code == 403
    assert "publish" in response.json()["error"]["message"]


def test_key_in_the_query_string_is_refused(client, api_key):
    key, secret = api_key
    response = client.post(
        f"/api/v1/events?api_key={key.access_key_id}:{secret}", BODY, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "KeyInQueryString"


def test_secret_is_not_stored(api_key):
    key, secret = api_key
    assert secret not in key.secret_digest
    assert key.check_secret(secret)


def test_create_api_key_prints_json_for_scripts(capsys):
    call_command("create_api_key", name="ci", scopes="publish,read", json=True)
    printed = json.loads(capsys.readouterr().out)
    key = ApiKey.objects.get(access_key_id=printed["access_key_id"])
    assert key.check_secret(printed["secret_access_key"])
    assert key.scopes == ["publish", "read"]
