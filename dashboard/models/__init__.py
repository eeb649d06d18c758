"""EventHub's records. The database is the source of truth; Redis only carries work between processes."""

from . import audit, shop, streams  # noqa: F401 - audit and event-sourcing models; import them from their modules
from .deliveries import Delivery, DeliveryAttempt
from .eventbridge import ApiDestination, Connection, EventBus, ResourceTag
from .events import Event
from .keys import ApiKey
from .rules import Rule, Target
from .schemas import EventSchema, SchemaDiscovery, SchemaVersion, SchemaViolation

__all__ = [
    "ApiDestination",
    "ApiKey",
    "Connection",
    "Delivery",
    "DeliveryAttempt",
    "Event",
    "EventBus",
    "EventSchema",
    "ResourceTag",
    "Rule",
    "SchemaDiscovery",
    "SchemaVersion",
    "SchemaViolation",
    "Target",
]
