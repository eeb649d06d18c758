"""Credentials never reach the logs: in a logged URL, the value of any credential parameter is redacted.

The API refuses a key sent in the URL (dashboard.api.auth), but Daphne writes every request line to its
access log as received, which would keep the secret anyway. Daphne's only hook for that line is the action
logger its Server calls for every request and WebSocket event, so `redact_daphne_access_log` wraps the
method that calls it: the access log (`daphne --access-log`, or stdout) and `manage.py runserver` both
see the redacted URL.
"""

import re
from urllib.parse import unquote_plus

# Compared case-insensitively, after percent-decoding: more than the API refuses, since a log is
# no place for any of them.
CREDENTIAL_PARAMETERS = frozenset(
    {
        "access_key_id",
        "access_token",
        "api_key",
        "apikey",
        "authorization",
        "key",
        "password",
        "secret",
        "secret_access_key",
        "token",
        "x-amz-credential",
        "x-amz-security-token",
        "x-amz-signature",
    }
)
REDACTED = "[REDACTED]"

# A name=value pair of a query string. Both '&' and ';' end a pair: redacting too much is harmless.
_PARAMETER = re.compile(r"([^&;=]+)=([^&;]*)")


def redact_url(url: str) -> str:
    """The URL (path and query string, as logged) with the values of credential parameters replaced."""
    path, mark, query = url.partition("?")
    if not mark:
        return url
    return path + mark + _PARAMETER.sub(_redact_parameter, query)


def _redact_parameter(pair: re.Match) -> str:
    name = pair[1]
    if unquote_plus(name).strip().lower() in CREDENTIAL_PARAMETERS:
        return f"{name}={REDACTED}"
    return pair[0]


def redact_daphne_access_log() -> None:
    """Make Daphne's Server hand its action logger redacted paths (idempotent)."""
    from daphne.server import Server

    if getattr(Server, "_eventhub_redacts_credentials", False):
        return
    log_action = Server.log_action

    def redacting_log_action(self, protocol: str, action: str, details: dict) -> None:
        if isinstance(details.get("path"), str):
            details = details | {"path": redact_url(details["path"])}
        log_action(self, protocol, action, details)

    Server.log_action = redacting_log_action
    Server._eventhub_redacts_credentials = True
