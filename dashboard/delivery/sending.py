"""Sending: one claimed delivery to its target, under the target's rate and concurrency limits.

`Sending.send` returns what to record (an `attempts.Finished`), or None when the delivery went back
untried: its rate-limit slot is later, its target has no room, or the database or Redis failed first.
"""

import asyncio
import logging
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import UTC, datetime, timedelta

import redis
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from dashboard.delivery.cloudevents import EVENTBRIDGE, delivery_request
from dashboard.lib.jsoncodec import dumps
from dashboard.models import Delivery, Rule, Target
from dashboard.observability import tracing
from dashboard.observability.tracing import propagation_headers
from dashboard.ui import broadcast

from . import leases, oauth, pausing, targets
from .attempts import Finished
from .database import DatabaseThreads
from .handlers import call_handler
from .intake import Work, acknowledge
from .policy import DeadReason, Outcome, too_old
from .transform import InvalidTransform, RuleContext, target_input
from .transport import AsyncTransport
from .webhook import WebhookSender

log = logging.getLogger(__name__)

# A rate-limit slot further away than this is waited for in the delayed set, not in a worker slot.
RATE_WAIT_IN_PLACE_SECONDS = 1.0
# A delivery whose target is at its concurrency limit is offered again after this long.
GATE_RETRY_SECONDS = 0.5


class Sending:
    def __init__(self, db: DatabaseThreads, transport: AsyncTransport, sender: WebhookSender, worker: str) -> None:
        self.db = db
        self.transport = transport
        self.sender = sender
        self.worker = worker
        self._gates: dict[int, tuple[int, asyncio.Semaphore]] = {}
        self._rule_contexts: dict[tuple[str, str], RuleContext] = {}
        self._region, self._account = settings.EVENTHUB["REGION"], settings.EVENTHUB["ACCOUNT"]

    async def send(self, work: Work) -> Finished | None:
        """Send the delivery (or refuse it: target deleted or disabled, event too old) and say what happened."""
        delivery = work.delivery
        target = delivery.target
        attempted = False
        try:
            if target is None:
                outcome = _refused(DeadReason.TARGET_DELETED, "the target was deleted")
            elif not target.enabled or not target.rule.is_enabled:
                outcome = _refused(DeadReason.TARGET_DISABLED, "the target or its rule is disabled")
            elif too_old(delivery, target, datetime.now(UTC)):  # timezone.now(), minus a settings lookup
                age = target.maximum_event_age_seconds
                outcome = _refused(DeadReason.MAXIMUM_EVENT_AGE, f"older than the maximum event age ({age} s)")
            else:
                if target.is_paused and await self._wait_while_paused(work, target):
                    return None
                if target.rate_limit_per_second and not work.reserved and await self._defer_for_rate(work, target):
                    return None
                gate = self._gate(target)
                if isinstance(gate, asyncio.Semaphore) and gate.locked():
                    # Waiting here would hold one of this worker's slots: a hanging target would take them
                    # all and starve healthy ones. The delivery comes back when the target has room.
                    await self._defer(work, GATE_RETRY_SECONDS)
                    return None
                async with gate:
                    outcome, attempted = await self._attempt(delivery, target)
        except (redis.RedisError, OSError, DatabaseError):
            log.warning("delivery %s interrupted before it was sent; handing it back", delivery.id, exc_info=True)
            await self._hand_back(work)
            return None
        except Exception as error:  # noqa: BLE001 - a bug must not leak a slot: recorded as a failed attempt
            log.exception("delivery %s failed unexpectedly", delivery.id)
            outcome = Outcome(started_at=timezone.now(), error=f"internal error: {type(error).__name__}: {error}")
            attempted = True
        if outcome.target_gone:
            await self._disable_gone_target(delivery)
        return Finished(delivery, work.token, outcome, worker=self.worker, attempted=attempted)

    async def _disable_gone_target(self, delivery: Delivery) -> None:
        """The target answered 410 Gone: disable it and dead-letter what waits for it (targets.py). Done
        before the attempt is recorded, so deliveries released behind this one find the target disabled."""
        try:
            disabled = await self.db.call(targets.disable_gone_target, delivery.target_id, delivery.id)
        except DatabaseError:
            log.warning("disabling target %s after a 410 failed; the next 410 will", delivery.target_id, exc_info=True)
            return
        broadcast.deliveries_changed(disabled.dead)

    async def _hand_back(self, work: Work) -> None:
        """Give a claimed delivery back untried, due in a second; its entry stays pending in Redis."""
        try:
            due = timezone.now() + timedelta(seconds=1)
            await self.db.call(leases.give_back, work.delivery, work.token, due)
        except DatabaseError:
            log.warning("handing back %s failed; its lease will run out", work.delivery.id, exc_info=True)

    async def _wait_while_paused(self, work: Work, target: Target) -> bool:
        """Unless this delivery is the target's probe (or the target was resumed), it goes back to wait
        for the next probe (see pausing.py); True then. The database is asked every time: right after a
        resume this process's routing table still says paused for up to a second."""
        due = await self.db.call(pausing.wait_for_probe, work.delivery, work.token)
        if due is None:
            return False
        await self.transport.schedule([(work.delivery.id, due, work.reserved)])
        await acknowledge(self.transport, work.entry_ids)
        return True

    async def _defer_for_rate(self, work: Work, target: Target) -> bool:
        """Wait for the target's rate-limit slot here if it is near; else hand the delivery back until then."""
        wait = await self.transport.reserve_slot(target.id, target.rate_limit_per_second)
        if wait <= RATE_WAIT_IN_PLACE_SECONDS:
            await asyncio.sleep(wait)
            return False
        await self._defer(work, wait, reserved=True)
        return True

    async def _defer(self, work: Work, wait: float, *, reserved: bool = False) -> None:
        """Give the delivery back, untried, due in `wait` seconds, through the delayed set."""
        due = timezone.now() + timedelta(seconds=wait)
        if await self.db.call(leases.give_back, work.delivery, work.token, due):
            await self.transport.schedule([(work.delivery.id, due, reserved)])
        await acknowledge(self.transport, work.entry_ids)

    def _rule_context(self, rule: Rule) -> RuleContext:
        """What an input transformer knows of the rule; kept per rule name, as the ARN is the same for each send."""
        key = (rule.bus, rule.name)
        context = self._rule_contexts.get(key)
        if context is None:
            arn = f"arn:aws:events:{self._region}:{self._account}:rule/{rule.bus}/{rule.name}"
            context = self._rule_contexts[key] = RuleContext(name=rule.name, arn=arn)
        return context

    def _gate(self, target: Target) -> AbstractAsyncContextManager:
        """The target's concurrency limit in this process (recreated when the limit is edited)."""
        if not target.max_concurrency:
            return nullcontext()
        limit, gate = self._gates.get(target.id, (0, None))
        if gate is None or limit != target.max_concurrency:
            gate = asyncio.Semaphore(target.max_concurrency)
            self._gates[target.id] = (target.max_concurrency, gate)
        return gate

    async def _attempt(self, delivery: Delivery, target: Target) -> tuple[Outcome, bool]:
        with tracing.attempt_span(delivery, target) as span:
            outcome, attempted = await self._send_attempt(delivery, target)
            tracing.record_outcome(span, outcome)
        return outcome, attempted

    async def _send_attempt(self, delivery: Delivery, target: Target) -> tuple[Outcome, bool]:
        event = delivery.event
        try:
            payload = target_input(
                event.envelope(),
                target.input_path,
                target.input_transformer,
                self._rule_context(target.rule),
                event.received_at.strftime("%Y-%m-%dT%H:%M:%SZ") if target.input_transformer else "",
                replay_name=delivery.replay_name,
            )
        except InvalidTransform as error:
            return _refused(DeadReason.TRANSFORM_FAILED, str(error)), False
        if target.kind == Target.Kind.PYTHON:
            return await call_handler(target.handler, payload, target.timeout_seconds), True
        # An API destination's target also carries its connection's authorization (rules/configuration.py; an OAuth
        # connection's bearer token comes from oauth.py), and every delivery the producer's trace context, so
        # the receiver joins its trace.
        try:
            bearer = await oauth.authorization(self.db, target)
        except oauth.TokenFailed as failure:
            return failure.outcome, True
        extra_headers = {
            **(target.headers or {}),
            **target.auth_headers,
            **bearer,
            **propagation_headers(event.traceparent, event.tracestate),
        }
        if target.payload_format != EVENTBRIDGE:
            transformed = target.input_path or target.input_transformer
            cloudevent_headers, body = delivery_request(
                event, target.payload_format, payload if transformed else event.detail
            )
            content_type = cloudevent_headers.pop("Content-Type")
            extra_headers |= cloudevent_headers
        elif isinstance(payload, str):
            body, content_type = payload.encode(), "text/plain; charset=utf-8"
        else:
            body, content_type = dumps(payload), "application/json"
        outcome = await self.sender.send(
            url=target.url,
            method=target.method,
            body=body,
            content_type=content_type,
            extra_headers=extra_headers,
            secret_headers=target.auth_headers.keys() | bearer.keys(),
            secret=target.signing_secret,
            message_id=delivery.webhook_id,
            timeout=target.timeout_seconds,
            replay_name=delivery.replay_name,
        )
        oauth.refused(outcome, target, bearer)
        return outcome, True


def _refused(reason: str, message: str) -> Outcome:
    return Outcome(started_at=timezone.now(), retriable=False, dead_reason=reason, error=message)
