"""Replays: exactly the window's matching events go out again, marked with the replay's name, rate-limited."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from dashboard.delivery.planning import routing_cache
from dashboard.eventsourcing.replay import (
    InvalidReplay,
    cancel_replay,
    parse_spec,
    preview,
    replay_step,
    run_due_replays,
    start_replay,
)
from dashboard.models import Delivery, Event, Rule, Target
from dashboard.models.streams import Archive, Replay

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = {"start": "2026-01-01T00:00:10+00:00", "end": "2026-01-01T00:00:20+00:00"}


@pytest.fixture
def targets():
    rule = Rule.objects.create(name="orders", event_pattern='{"source": ["shop"]}')
    first = Target.objects.create(rule=rule, name="a", url="http://127.0.0.1:9/a")
    second = Target.objects.create(rule=rule, name="b", url="http://127.0.0.1:9/b")
    routing_cache.invalidate()
    return first, second


def event(second: int, detail_type: str = "OrderCreated", source: str = "shop", bus: str = "default") -> Event:
    return Event.objects.create(
        source=source, detail_type=detail_type, bus=bus, time=T0 + timedelta(seconds=second), detail={"s": second}
    )


def run_to_end(replay: Replay) -> Replay:
    """Step the replay as the worker would, as if a second passed between steps."""
    while replay.is_active:
        Replay.objects.filter(pk=replay.pk).update(last_step_at=timezone.now() - timedelta(seconds=1))
        replay_step(replay.pk)
        replay.refresh_from_db()
    return replay


def replayed_events(name: str) -> list[int]:
    return sorted(set(Delivery.objects.filter(replay_name=name).values_list("event__detail__s", flat=True)))


def seed() -> None:
    for second in (5, 10, 12, 15, 19, 20, 25):
        event(second)
    event(12, detail_type="OrderShipped")
    event(13, source="other")
    event(14, bus="elsewhere")


def test_replay_sends_exactly_the_window_matching_the_pattern(targets):
    seed()
    spec = parse_spec(WINDOW | {"event_pattern": {"detail-type": ["OrderCreated"]}})
    replay = run_to_end(start_replay("fix-1", spec))
    assert replay.state == Replay.State.COMPLETED
    assert replayed_events("fix-1") == [10, 12, 15, 19]
    # The event from another source passes the replay's filter but no rule takes it (as on EventBridge).
    assert replay.events_replayed == replay.events_total == 5
    assert Delivery.objects.filter(replay_name="fix-1").count() == 8 == replay.deliveries_created


def test_preview_counts_what_the_replay_will_send(targets):
    seed()
    counted = preview(parse_spec(WINDOW))
    assert (counted.events, counted.deliveries) == (6, 10)
    assert counted.by_target == {"a": 5, "b": 5}


def test_replay_to_chosen_targets_only(targets):
    seed()
    first, _ = targets
    replay = run_to_end(start_replay("only-a", parse_spec(WINDOW | {"target_ids": [first.pk]})))
    assert set(Delivery.objects.filter(replay_name="only-a").values_list("target_id", flat=True)) == {first.pk}
    assert replay.deliveries_created == 5


def test_events_stored_after_the_replay_was_created_are_not_sent(targets):
    event(11)
    replay = start_replay("ceiling", parse_spec(WINDOW))
    event(12)
    run_to_end(replay)
    assert replayed_events("ceiling") == [11]


def test_replay_from_an_archive_sends_only_what_the_archive_holds(targets):
    seed()
    Archive.objects.create(name="shipments", event_pattern='{"detail-type": ["OrderShipped"]}')
    run_to_end(start_replay("from-archive", parse_spec(WINDOW | {"archive": "shipments"})))
    kinds = set(Delivery.objects.filter(replay_name="from-archive").values_list("event__detail_type", flat=True))
    assert kinds == {"OrderShipped"}


def test_rate_limit_sends_one_second_of_events_per_second(targets):
    for second in range(10, 20):
        event(second)
    replay = start_replay("slow", parse_spec(WINDOW), rate_per_second=3)
    assert replay_step(replay.pk) == 3
    assert replay_step(replay.pk) == 0
    Replay.objects.filter(pk=replay.pk).update(last_step_at=timezone.now() - timedelta(seconds=1))
    assert replay_step(replay.pk) == 3
    Replay.objects.filter(pk=replay.pk).update(last_step_at=timezone.now() - timedelta(hours=1))
    assert replay_step(replay.pk) == 3


def test_states_go_starting_running_completed(targets):
    event(11)
    replay = start_replay("states", parse_spec(WINDOW))
    assert replay.state == Replay.State.STARTING
    replay_step(replay.pk)
    replay.refresh_from_db()
    assert replay.state == Replay.State.COMPLETED and replay.started_at and replay.ended_at
    assert replay.last_replayed_time == T0 + timedelta(seconds=11)


def test_cancel_stops_sending(targets):
    for second in range(10, 20):
        event(second)
    replay = start_replay("stop", parse_spec(WINDOW), rate_per_second=1)
    replay_step(replay.pk)
    assert cancel_replay("stop")
    Replay.objects.filter(pk=replay.pk).update(last_step_at=timezone.now() - timedelta(hours=1))
    assert replay_step(replay.pk) == 0
    replay.refresh_from_db()
    assert (replay.state, replay.events_replayed) == (Replay.State.CANCELLED, 1)
    assert not cancel_replay("stop")


def test_a_replay_that_raises_is_marked_failed(targets, monkeypatch):
    event(11)
    replay = start_replay("doomed", parse_spec(WINDOW))
    monkeypatch.setattr("dashboard.eventsourcing.replay.plan_deliveries", lambda *a, **k: 1 / 0)
    run_due_replays()
    replay.refresh_from_db()
    assert replay.state == Replay.State.FAILED and "ZeroDivisionError" in replay.state_reason


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"start": "yesterday"}, "ISO 8601"),
        ({"end": "2026-01-01T00:00:05+00:00"}, "after 'start'"),
        ({"end": "2026-01-01T00:00:20"}, "time zone"),
        ({"event_pattern": {"source": "shop"}}, "pattern"),
        ({"archive": "nothing"}, "no archive"),
        ({"target_ids": [999999]}, "unknown target"),
        ({"rule_ids": "all"}, "list of numeric ids"),
    ],
)
def test_bad_replay_requests_say_what_is_wrong(fields, message):
    with pytest.raises(InvalidReplay, match=message):
        parse_spec(WINDOW | fields)


def test_names_are_unique_and_slugs(targets):
    start_replay("once", parse_spec(WINDOW))
    with pytest.raises(InvalidReplay, match="exists"):
        start_replay("once", parse_spec(WINDOW))
    with pytest.raises(InvalidReplay, match="name"):
        start_replay("not a slug", parse_spec(WINDOW))
