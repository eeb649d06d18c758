"""Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`."""

import base64
import hashlib
import hmac
from functools import lru_cache

SECRET_PREFIX = "whsec_"


@lru_cache(maxsize=1024)
def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret (padding optional, as in the reference libraries)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4))


def signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers receivers verify; the id stays the same on every retry of a delivery."""
    headers = {"webhook-id": message_id, "webhook-timestamp": str(timestamp)}
    if secret:
        headers["webhook-signature"] = signature(secret_key(secret), message_id, timestamp, body)
    return headers


def verify(secret: str, headers: dict[str, str], body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """A receiver's check (used by `manage.py receive_webhooks`): a v1 signature matches and the timestamp
    is within `tolerance` seconds of `now`, as the Standard Webhooks reference libraries require."""
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id, timestamp = lowered.get("webhook-id", ""), lowered.get("webhook-timestamp", "")
    if not message_id or not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    expected = signature(secret_key(secret), message_id, int(timestamp), body)
    return any(hmac.compare_digest(expected, given) for given in lowered.get("webhook-signature", "").split())
