"""AWS Signature Version 4 verification for the EventBridge-compatible endpoint."""

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from django.http import HttpRequest

from dashboard.lib.hmac_keys import first_sigv4_hmac

_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/\s]+)/(?P<date>\d{8})/(?P<region>[^/\s]+)/(?P<service>[^/\s]+)"
    r"/aws4_request,\s*SignedHeaders=(?P<headers>[a-z0-9\-;]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)
MAX_CLOCK_SKEW = timedelta(minutes=15)
# Headers a signature must cover, as AWS requires: Host always and X-Amz-Date because it is where we
# read the signing time; X-Amz-Target too, since it selects the operation and must not be swappable.
_ALWAYS_SIGNED = ("Host", "X-Amz-Date")
_SIGNED_WHEN_SENT = ("X-Amz-Target",)
# The HTTP status AWS answers each error type with.
_STATUS = {
    "MissingAuthenticationTokenException": 400,
    "IncompleteSignatureException": 400,
    "InvalidSignatureException": 403,
    "UnrecognizedClientException": 400,
}


class SignatureError(Exception):
    """The request is not signed, or not signed by a key we know; `code` is AWS's error type."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = _STATUS[code]


@dataclass(frozen=True)
class Credential:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(request: HttpRequest) -> Credential:
    match = _AUTH.match(request.headers.get("Authorization", ""))
    if not match:
        raise SignatureError(
            "MissingAuthenticationTokenException", "Request is missing a valid AWS Signature Version 4."
        )
    signed_headers = tuple(match["headers"].split(";"))
    _require_signed(request, signed_headers)
    return Credential(
        access_key_id=match["key"],
        date=match["date"],
        region=match["region"],
        service=match["service"],
        signed_headers=signed_headers,
        signature=match["signature"],
    )


def _require_signed(request: HttpRequest, signed_headers: tuple[str, ...]) -> None:
    """A signature that leaves these out could be replayed to another host, time or operation."""
    required = _ALWAYS_SIGNED + tuple(name for name in _SIGNED_WHEN_SENT if name in request.headers)
    for name in required:
        if name.lower() not in signed_headers:
            raise SignatureError(
                "IncompleteSignatureException", f"'{name}' must be a 'SignedHeader' in the AWS Authorization."
            )


def _canonical_request(request: HttpRequest, credential: Credential, body: bytes) -> str:
    path = quote(request.path, safe="/-_.~") or "/"
    query = "&".join(
        sorted(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, vs in request.GET.lists() for v in vs)
    )
    headers = ""
    for name in credential.signed_headers:
        value = request.headers.get(name)
        if value is None:
            raise SignatureError("InvalidSignatureException", f"Signed header '{name}' is missing.")
        headers += f"{name}:{' '.join(value.split())}\n"
    return "\n".join(
        [request.method, path, query, headers, ";".join(credential.signed_headers), hashlib.sha256(body).hexdigest()]
    )


def verify(request: HttpRequest, credential: Credential, secret_digests: list[str], body: bytes) -> None:
    """Raise SignatureError unless the request carries a fresh, valid signature made with one of the key's
    secrets (two while a rotated-out secret is in its grace period)."""
    amz_date = request.headers.get("X-Amz-Date", "")
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError as error:
        raise SignatureError("IncompleteSignatureException", "X-Amz-Date header is missing or malformed.") from error
    if credential.date != amz_date[:8]:
        raise SignatureError(
            "InvalidSignatureException",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{credential.date}' != '{amz_date[:8]}', from '{amz_date}'.",
        )
    if abs(datetime.now(UTC) - signed_at) > MAX_CLOCK_SKEW:
        raise SignatureError("InvalidSignatureException", "Signature expired: X-Amz-Date is more than 15 minutes off.")
    scope = f"{credential.date}/{credential.region}/{credential.service}/aws4_request"
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            scope,
            hashlib.sha256(_canonical_request(request, credential, body).encode()).hexdigest(),
        ]
    )
    if not any(
        hmac.compare_digest(_signature(digest, credential, string_to_sign), credential.signature)
        for digest in secret_digests
    ):
        raise SignatureError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )


def _signature(secret_digest: str, credential: Credential, string_to_sign: str) -> str:
    key = first_sigv4_hmac(secret_digest, credential.date.encode())
    for part in (credential.region, credential.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
