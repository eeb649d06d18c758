"""EventHub's records. The database is the source of truth; Redis only carries work between processes."""

from . import shop, streams  # noqa: F401 - event-sourcing models; import them from their modules
from .deliveries import Delivery, DeliveryAttempt
from .events import Event
from .keys import ApiKey
from .routing import Rule, Target

__all__ = ["ApiKey", "Delivery", "DeliveryAttempt", "Event", "Rule", "Target"]
