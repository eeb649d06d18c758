"""The publish fast path enforces what Django's full stack does, on a live Daphne with DEBUG off: the host must
be in ALLOWED_HOSTS, and plain HTTP is redirected to HTTPS (behind a proxy, X-Forwarded-Proto says which)."""

import http.client
import json

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from dashboard.models import Event

PUBLISH_PATHS = ["/api/v1/events", "/api/v1/streams/Order/o-1/events", "/"]


@pytest.fixture
def production_settings(subprocess_env):
    subprocess_env.update(DEBUG="0", SECRET_KEY="test-" + "k" * 50, ALLOWED_HOSTS="127.0.0.1")


def publish(url: str, bearer: str, path: str, host: str | None = None, https: bool = False) -> http.client.HTTPResponse:
    """A valid publish request to `path` (PutEvents, signed, on `/`), sent with the given Host header."""
    address = url.removeprefix("http://")
    headers = {"Host": host or address} | ({"X-Forwarded-Proto": "https"} if https else {})
    if path == "/":
        body = json.dumps({"Entries": [{"Source": "a", "DetailType": "b", "Detail": "{}"}]}).encode()
        signed = AWSRequest(
            method="POST",
            url=f"http://{headers['Host']}/",
            data=body,
            headers=headers | {"X-Amz-Target": "AWSEvents.PutEvents", "Content-Type": "application/x-amz-json-1.1"},
        )
        SigV4Auth(Credentials(*bearer.removeprefix("Bearer ").split(":")), "events", "us-east-1").add_auth(signed)
        headers = dict(signed.headers.items())
    else:
        body = json.dumps({"source": "a", "detail-type": "b", "events": [{"detail-type": "b"}]}).encode()
        headers |= {"Authorization": bearer, "Content-Type": "application/json"}
    connection = http.client.HTTPConnection(*address.split(":"), timeout=30)
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    return response


@pytest.mark.parametrize("path", PUBLISH_PATHS)
def test_a_host_outside_allowed_hosts_is_refused_over_plain_http(production_settings, live_daphne, bearer, path):
    response = publish(live_daphne, bearer, path, host="evil.example")

    assert response.status == 400
    assert Event.objects.count() == 0


@pytest.mark.parametrize("path", PUBLISH_PATHS)
def test_a_host_outside_allowed_hosts_is_refused_over_https(production_settings, live_daphne, bearer, path):
    response = publish(live_daphne, bearer, path, host="evil.example", https=True)

    assert response.status == 400
    assert Event.objects.count() == 0


@pytest.mark.parametrize("path", PUBLISH_PATHS)
def test_plain_http_is_redirected_to_https_and_stores_nothing(production_settings, live_daphne, bearer, path):
    response = publish(live_daphne, bearer, path)

    assert response.status == 301
    assert response.headers["Location"] == f"https://{live_daphne.removeprefix('http://')}{path}"
    assert Event.objects.count() == 0


@pytest.mark.parametrize("path", PUBLISH_PATHS)
def test_https_to_an_allowed_host_is_stored_with_the_full_stacks_security_headers(
    production_settings, live_daphne, bearer, path
):
    response = publish(live_daphne, bearer, path, https=True)

    assert response.status == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert Event.objects.count() == 1
