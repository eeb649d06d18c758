"""OAuth client credentials for API destinations: the bearer token a connection's deliveries carry.

As EventBridge does, the worker asks the connection's authorization endpoint for a token (the client ID
and secret as HTTP Basic credentials, `grant_type=client_credentials` and the connection's
OAuthHttpParameters as header, query and form body parameters), keeps it in memory per connection until
shortly before `expires_in` runs out, and fetches a new one when the target answers 401 or 407 (the
delivery is then retried under the target's normal retry policy). Tokens are never stored in the database.
The endpoint is reached through the same SSRF guard as webhooks. A token request the endpoint refuses
(4xx, or an answer without an access token) dead-letters the delivery and marks the connection
DEAUTHORIZED; a timeout, a connection error or a 5xx is retried like any failed attempt.
"""

import asyncio
import json
import time
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from dashboard.models import Connection, Target

from .database import DatabaseThreads
from .destinations import AllowList, GuardedConnector, refusal_in
from .policy import DeadReason, Outcome

# A token is replaced this long before it expires (EventBridge's window), or halfway for short-lived ones.
REFRESH_BEFORE_SECONDS = 60.0
# Without `expires_in`, a token is kept this long (or until the target refuses it).
DEFAULT_LIFETIME_SECONDS = 3600.0
MAX_TOKEN_RESPONSE_BYTES = 64 * 1024
REFUSED_TOKEN_STATUSES = frozenset({401, 407})


class TokenFailed(Exception):
    """No token could be obtained; `outcome` is the failed attempt to record."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.error)
        self.outcome = outcome


@dataclass(frozen=True)
class Source:
    """Where a connection's tokens come from. Hashable: an edited connection is a new source, with new tokens."""

    connection_id: int
    endpoint: str
    method: str
    client_id: str
    client_secret: str = field(repr=False)
    headers: tuple[tuple[str, str], ...]
    query: tuple[tuple[str, str], ...]
    body: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Token:
    value: str = field(repr=False)
    refresh_at: float  # time.monotonic()


# Per process: a target's source, valid while the target row is unchanged (a connection edit saves its
# targets, see rules/configuration.py), and the tokens per source. Plain data, shared by every event loop.
_sources: dict[int, tuple[datetime, Source | None]] = {}
_tokens: dict[Source, Token] = {}
_locks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def authorization(db: DatabaseThreads, target: Target) -> dict[str, str]:
    """The `Authorization: Bearer` header for a target whose connection uses OAuth ({} for any other
    target). Raises TokenFailed when no token could be had."""
    if not target.api_destination_id:
        return {}
    source = await _source(db, target)
    if source is None:
        return {}
    token = _tokens.get(source)
    if token is None or token.refresh_at <= time.monotonic():
        async with _lock(source):
            token = _tokens.get(source)
            if token is None or token.refresh_at <= time.monotonic():
                token = await _fetch(db, source, target.timeout_seconds)
                _tokens[source] = token
    return {"Authorization": f"Bearer {token.value}"}


def refused(outcome: Outcome, target: Target, sent: dict[str, str]) -> None:
    """After the attempt: a 401 or 407 to a bearer token drops that token, and the delivery is retried
    (under the normal policy) with a new one, as EventBridge does."""
    if not sent or outcome.status_code not in REFUSED_TOKEN_STATUSES:
        return
    source = _sources.get(target.id, (None, None))[1]
    token = _tokens.get(source)
    if token is not None and sent["Authorization"] == f"Bearer {token.value}":
        del _tokens[source]
    outcome.retriable, outcome.dead_reason = True, ""
    outcome.error = f"HTTP {outcome.status_code}: the OAuth token was refused; a new one is fetched for the retry"


async def _source(db: DatabaseThreads, target: Target) -> Source | None:
    """The target's token source, loaded again when the target row changed (a connection edit saves the
    targets using it); the token of a source no longer used is forgotten."""
    cached = _sources.get(target.id)
    if cached is not None and cached[0] == target.updated_at:
        return cached[1]
    source = await db.call(_load_source, target.api_destination_id)
    _sources[target.id] = (target.updated_at, source)
    if cached is not None and cached[1] is not None and cached[1] != source:
        _tokens.pop(cached[1], None)
    return source


def _lock(source: Source) -> asyncio.Lock:
    """One token request per source at a time in this event loop: concurrent deliveries wait for it."""
    locks = _locks.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(source, asyncio.Lock())


def _load_source(destination_id: int) -> Source | None:
    connection = Connection.objects.filter(api_destinations=destination_id).first()
    if connection is None or connection.authorization_type != Connection.AuthorizationType.OAUTH_CLIENT_CREDENTIALS:
        return None
    oauth = connection.auth_parameters["OAuthParameters"]
    http = oauth.get("OAuthHttpParameters", {})

    def pairs(name: str) -> tuple[tuple[str, str], ...]:
        return tuple((p["Key"], p["Value"]) for p in http.get(name, []))

    return Source(
        connection_id=connection.pk,
        endpoint=oauth["AuthorizationEndpoint"],
        method=oauth["HttpMethod"],
        client_id=oauth["ClientParameters"]["ClientID"],
        client_secret=oauth["ClientParameters"]["ClientSecret"],
        headers=pairs("HeaderParameters"),
        query=pairs("QueryStringParameters"),
        body=pairs("BodyParameters"),
    )


async def _fetch(db: DatabaseThreads, source: Source, timeout: float) -> Token:
    """Ask the authorization endpoint for a token; record the connection's state when it changes."""
    started = datetime.now(UTC)
    try:
        token = await _request(source, timeout)
    except TokenFailed as failure:
        failure.outcome.started_at = started
        if not failure.outcome.retriable:
            await db.call(_set_state, source.connection_id, Connection.State.DEAUTHORIZED)
        raise
    await db.call(_set_state, source.connection_id, Connection.State.AUTHORIZED)
    return token


async def _request(source: Source, timeout: float) -> Token:
    body = dict((("grant_type", "client_credentials"), *source.body))
    query = [*source.query, *(body.items() if source.method == "GET" else ())]
    failure = Outcome(started_at=timezone.now())
    prefix = f"OAuth token request to {source.endpoint}"
    connector = GuardedConnector(allow=AllowList(settings.EVENTHUB["WEBHOOK_ALLOW_NETWORKS"]), limit=1)
    credentials = aiohttp.encode_basic_auth(source.client_id, source.client_secret)
    request = {
        "params": query or None,
        "data": None if source.method == "GET" else body,
        "headers": {**dict(source.headers), "Accept": "application/json", "Authorization": credentials},
        "allow_redirects": False,
        "timeout": aiohttp.ClientTimeout(total=timeout),
    }
    try:
        async with (
            aiohttp.ClientSession(connector=connector, trust_env=False) as session,
            session.request(source.method, source.endpoint, **request) as response,
        ):
            status = response.status
            answer = await response.content.read(MAX_TOKEN_RESPONSE_BYTES)
    except TimeoutError:
        failure.error = f"{prefix} timed out after {timeout:g} s"
        raise TokenFailed(failure) from None
    except (aiohttp.ClientError, OSError, ValueError) as error:
        refusal = refusal_in(error)
        if refusal is not None:
            failure.retriable, failure.dead_reason = False, DeadReason.DESTINATION_REFUSED
            failure.error = f"{prefix}: {refusal}"
        else:
            failure.error = f"{prefix} failed: {type(error).__name__}: {error}"[:1000]
        raise TokenFailed(failure) from None
    if status == 429 or status >= 500:
        failure.error = f"{prefix} answered HTTP {status}"
        raise TokenFailed(failure)
    token = _token_in(answer) if 200 <= status < 300 else None
    if token is None:
        failure.retriable, failure.dead_reason = False, DeadReason.NON_RETRIABLE_STATUS
        why = f"answered HTTP {status}" if not 200 <= status < 300 else "answered without an access_token"
        failure.error = f"{prefix} {why}: the connection is deauthorized until its OAuth parameters are fixed"
        raise TokenFailed(failure)
    return token


def _token_in(answer: bytes) -> Token | None:
    try:
        document = json.loads(answer)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    value, lifetime = document.get("access_token"), document.get("expires_in", DEFAULT_LIFETIME_SECONDS)
    if not isinstance(value, str) or not value or any(c in value for c in "\r\n\x00"):
        return None
    if isinstance(lifetime, str) and lifetime.isdigit():
        lifetime = float(lifetime)
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime < 0:
        lifetime = DEFAULT_LIFETIME_SECONDS
    return Token(value, time.monotonic() + lifetime - min(REFRESH_BEFORE_SECONDS, lifetime / 2))


def _set_state(connection_id: int, state: str) -> None:
    """Only writes when the state changes, so a healthy connection costs no write per token."""
    changed = {"state": state} | (
        {"last_authorized_at": timezone.now()} if state == Connection.State.AUTHORIZED else {}
    )
    Connection.objects.filter(~Q(state=state), pk=connection_id).update(**changed)
