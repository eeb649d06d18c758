"""Delivery state changes that more than one path makes, written once: the columns each move sets.

Every path that ends a delivery as dead (an attempt's outcome, a poison event, a target that answered
410) takes its columns from `dead_changes`, so each honours the target's dead-letter setting the same
way. Callers apply them with a conditional `update()`, so a delivery moved meanwhile is left alone.
"""

from datetime import datetime

from dashboard.models import Delivery, Target

State = Delivery.State


def keeps_dead_letters(target: Target | None) -> bool:
    """Whether a delivery that dies now is listed as a dead letter: per the target's setting; a deleted
    target's deliveries are kept (there is no setting left to honour, and they may be redriven)."""
    return target.dead_letter_enabled if target is not None else True


def dead_changes(
    *, reason: str, error: str, target: Target | None, now: datetime, status_code: int | None = None
) -> dict:
    """The columns of a delivery that ends dead for `reason`."""
    return {
        "state": State.DEAD,
        "dead_reason": reason,
        "dead_lettered": keeps_dead_letters(target),
        "last_error": error,
        "last_status_code": status_code,
        "lease_token": "",
        "completed_at": now,
        "updated_at": now,
    }
