"""What delivering does to a target itself: a 410 Gone disables it.

Standard Webhooks: a receiver that answers 410 says the endpoint was removed on purpose, so we stop
sending to it instead of dead-lettering every later event one attempt at a time. Its deliveries that
wait (pending or retrying) are dead-lettered at once as `target_disabled`: nothing more is sent, and
they are kept for a redrive once an operator re-enables the target. The target records why and when;
re-enabling it clears both.
"""

import logging
import uuid
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from dashboard.models import Delivery, Target
from dashboard.models.deliveries import webhook_id

from .planning import routing_cache
from .states import dead_changes

log = logging.getLogger(__name__)

State = Delivery.State


@dataclass
class Disabled:
    """What `disable_gone_target` did: whether it disabled the target now, and which waiting
    deliveries it dead-lettered."""

    disabled: bool = False
    dead: list[uuid.UUID] = field(default_factory=list)


def disable_gone_target(target_id: int, gone_delivery_id: uuid.UUID) -> Disabled:
    """Disable a target that answered 410 Gone, and dead-letter its deliveries still waiting to be sent.

    Idempotent: concurrent 410s from one target disable it once; each call still sweeps deliveries
    routed meanwhile by a process whose routing table had not seen the change yet.
    """
    now = timezone.now()
    gone = webhook_id(gone_delivery_id)
    result = Disabled()
    with transaction.atomic():
        target = Target.objects.filter(pk=target_id).select_related("rule").first()
        if target is None:
            return result
        # updated_at is set by hand: it is how every process's routing table notices the change.
        reason = f"answered 410 Gone to {gone}"
        result.disabled = bool(
            Target.objects.filter(pk=target_id, enabled=True).update(
                enabled=False, disabled_reason=reason, disabled_at=now, updated_at=now
            )
        )
        waiting = Delivery.objects.filter(target_id=target_id, state__in=(State.PENDING, State.RETRYING))
        result.dead = list(waiting.values_list("id", flat=True))
        if result.dead:
            Delivery.objects.filter(id__in=result.dead, state__in=(State.PENDING, State.RETRYING)).update(
                **dead_changes(
                    reason=Delivery.DeadReason.TARGET_DISABLED,
                    error=f"not sent: the target was disabled when it answered 410 Gone to {gone}",
                    target=target,
                    now=now,
                )
            )
    routing_cache.invalidate()
    if result.disabled:
        log.warning(
            "target %s (id %d, %s) answered 410 Gone: disabled; %d waiting deliveries dead-lettered for redrive",
            target,
            target_id,
            target.url,
            len(result.dead),
        )
    return result
