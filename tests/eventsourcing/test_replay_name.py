"""A replayed event carries its replay's name in the body, as EventBridge adds `replay-name` to it:
targets see it without a transformer, input paths and transformers can read `$.replay-name`, and
ordinary deliveries do not have the field."""

import pytest

from dashboard.delivery.transform import RuleContext, target_input
from dashboard.eventsourcing.replay import parse_spec, run_due_replays, start_replay
from dashboard.ingest.publishing import publish_entries
from dashboard.models import Delivery
from dashboard.models.streams import Replay
from tests.delivery_harness import make_rule_with_target, running_dispatcher
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

RULE = RuleContext(name="r1", arn="arn:aws:events:us-east-1:000000000000:rule/default/r1")
EVENT = {"id": "e-1", "source": "shop.orders", "detail-type": "OrderCreated", "detail": {"n": 1}}


def _replay_one_event(receiver, **target_fields) -> tuple[object, object]:
    """Deliver one event, replay it as `resend`, and return (original body, replayed body) as received."""
    make_rule_with_target(receiver.url("/hook"), **target_fields)
    entry = {"source": "shop.orders", "detail-type": "OrderCreated", "detail": {"n": 1}}
    publish_entries([entry | {"time": "2026-01-01T00:00:05Z"}])
    with running_dispatcher():
        wait_until(lambda: len(receiver.requests()) == 1, message="the original delivery")
        spec = parse_spec({"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:00:10Z"})
        start_replay("resend", spec, rate_per_second=1000)
        wait_until(lambda: run_due_replays() == 0 and not Replay.objects.get().is_active, message="replay end")
        wait_until(
            lambda: Delivery.objects.filter(replay_name="resend", state="succeeded").exists(), message="the replay"
        )
    original, replayed = receiver.requests()
    assert replayed.headers.get("replay-name") == "resend"
    return original.json(), replayed.json()


def test_the_replayed_event_has_its_replay_name(fast, receiver):
    original, replayed = _replay_one_event(receiver)
    assert replayed["replay-name"] == "resend"
    assert {k: v for k, v in replayed.items() if k != "replay-name"} == original


def test_an_ordinary_delivery_has_no_replay_name():
    assert "replay-name" not in target_input(EVENT, "", None, RULE, "")


def test_an_input_path_can_select_the_replay_name():
    assert target_input(EVENT, "$.replay-name", None, RULE, "", replay_name="resend") == "resend"


def test_an_input_transformer_reads_the_replay_name_of_replayed_events_only(fast, receiver):
    transformer = {
        "InputPathsMap": {"replay": "$.replay-name", "n": "$.detail.n"},
        "InputTemplate": '{"replay": <replay>, "n": <n>}',
    }
    original, replayed = _replay_one_event(receiver, input_transformer=transformer)
    assert original == {"replay": None, "n": 1}
    assert replayed == {"replay": "resend", "n": 1}
