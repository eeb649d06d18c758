"""End to end: a replay re-delivers exactly the window's matching events to a real webhook, each once,
with the `replay-name` header, while the original deliveries stay as they were."""

import pytest

from dashboard.eventsourcing.replay import parse_spec, run_due_replays, start_replay
from dashboard.ingest.publishing import publish_entries
from dashboard.models import Delivery, Event
from dashboard.models.streams import Replay
from tests.delivery_harness import make_rule_with_target, running_dispatcher
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def publish_at(second: int, detail_type: str) -> str:
    entry = {"source": "shop.orders", "detail-type": detail_type, "detail": {"s": second}}
    [result] = publish_entries([entry | {"time": f"2026-01-01T00:00:{second:02d}Z"}])
    return result.event_id


def test_replay_redelivers_exactly_the_matching_window_once_each(fast, receiver):
    make_rule_with_target(receiver.url("/hook"))
    window = {(s, t): publish_at(s, t) for s in range(0, 40, 3) for t in ("OrderCreated", "OrderShipped")}
    expected = {event_id for (s, t), event_id in window.items() if 10 <= s < 30 and t == "OrderShipped"}
    with running_dispatcher():
        wait_until(lambda: len(receiver.requests()) == len(window), message="the original deliveries")
        spec = parse_spec(
            {
                "start": "2026-01-01T00:00:10Z",
                "end": "2026-01-01T00:00:30Z",
                "event_pattern": {"detail-type": ["OrderShipped"]},
            }
        )
        replay = start_replay("resend-shipments", spec, rate_per_second=1000)
        assert replay.events_total == len(expected)
        wait_until(lambda: run_due_replays() == 0 and not Replay.objects.get().is_active, message="replay end")
        wait_until(
            lambda: Delivery.objects.filter(replay_name="resend-shipments", state="succeeded").count() == len(expected),
            message="the replayed deliveries",
        )
    replayed = [r for r in receiver.requests() if r.headers.get("replay-name") == "resend-shipments"]
    assert sorted(r.json()["id"] for r in replayed) == sorted(expected)
    assert len(receiver.requests()) == len(window) + len(expected)
    assert Event.objects.count() == len(window)
