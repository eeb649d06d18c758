"""What the EventBridge management tests share: one live Daphne per module and boto3 clients for it."""

import json
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from dashboard.models import ApiKey
from tests.conftest import _subprocess_env, daphne_server


@pytest.fixture(scope="module", name="server")
def live_server_for_module(django_db_setup, tmp_path_factory):
    """One Daphne for the module (the database is emptied between tests; the server keeps no state)."""
    with daphne_server(_subprocess_env(), tmp_path_factory.mktemp("daphne") / "daphne.log") as url:
        yield url


def client_for(url: str, scopes: list[str]):
    key, secret = ApiKey.issue("management", scopes)
    return boto3.client(
        "events",
        endpoint_url=url,
        region_name="local-1",
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


def signed_call(url: str, credentials: Credentials, operation: str, params: object) -> tuple[int, dict]:
    """A correctly signed request with any JSON body, as an SDK without client-side validation would send."""
    body = json.dumps(params).encode()
    headers = {"X-Amz-Target": f"AWSEvents.{operation}", "Content-Type": "application/x-amz-json-1.1"}
    request = AWSRequest(method="POST", url=f"{url}/", data=body, headers=headers)
    SigV4Auth(credentials, "events", "local-1").add_auth(request)
    raw = urllib.request.Request(f"{url}/", data=body, headers=dict(request.headers.items()))
    try:
        with urllib.request.urlopen(raw, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
