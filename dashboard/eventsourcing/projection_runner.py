"""Running projections from their checkpoints, exactly once, and rebuilding them blue/green.

A step reads the next events up to the safe high-water mark of the global log (see global_log), then,
in ONE transaction, locks the projection's state row, checks nobody moved the checkpoint meanwhile,
applies the events to the read model and moves the checkpoint. A crash (even kill -9) before the commit
leaves both untouched; after it, both moved. So no event is applied twice or skipped.

A failing event stops only its projection: the events before it are committed, the checkpoint stops
just below it and the error is shown until an operator retries (after a fix) or skips it.

A rebuild writes generation N+1 from position 0 beside the live generation N, which keeps serving and
advancing. Once the shadow has caught up, one transaction applies the last events under the state lock,
points readers at N+1, moves the checkpoint to the shadow's and deletes generation N's rows.
"""

import logging
import traceback
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from dashboard.eventsourcing.upcasting import current_events
from dashboard.models import Event
from dashboard.models.streams import ProjectionState
from dashboard.observability import tracing
from dashboard.ui import broadcast

from . import projections
from .global_log import last_position, safe_head
from .projections import Projection

log = logging.getLogger(__name__)

LAG_COUNT_CAP = 100_000
_ERROR_LIMIT = 4000


class RebuildFailed(Exception):
    pass


@dataclass(frozen=True)
class Lag:
    """How far a projection trails the log: events not yet checkpointed, and how long the oldest waits."""

    events: int
    seconds: float
    capped: bool


@dataclass(frozen=True)
class ProjectionRow:
    """One projection as the dashboard shows it."""

    state: ProjectionState
    lag: Lag
    rebuild_percent: int | None


class _EventFailed(Exception):
    def __init__(self, index: int | None, event: Event, error: BaseException) -> None:
        super().__init__(str(error))
        self.index = index
        self.event = event
        self.text = "".join(traceback.format_exception(error))[-_ERROR_LIMIT:]


def _changed() -> None:
    """Hint the projections page after this transaction commits (at once outside a transaction)."""
    transaction.on_commit(broadcast.projections_changed)


def state_of(name: str) -> ProjectionState:
    projections.get(name)
    return ProjectionState.objects.get_or_create(name=name)[0]


def run_step(name: str, batch: int | None = None) -> int:
    """Apply the next batch of events to the live generation; returns how far the checkpoint moved."""
    state = state_of(name)
    if state.status == ProjectionState.Status.FAILED:
        return 0
    return _advance(projections.get(name), name, rebuild=False, batch=batch or _batch())


def catch_up(name: str, batch: int | None = None) -> None:
    """Run steps until the projection reaches the safe head of the log (or stops on a failing event)."""
    while run_step(name, batch):
        pass


def retry(name: str) -> None:
    """Clear a projection's error so the runner tries the failing event again (after a fix)."""
    ProjectionState.objects.filter(name=name).update(
        status=ProjectionState.Status.RUNNING, last_error="", failed_at=None, rebuild_error=""
    )
    _changed()


def skip_failed_event(name: str) -> bool:
    """Move past the event that stopped the projection; False when it is not stopped on one."""
    state_of(name)  # an unknown name is UnknownProjection; one that never ran gets its state to lock
    with transaction.atomic():
        state = ProjectionState.objects.select_for_update().get(name=name)
        if state.status != ProjectionState.Status.FAILED or state.error_position is None:
            return False
        log.warning("projection %s skips event %s at %d", name, state.error_event_id, state.error_position)
        state.position = max(state.position, state.error_position)
        state.status = ProjectionState.Status.RUNNING
        state.last_error, state.error_event_id, state.error_position, state.failed_at = "", "", None, None
        state.save()
        _changed()
    return True


def lag(state: ProjectionState, position: int | None = None) -> Lag:
    checkpoint = state.position if position is None else position
    pending = Event.objects.filter(position__gt=checkpoint).order_by("position")
    behind = pending[:LAG_COUNT_CAP].count()
    oldest = pending.values_list("received_at", flat=True).first()
    seconds = max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0
    return Lag(behind, seconds, behind >= LAG_COUNT_CAP)


def overview() -> list[ProjectionRow]:
    """Every registered projection with its lag and, while rebuilding, how far the shadow has come."""
    head = last_position()
    rows = []
    for name in projections.registered():
        state = state_of(name)
        percent = None
        if state.rebuild_generation is not None:
            percent = 100 if not head else min(100, 100 * state.rebuild_position // head)
        rows.append(ProjectionRow(state, lag(state), percent))
    return rows


def request_rebuild(name: str) -> None:
    """Ask the worker (`manage.py project`) to rebuild; the dashboard's button does this."""
    state_of(name)
    ProjectionState.objects.filter(name=name, rebuild_generation__isnull=True).update(
        rebuild_requested_at=timezone.now()
    )
    _changed()


def start_rebuild(name: str) -> int:
    """Open a shadow generation at position 0 (or return the one already being built)."""
    cls = projections.get(name)
    state_of(name)
    with transaction.atomic():
        state = ProjectionState.objects.select_for_update().get(name=name)
        if state.rebuild_generation is not None:
            return state.rebuild_generation
        highest = cls.read_model.objects.aggregate(g=Max("generation"))["g"] or 0
        generation = max(state.live_generation, highest) + 1
        state.rebuild_generation, state.rebuild_position = generation, 0
        state.rebuild_started_at, state.rebuild_requested_at, state.rebuild_error = timezone.now(), None, ""
        state.save()
        _changed()
    log.info("projection %s: rebuilding into generation %d", name, generation)
    return generation


def cancel_rebuild(name: str) -> None:
    """Drop the shadow generation; the live one is untouched."""
    cls = projections.get(name)
    with transaction.atomic():
        state = ProjectionState.objects.select_for_update().get(name=name)
        if state.rebuild_generation is None:
            return
        cls.read_model.objects.filter(generation=state.rebuild_generation).delete()
        state.rebuild_generation, state.rebuild_position, state.rebuild_started_at = None, 0, None
        state.rebuild_requested_at, state.rebuild_error = None, ""
        state.save()
        _changed()


def rebuild_step(name: str, batch: int | None = None) -> bool:
    """One batch into the shadow generation; swaps it live once caught up. True when it swapped."""
    cls = projections.get(name)
    state = state_of(name)
    if state.rebuild_generation is None or state.rebuild_error:
        return False
    if _advance(cls, name, rebuild=True, batch=batch or _batch()):
        return False
    return _swap(cls, name, batch or _batch())


def rebuild(name: str, batch: int | None = None) -> None:
    """Rebuild to completion in this process (`manage.py rebuild_projection`)."""
    start_rebuild(name)
    while not rebuild_step(name, batch):
        state = ProjectionState.objects.get(name=name)
        if state.rebuild_error:
            raise RebuildFailed(state.rebuild_error)
        if state.rebuild_generation is None:
            return


def _batch() -> int:
    return settings.EVENTHUB["PROJECTION_BATCH"]


def _coordinates(state: ProjectionState, rebuild: bool) -> tuple[int | None, int]:
    if rebuild:
        return state.rebuild_generation, state.rebuild_position
    return state.live_generation, state.position


def _pending(cls: type[Projection], after: int, head: int) -> list[Event]:
    """The projection's events in the window, in their current shape (upcast once for the whole batch)."""
    return current_events(
        Event.objects.filter(cls.event_filter(), position__gt=after, position__lte=head).order_by("position")
    )


def _apply(cls: type[Projection], generation: int, events: list[Event]) -> None:
    writer = cls(generation)
    writer.begin(events)
    for index, event in enumerate(events):
        try:
            with tracing.event_span(f"project {cls.name}", event, {"eventhub.generation": generation}):
                writer.apply(event)
        except Exception as error:  # noqa: BLE001 - any handler error stops this projection, shown to operators
            raise _EventFailed(index, event, error) from error
    try:
        writer.finish()
    except Exception as error:  # noqa: BLE001 - as above; which event caused it is found one by one
        raise _EventFailed(0 if len(events) == 1 else None, events[-1], error) from error


def _advance(cls: type[Projection], name: str, *, rebuild: bool, batch: int) -> int:
    state = ProjectionState.objects.get(name=name)
    generation, after = _coordinates(state, rebuild)
    head = safe_head(after, limit=batch)
    if head == after:
        return 0
    events = _pending(cls, after, head)
    try:
        if not _commit(cls, name, rebuild, (generation, after), events, head):
            return 0
    except _EventFailed as failure:
        if failure.index is None:
            return _advance_one_by_one(cls, name, rebuild, (generation, after), events, head)
        _stop_at(cls, name, rebuild, (generation, after), events, failure)
        return 0
    return head - after


def _commit(cls: type[Projection], name: str, rebuild: bool, seen: tuple, events: list[Event], head: int) -> bool:
    """Apply events and move the checkpoint to `head` in one transaction, unless someone moved it first."""
    with transaction.atomic():
        locked = ProjectionState.objects.select_for_update().get(name=name)
        if _coordinates(locked, rebuild) != seen or _stopped(locked, rebuild):
            return False
        _apply(cls, seen[0], events)
        _checkpoint(locked, rebuild, head, len(events))
    return True


def _advance_one_by_one(
    cls: type[Projection], name: str, rebuild: bool, seen: tuple, events: list[Event], head: int
) -> int:
    """A batch's writes failed together: commit its events one per transaction to find the failing one."""
    generation, after = seen
    position = after
    for event in events:
        try:
            if not _commit(cls, name, rebuild, (generation, position), [event], event.position):
                return position - after
        except _EventFailed as failure:
            _stop_at(cls, name, rebuild, (generation, position), [event], failure)
            return position - after
        position = event.position
    _commit(cls, name, rebuild, (generation, position), [], head)
    return head - after


def _stopped(state: ProjectionState, rebuild: bool) -> bool:
    if rebuild:
        return bool(state.rebuild_error)
    return state.status == ProjectionState.Status.FAILED


def _checkpoint(state: ProjectionState, rebuild: bool, head: int, applied: int) -> None:
    fields = {"rebuild_position": head} if rebuild else {"position": head, "last_applied_at": timezone.now()}
    if not rebuild:
        fields["events_applied"] = F("events_applied") + applied
    ProjectionState.objects.filter(pk=state.pk).update(**fields, updated_at=timezone.now())
    _changed()


def _stop_at(
    cls: type[Projection], name: str, rebuild: bool, seen: tuple, events: list[Event], failure: _EventFailed
) -> None:
    """Commit the events before the failing one, stop the checkpoint just below it, record the error."""
    log.error("projection %s stopped at event %s: %s", name, failure.event.event_id, failure, exc_info=failure)
    with transaction.atomic():
        locked = ProjectionState.objects.select_for_update().get(name=name)
        if _coordinates(locked, rebuild) != seen:
            return
        generation, _ = seen
        _apply(cls, generation, events[: failure.index])
        below = failure.event.position - 1
        if rebuild:
            locked.rebuild_position, locked.rebuild_error = below, failure.text
        else:
            locked.position, locked.status = below, ProjectionState.Status.FAILED
            locked.last_error, locked.failed_at = failure.text, timezone.now()
            locked.error_position, locked.error_event_id = failure.event.position, failure.event.event_id
            locked.events_applied += failure.index
        locked.save()
        _changed()


def _swap(cls: type[Projection], name: str, batch: int) -> bool:
    """Finish the shadow under the state lock and make it live, all in one transaction."""
    try:
        with transaction.atomic():
            state = ProjectionState.objects.select_for_update().get(name=name)
            if state.rebuild_generation is None or state.rebuild_error:
                return False
            # Only up to where the log stood on entry: under heavy traffic the lock would otherwise be held
            # for as long as events keep coming. The live runner carries on from the handed-over checkpoint.
            goal = last_position()
            while state.rebuild_position < goal:
                head = safe_head(state.rebuild_position, limit=batch)
                if head == state.rebuild_position:
                    break
                _apply(cls, state.rebuild_generation, _pending(cls, state.rebuild_position, head))
                state.rebuild_position = head
            retired = state.live_generation
            state.live_generation, state.position = state.rebuild_generation, state.rebuild_position
            state.rebuild_generation, state.rebuild_started_at, state.rebuild_requested_at = None, None, None
            state.status, state.last_error, state.failed_at = ProjectionState.Status.RUNNING, "", None
            state.error_position, state.error_event_id, state.rebuilt_at = None, "", timezone.now()
            state.save()
            cls.read_model.objects.filter(generation=retired).delete()
            _changed()
    except _EventFailed as failure:
        # After `retry`, the shadow's own step meets this event again and records exactly where it stopped.
        log.error("projection %s: rebuild swap failed at %s", name, failure.event.event_id, exc_info=failure)
        ProjectionState.objects.filter(name=name).update(rebuild_error=failure.text)
        _changed()
        return False
    log.info("projection %s: generation %d is live at position %d", name, state.live_generation, state.position)
    return True


def requested_rebuilds() -> list[str]:
    """Projections whose rebuild was asked for (from the dashboard) and has not started yet."""
    return list(
        ProjectionState.objects.filter(rebuild_requested_at__isnull=False, rebuild_generation__isnull=True).values_list(
            "name", flat=True
        )
    )
