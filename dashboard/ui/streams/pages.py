"""What the event-sourcing pages show, shared by their views and their live sockets."""

from dashboard.eventsourcing import projection_runner
from dashboard.models.streams import Replay
from dashboard.ui.roles import is_operator

REPLAYS_LISTED = 50


def projections_context(user) -> dict:
    return {"rows": projection_runner.overview(), "can_operate": is_operator(user)}


def replays_context(user) -> dict:
    return {"replays": list(Replay.objects.all()[:REPLAYS_LISTED]), "can_operate": is_operator(user)}
