"""Webhook targets: signed HTTP requests through the worker's pooled client (http.py).

Redirects are never followed (3xx is a failure), at most a few KB of the answer is read, and every
connection goes through the SSRF guard.
"""

import re
import time
from collections.abc import Collection
from datetime import UTC, datetime
from functools import lru_cache

from django.conf import settings
from django.utils import timezone

from .destinations import AllowList, DestinationRefused
from .http import HttpClient, InvalidURL
from .policy import DeadReason, Outcome, outcome_of_status, parse_retry_after
from .signing import signed_headers

REDACTED = "[redacted]"
_SECRET_HEADER = re.compile(r"authorization|cookie|token|secret|key|password|signature|credential", re.IGNORECASE)


def redact(headers: dict[str, str], secret: Collection[str] = ()) -> dict[str, str]:
    """Headers as stored with an attempt: anything that may carry a credential, by its name or because it
    is listed in `secret` (a connection's authorization headers, whatever their names), is masked."""
    return {
        name: REDACTED if name in secret or _may_carry_credential(name) else value for name, value in headers.items()
    }


@lru_cache(maxsize=4096)
def _may_carry_credential(name: str) -> bool:
    return _SECRET_HEADER.search(name) is not None


class WebhookSender:
    """Owns the HTTP session; `send` never raises, it describes what happened in an Outcome."""

    def __init__(self) -> None:
        self._client = HttpClient(
            AllowList(settings.EVENTHUB["WEBHOOK_ALLOW_NETWORKS"]),
            excerpt_bytes=settings.EVENTHUB["RESPONSE_EXCERPT_BYTES"],
        )

    async def close(self) -> None:
        await self._client.close()

    async def send(
        self,
        *,
        url: str,
        method: str,
        body: bytes,
        content_type: str,
        extra_headers: dict[str, str],
        secret: str,
        message_id: str,
        timeout: float,
        replay_name: str = "",
        secret_headers: Collection[str] = (),
    ) -> Outcome:
        now = datetime.now(UTC)  # timezone.now() with USE_TZ, without a settings lookup per delivery
        headers = {**extra_headers, "Content-Type": content_type}
        headers |= signed_headers(secret, message_id, int(now.timestamp()), body)
        if replay_name:
            headers["replay-name"] = replay_name
        outcome = Outcome(started_at=now, request_headers=redact(headers, secret_headers))
        began = time.perf_counter()
        try:
            response = await self._client.request(method, url, headers, body, timeout)
        except TimeoutError:
            outcome.error = f"timed out after {timeout:g} s"
        except (InvalidURL, DestinationRefused) as error:
            outcome.retriable, outcome.dead_reason = False, DeadReason.DESTINATION_REFUSED
            outcome.error = f"invalid URL: {error}" if isinstance(error, InvalidURL) else str(error)
        except (ValueError, OSError) as error:
            outcome.error = f"{type(error).__name__}: {error}"[:1000]
        else:
            # NUL cannot be stored in PostgreSQL text: the attempt would never be recorded.
            outcome.response_excerpt = response.excerpt.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
            outcome_of_status(outcome, response.status)
            if not outcome.succeeded and outcome.retriable:
                outcome.retry_after = parse_retry_after(response.retry_after, timezone.now())
        outcome.duration_ms = (time.perf_counter() - began) * 1000
        return outcome
