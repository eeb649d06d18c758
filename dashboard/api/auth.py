"""API-key authentication for the native API: `Authorization: Bearer <access key id>:<secret>`."""

from django.http import HttpRequest

from dashboard.models import ApiKey

from .errors import ApiError


def reject_key_in_query(request: HttpRequest) -> None:
    """Keys in URLs end up in logs and browser history, so we refuse them outright."""
    for name in ("api_key", "apikey", "key", "access_key_id", "secret", "token", "X-Amz-Credential"):
        if name in request.GET:
            raise ApiError(400, "KeyInQueryString", "Send the API key in the Authorization header, never in the URL.")


async def authenticate(request: HttpRequest, scope: str) -> ApiKey:
    reject_key_in_query(request)
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    key_id, _, secret = credentials.strip().partition(":")
    if scheme.lower() != "bearer" or not key_id or not secret:
        raise ApiError(401, "MissingApiKey", "Send 'Authorization: Bearer <access_key_id>:<secret_access_key>'.")
    key = await ApiKey.objects.filter(access_key_id=key_id).afirst()
    if key is None or not key.check_secret(secret):
        raise ApiError(401, "InvalidApiKey", "The API key is not valid.")
    if not key.is_active:
        raise ApiError(403, "RevokedApiKey", "The API key has been revoked.")
    if not key.has_scope(scope):
        raise ApiError(403, "MissingScope", f"The API key lacks the '{scope}' scope.")
    return key
