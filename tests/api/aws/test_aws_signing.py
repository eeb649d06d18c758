"""What a SigV4 signature must cover on the EventBridge endpoint, through a live Daphne.

Each request here is correctly signed over the headers it lists in SignedHeaders; what is wrong is what the
signature leaves out, so only the rule about signed headers (or the credential scope) can refuse it.
"""

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from dashboard.models import ApiKey, Event

ENTRY = {"Source": "signing", "DetailType": "Probe", "Detail": '{"n": 1}'}


@pytest.fixture
def credentials(transactional_db) -> Credentials:
    key, secret = ApiKey.issue("signer", ["publish", "read"])
    return Credentials(key.access_key_id, secret)


class SignerLeavingOut(SigV4Auth):
    """Signs as boto3 does, but leaves the named headers out of SignedHeaders (they are still sent)."""

    def __init__(self, credentials: Credentials, unsigned: tuple[str, ...]) -> None:
        super().__init__(credentials, "events", "us-east-1")
        self.unsigned = unsigned

    def headers_to_sign(self, request):
        headers = super().headers_to_sign(request)
        for name in self.unsigned:
            del headers[name]
        return headers


class SignerWithScopeDate(SigV4Auth):
    """Signs with a key derived for another day than the X-Amz-Date it sends."""

    def __init__(self, credentials: Credentials, scope_date: str) -> None:
        super().__init__(credentials, "events", "us-east-1")
        self.scope_date = scope_date

    def credential_scope(self, request) -> str:
        return f"{self.scope_date}/{self._region_name}/{self._service_name}/aws4_request"

    def scope(self, request) -> str:
        return f"{self.credentials.access_key}/{self.credential_scope(request)}"

    def signature(self, string_to_sign: str, request) -> str:
        key = f"AWS4{self.credentials.secret_key}".encode()
        for part in (self.scope_date, self._region_name, self._service_name, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def post(url: str, signer: SigV4Auth, target: str = "AWSEvents.PutEvents") -> tuple[int, dict]:
    body = json.dumps({"Entries": [ENTRY]}).encode()
    request = AWSRequest(
        method="POST",
        url=f"{url}/",
        data=body,
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
    )
    signer.add_auth(request)
    raw = urllib.request.Request(f"{url}/", data=body, headers=dict(request.headers.items()))
    try:
        with urllib.request.urlopen(raw, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_request_signing_host_date_and_target_is_accepted(live_daphne, credentials):
    status, answer = post(live_daphne, SignerLeavingOut(credentials, ()))
    assert (status, answer["FailedEntryCount"]) == (200, 0)
    assert Event.objects.get().source == "signing"


@pytest.mark.parametrize(("unsigned", "named"), [("host", "Host"), ("x-amz-date", "X-Amz-Date")])
def test_signature_must_cover_host_and_date(live_daphne, credentials, unsigned, named):
    status, answer = post(live_daphne, SignerLeavingOut(credentials, (unsigned,)))
    assert (status, answer["__type"]) == (400, "IncompleteSignatureException")
    assert f"'{named}' must be a 'SignedHeader'" in answer["message"]
    assert not Event.objects.exists()


def test_signature_must_cover_the_target_that_selects_the_operation(live_daphne, credentials):
    status, answer = post(live_daphne, SignerLeavingOut(credentials, ("x-amz-target",)))
    assert (status, answer["__type"]) == (400, "IncompleteSignatureException")
    assert "'X-Amz-Target' must be a 'SignedHeader'" in answer["message"]
    assert not Event.objects.exists()


def test_signature_with_a_key_derived_for_another_day_is_refused(live_daphne, credentials):
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y%m%d")
    status, answer = post(live_daphne, SignerWithScopeDate(credentials, yesterday))
    assert (status, answer["__type"]) == (403, "InvalidSignatureException")
    assert "Date in Credential scope does not match" in answer["message"]
    assert not Event.objects.exists()
