"""The dashboard's pages: who may see them, what they show, and the fragments htmx asks for."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from dashboard.models import Event
from dashboard.ui import browsing
from tests.dashboard_support import make_rule, make_target, make_viewer, order, publish

pytestmark = pytest.mark.django_db

PAGES = ["overview", "event-list", "rule-list", "playground", "dead-letters"]


@pytest.fixture
def viewer_client() -> Client:
    client = Client()
    client.force_login(make_viewer())
    return client


def htmx(client: Client, url: str, **params):
    return client.get(url, params, HTTP_HX_REQUEST="true")


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitor_is_sent_to_the_login_page(client, name):
    response = client.get(reverse(f"dashboard:{name}"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("name", PAGES)
def test_signed_in_viewer_sees_the_page(viewer_client, name):
    response = viewer_client.get(reverse(f"dashboard:{name}"))
    assert response.status_code == 200
    assert b'name="htmx-config"' in response.content


def test_pages_allow_no_inline_script(viewer_client):
    response = viewer_client.get(reverse("dashboard:overview"))
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert b"<script>" not in response.content and b"onclick=" not in response.content


def test_overview_fragment_for_htmx_is_only_the_live_part(viewer_client):
    response = htmx(viewer_client, reverse("dashboard:overview"))
    assert response.content.lstrip().startswith(b'<div id="overview-live"')
    assert b"<html" not in response.content


def test_overview_draws_each_target_in_the_flow_graph(viewer_client):
    rule = make_rule(name="big-orders")
    make_target(rule=rule, name="fraud-check")
    publish(order(1500))
    response = viewer_client.get(reverse("dashboard:overview"))
    content = response.content.decode()
    assert "<svg" in content and "big-orders" in content and "fraud-check" in content
    assert reverse("dashboard:rule-detail", args=[rule.pk]) in content


def test_overview_refuses_other_methods_for_people(viewer_client):
    assert viewer_client.put(reverse("dashboard:overview")).status_code == 405


def test_event_list_shows_newest_first(viewer_client):
    publish(order(1), order(2))
    content = viewer_client.get(reverse("dashboard:event-list")).content.decode()
    first, second = Event.objects.order_by("position").values_list("position", flat=True)
    assert content.index(f'id="ev-{second}"') < content.index(f'id="ev-{first}"')


def test_event_list_pattern_filter_hides_non_matching_events(viewer_client):
    publish(order(5), order(5000))
    pattern = json.dumps({"detail": {"total": [{"numeric": [">=", 1000]}]}})
    content = viewer_client.get(reverse("dashboard:event-list"), {"pattern": pattern}).content.decode()
    big = Event.objects.get(detail__total=5000).position
    small = Event.objects.get(detail__total=5).position
    assert f'id="ev-{big}"' in content and f'id="ev-{small}"' not in content


def test_event_list_names_the_place_an_invalid_pattern_is_wrong(viewer_client):
    response = viewer_client.get(reverse("dashboard:event-list"), {"pattern": '{"detail": {"total": 5}}'})
    assert response.status_code == 200
    assert b'id="pattern-error"' in response.content and b"detail.total" in response.content
    assert b"ws-connect" not in response.content


def test_event_list_socket_url_carries_the_filter_and_the_newest_position(viewer_client):
    publish(order(1))
    content = viewer_client.get(reverse("dashboard:event-list"), {"source": "shop.orders"}).content.decode()
    assert f'ws-connect="/ws/events/?source=shop.orders&amp;after={browsing.newest_position()}"' in content


def test_history_fragment_continues_below_the_cursor(viewer_client):
    publish(*[order(n) for n in range(browsing.PAGE_SIZE + 5)])
    first_page = browsing.history_page(browsing.EventFilter())
    response = htmx(viewer_client, reverse("dashboard:event-list"), before=first_page.next_before)
    content = response.content.decode()
    assert content.count('<tr id="ev-') == 5
    assert 'id="history-more" class="card-body" hx-swap-oob="true"' in content


def test_history_with_a_pattern_searches_past_non_matching_rows(viewer_client):
    publish(order(5000), *[order(1) for _ in range(browsing.PAGE_SIZE * 2)])
    event_filter = browsing.EventFilter.from_query({"pattern": '{"detail": {"total": [5000]}}'})
    page = browsing.history_page(event_filter)
    assert [event.detail["total"] for event in page.events] == [5000]
    assert page.next_before is None


def test_event_detail_shows_matching_rules_with_the_trace(viewer_client):
    make_rule(name="big", pattern='{"detail": {"total": [{"numeric": [">=", 1000]}]}}')
    make_rule(name="tiny", pattern='{"detail": {"total": [1]}}')
    publish(order(2000))
    event = Event.objects.get()
    content = viewer_client.get(reverse("dashboard:event-detail", args=[event.position])).content.decode()
    assert content.index("big") < content.index("tiny")
    assert "1 matched" in content and "detail.total" in content


def test_event_detail_lists_each_delivery(viewer_client):
    make_target(rule=make_rule(), name="analytics")
    publish(order(1))
    event = Event.objects.get()
    content = viewer_client.get(reverse("dashboard:event-detail", args=[event.position])).content.decode()
    assert "analytics" in content and event.deliveries.get().webhook_id in content


def test_unknown_event_is_404(viewer_client):
    assert viewer_client.get(reverse("dashboard:event-detail", args=[999999])).status_code == 404


def test_rule_list_counts_matches(viewer_client):
    rule = make_rule(name="orders")
    make_target(rule=rule)
    publish(order(1), order(2))
    content = viewer_client.get(reverse("dashboard:rule-list")).content.decode()
    assert '<td class="num">2</td>' in content


def test_rule_and_target_pages_render(viewer_client):
    rule = make_rule(name="orders")
    target = make_target(rule=rule, name="warehouse")
    publish(order(1))
    assert b"warehouse" in viewer_client.get(reverse("dashboard:rule-detail", args=[rule.pk])).content
    assert b"warehouse" in viewer_client.get(reverse("dashboard:target-detail", args=[target.pk])).content


def test_playground_explains_a_match(viewer_client):
    response = viewer_client.post(
        reverse("dashboard:playground"),
        {"event": json.dumps({"detail": {"total": 5}}), "pattern": '{"detail": {"total": [5]}}'},
        HTTP_HX_REQUEST="true",
    )
    assert b'data-verdict="match"' in response.content and b"detail.total" in response.content


def test_playground_highlights_the_first_failing_field(viewer_client):
    response = viewer_client.post(
        reverse("dashboard:playground"),
        {"event": json.dumps({"source": "a", "detail": {"total": 5}}), "pattern": '{"detail": {"total": [6]}}'},
        HTTP_HX_REQUEST="true",
    )
    assert b'data-verdict="no-match"' in response.content and b"first-failure" in response.content


def test_playground_reports_an_invalid_pattern_with_its_path(viewer_client):
    response = viewer_client.post(
        reverse("dashboard:playground"), {"event": "{}", "pattern": '{"detail": {"total": 5}}'}, HTTP_HX_REQUEST="true"
    )
    assert b"Pattern is not valid" in response.content and b"<code>detail.total</code>" in response.content


def test_playground_reports_an_event_that_is_not_json(viewer_client):
    response = viewer_client.post(
        reverse("dashboard:playground"), {"event": "{oops", "pattern": "{}"}, HTTP_HX_REQUEST="true"
    )
    assert b"Event is not valid JSON" in response.content


def test_playground_prefills_a_stored_event_and_a_rule(viewer_client):
    rule = make_rule(name="orders")
    publish(order(77))
    event = Event.objects.get()
    response = viewer_client.get(reverse("dashboard:playground"), {"event": event.position, "rule": rule.pk})
    assert event.event_id.encode() in response.content and b"shop.orders" in response.content
    assert b'data-verdict="match"' in response.content


def test_playground_post_needs_the_csrf_token():
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_viewer())
    response = client.post(reverse("dashboard:playground"), {"event": "{}", "pattern": "{}"})
    assert response.status_code == 403
