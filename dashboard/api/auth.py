"""API-key authentication for the native API: `Authorization: Bearer <access key id>:<secret>`."""

import hashlib
import hmac
import time

from django.http import HttpRequest

from dashboard.ingest import group_commit as ingest
from dashboard.models import ApiKey
from dashboard.observability.log_redaction import CREDENTIAL_PARAMETERS

from .errors import ApiError

# Keys are looked up at most once per KEY_CACHE_SECONDS per process, because publishing is the hot
# path; a revocation therefore takes effect within that time (documented in the README).
KEY_CACHE_SECONDS = 5.0
_MAX_CACHED_KEYS = 10_000
_keys: dict[str, tuple[float, ApiKey | None]] = {}
_verified_secrets: dict[str, bytes] = {}


async def find_key(access_key_id: str) -> ApiKey | None:
    now = time.monotonic()
    cached = _keys.get(access_key_id)
    if cached and now - cached[0] < KEY_CACHE_SECONDS:
        return cached[1]
    key = await ingest.run_db_work(_stored_key, access_key_id)
    if len(_keys) > _MAX_CACHED_KEYS:
        _keys.clear()
        _verified_secrets.clear()
    _keys[access_key_id] = (now, key)
    return key


def _stored_key(access_key_id: str) -> ApiKey | None:
    return ApiKey.objects.filter(access_key_id=access_key_id).first()


def secret_is_valid(key: ApiKey, secret: str) -> bool:
    """`key.check_secret`, remembered: the digest takes a pure-Python SHA-256 pass per call.

    The fingerprint covers the digests valid now, so when a rotated-out secret's grace ends, so does its memory.
    """
    fingerprint = hashlib.sha256(f"{':'.join(key.secret_digests())}:{secret}".encode()).digest()
    if hmac.compare_digest(_verified_secrets.get(key.access_key_id, b""), fingerprint):
        return True
    if not key.check_secret(secret):
        return False
    _verified_secrets[key.access_key_id] = fingerprint
    return True


def reject_key_in_query(request: HttpRequest) -> None:
    """Keys in URLs end up in logs and browser history, so we refuse them outright."""
    if any(name.strip().lower() in CREDENTIAL_PARAMETERS for name in request.GET):
        raise ApiError(400, "KeyInQueryString", "Send the API key in the Authorization header, never in the URL.")


async def authenticate(request: HttpRequest, scope: str) -> ApiKey:
    reject_key_in_query(request)
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    key_id, _, secret = credentials.strip().partition(":")
    if scheme.lower() != "bearer" or not key_id or not secret:
        raise ApiError(401, "MissingApiKey", "Send 'Authorization: Bearer <access_key_id>:<secret_access_key>'.")
    key = await find_key(key_id)
    if key is None or not secret_is_valid(key, secret):
        raise ApiError(401, "InvalidApiKey", "The API key is not valid.")
    if not key.is_active:
        raise ApiError(403, "RevokedApiKey", "The API key has been revoked.")
    if not key.has_scope(scope):
        raise ApiError(403, "MissingScope", f"The API key lacks the '{scope}' scope.")
    return key
