"""The overview's numbers and the flow graph drawn from them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.delivery.pausing import pause_target
from dashboard.lib.ids import uuid7
from dashboard.models import Delivery, DeliveryAttempt, Event
from dashboard.ui import flowgraph, stats
from tests.dashboard_support import make_rule, make_target, make_viewer, order, publish

pytestmark = pytest.mark.django_db


def record_attempt(delivery: Delivery, *, succeeded: bool, number: int = 1) -> None:
    DeliveryAttempt.objects.create(
        delivery=delivery,
        target=delivery.target,
        number=number,
        started_at=timezone.now(),
        succeeded=succeeded,
        status_code=200 if succeeded else 500,
    )


def test_uuid7_floor_selects_ids_minted_since_that_moment():
    before = timezone.now() - timedelta(milliseconds=5)
    minted = uuid7()
    assert stats.uuid7_floor(before) <= minted < stats.uuid7_floor(timezone.now() + timedelta(seconds=1))


def test_percentile_is_a_latency_that_happened():
    assert stats.percentile([5.0, 1.0, 3.0], 0.99) == 5.0
    assert stats.percentile(list(map(float, range(1, 101))), 0.99) == 99.0
    assert stats.percentile([], 0.99) is None


def test_headline_counts_backlog_and_dead_letters():
    make_target(rule=make_rule())
    publish(order(1), order(2), order(3))
    Delivery.objects.filter(pk=Delivery.objects.first().pk).update(state=Delivery.State.DEAD)
    headline = stats.headline()
    assert headline.backlog == 2
    assert headline.dead_letters == 1
    assert headline.events_per_second == pytest.approx(3 / 60)


def test_headline_p99_latency_runs_from_publish_to_delivery():
    make_target(rule=make_rule())
    publish(order(1))
    event = Event.objects.get()
    Delivery.objects.update(state=Delivery.State.SUCCEEDED, completed_at=event.received_at + timedelta(milliseconds=40))
    assert stats.headline().p99_latency_ms == pytest.approx(40, abs=1)


def test_target_that_fails_often_is_marked_failing():
    rule = make_rule()
    flaky = make_target(rule=rule, name="flaky")
    steady = make_target(rule=rule, name="steady")
    publish(order(1), order(2))
    for delivery in Delivery.objects.filter(target=flaky):
        record_attempt(delivery, succeeded=False)
    for delivery in Delivery.objects.filter(target=steady):
        record_attempt(delivery, succeeded=True)
    by_name = {flow.target.name: flow for flow in stats.flows().targets}
    assert by_name["flaky"].is_failing and by_name["flaky"].failed == 2
    assert not by_name["steady"].is_failing


def test_flows_count_each_edge_over_the_last_minute():
    rule = make_rule()
    make_target(rule=rule)
    publish(order(1), order(2), {"source": "shop.users", "detail-type": "UserSignedUp", "detail": {}})
    flows = stats.flows()
    [target] = flows.targets
    assert target.rate_per_second == pytest.approx(2 / 60)
    assert [(s.source, s.rule_id, s.events) for s in flows.sources] == [("shop.orders", rule.pk, 2)]


def test_layout_puts_sources_rules_and_targets_in_three_columns():
    make_target(rule=make_rule(name="orders"), name="warehouse")
    publish(order(1))
    graph = flowgraph.layout(stats.flows())
    columns = {node.name: node.x for node in graph.nodes}
    assert columns["shop.orders"] < columns["orders"] < columns["warehouse"]
    assert len(graph.edges) == 2


def test_sparkline_scales_the_series_into_its_box():
    line, area = flowgraph.sparkline([0, 5, 10], width=100, height=20)
    assert line == "0.0,19.0 50.0,10.0 100.0,1.0"
    assert area.startswith("0,20 ") and area.endswith(" 100.0,20")


def test_sparkline_series_counts_whole_minutes_and_leaves_out_the_current_one():
    make_target(rule=make_rule())
    publish(order(1), order(2), order(3))
    now = timezone.now()
    earlier = Delivery.objects.all()[:2]
    Delivery.objects.filter(pk__in=[d.pk for d in earlier]).update(created_at=now - timedelta(seconds=60))
    [target] = stats.flows(now).targets
    assert len(target.series) == stats.SERIES_MINUTES
    assert target.series[-1] == 2 and sum(target.series) == 2


def test_target_whose_newest_attempts_succeed_again_is_recovering_not_failing():
    target = make_target(rule=make_rule())
    publish(*[order(n) for n in range(6)])
    deliveries = list(Delivery.objects.filter(target=target).order_by("id"))
    for delivery in deliveries[:3]:
        record_attempt(delivery, succeeded=False)
    for delivery in deliveries[3:]:
        record_attempt(delivery, succeeded=True)
    [flow] = stats.flows().targets
    assert flow.health == "recovering" and not flow.is_failing
    assert (flow.recent_failed, flow.recent_attempts) == (3, 6)


def test_target_whose_newest_attempt_failed_is_failing_now():
    target = make_target(rule=make_rule())
    publish(order(1), order(2))
    first, second = Delivery.objects.filter(target=target).order_by("id")
    record_attempt(first, succeeded=True)
    record_attempt(second, succeeded=False)
    [flow] = stats.flows().targets
    assert flow.health == "failing"


def test_a_paused_target_is_paused_not_failing_and_says_why_and_since_when():
    target = make_target(rule=make_rule())
    publish(order(1))
    record_attempt(Delivery.objects.get(target=target), succeeded=False)
    pause_target(target.pk, "20 of 20 attempts failed", now=timezone.now().replace(hour=9, minute=30, second=0))
    [flow] = stats.flows().targets
    assert (flow.health, flow.is_failing) == ("paused", False)
    text = flowgraph.health_text(flow)
    assert text.startswith("paused since ") and text.endswith(" 09:30:00: 20 of 20 attempts failed")


def test_a_rare_failure_leaves_a_target_healthy():
    target = make_target(rule=make_rule())
    publish(*[order(n) for n in range(10)])
    deliveries = list(Delivery.objects.filter(target=target).order_by("id"))
    record_attempt(deliveries[0], succeeded=False)
    for delivery in deliveries[1:]:
        record_attempt(delivery, succeeded=True)
    [flow] = stats.flows().targets
    assert flow.health == "healthy"


def test_overview_says_recovering_with_the_window_it_is_judged_over(client):
    target = make_target(rule=make_rule(), name="shipping")
    publish(*[order(n) for n in range(4)])
    failed, *succeeded = Delivery.objects.filter(target=target).order_by("id")
    record_attempt(failed, succeeded=False)
    for delivery in succeeded:
        record_attempt(delivery, succeeded=True)
    client.force_login(make_viewer())
    html = client.get("/").content.decode()
    assert 'data-health="recovering"' in html and "failing now" not in html
    assert "1 of 4 attempts failed · last 5 min" in html


def test_p99_counts_first_deliveries_only_and_redrives_apart():
    make_target(rule=make_rule())
    publish(order(1), order(2))
    event_time = Event.objects.order_by("position").first().received_at
    first, redriven = Delivery.objects.order_by("id")
    Delivery.objects.filter(pk=first.pk).update(
        state=Delivery.State.SUCCEEDED, completed_at=first.event.received_at + timedelta(milliseconds=40)
    )
    # Delivered 7 s after its publish, but 200 ms after the redrive that followed an outage.
    redrive_time = event_time + timedelta(seconds=6.8)
    Delivery.objects.filter(pk=redriven.pk).update(
        state=Delivery.State.SUCCEEDED,
        redrive_count=1,
        redriven_at=redrive_time,
        completed_at=redrive_time + timedelta(milliseconds=200),
    )
    headline = stats.headline()
    assert headline.p99_latency_ms == pytest.approx(40, abs=1)
    assert headline.redrives_delivered == 1
    assert headline.p99_redrive_latency_ms == pytest.approx(200, abs=1)


def test_p99_leaves_out_replayed_deliveries():
    make_target(rule=make_rule())
    publish(order(1))
    delivery = Delivery.objects.get()
    Delivery.objects.update(
        state=Delivery.State.SUCCEEDED,
        replay_name="resend",
        completed_at=delivery.event.received_at + timedelta(hours=1),
    )
    assert stats.headline().p99_latency_ms is None
