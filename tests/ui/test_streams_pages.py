"""The event-sourcing pages (Django test client): login, what they show, who may act, escaping."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.eventsourcing import projection_runner
from dashboard.eventsourcing.streams import StreamName, append
from dashboard.ingest.publishing import EventDraft
from dashboard.models import Event
from dashboard.models.streams import ProjectionState, Replay
from dashboard.shop.orders import create_order, ship_new_order, ship_order
from dashboard.shop.projections import OrderViews
from tests.dashboard_support import make_operator, make_rule, make_target, make_viewer, publish

pytestmark = pytest.mark.django_db

ITEMS = [{"sku": "tea", "quantity": 1, "price": 4}]
HOSTILE = '<img src=x onerror="alert(1)">'


@pytest.mark.parametrize("url", ["/streams/", "/streams/Order/x/", "/projections/", "/replays/"])
def test_pages_need_a_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_stream_page_shows_each_version_its_cause_and_the_state_after_it(client):
    order, result = create_order("ada", ITEMS)
    ship_new_order(Event.objects.get(event_id=result.event_ids[0]).envelope())
    client.force_login(make_viewer())
    html = client.get(f"/streams/Order/{order.id}/").content.decode()
    assert 'id="v-1"' in html and 'id="v-2"' in html
    assert f"OrderCreated #{result.positions[0]}" in html  # v2 was caused by v1
    assert "&quot;status&quot;: &quot;shipped&quot;" in html
    assert "Order" in html and 'Version <span id="stream-version" class="mono">2</span>' in html


def test_stream_page_escapes_payloads_and_states(client):
    append(StreamName("Note", "n-1"), [EventDraft(source="notes", detail_type="Written", detail={"text": HOSTILE})])
    client.force_login(make_viewer())
    html = client.get("/streams/Note/n-1/").content.decode()
    assert HOSTILE not in html
    assert "&lt;img src=x onerror=" in html


def test_streams_index_lists_recent_streams_and_opens_one(client):
    order, _ = create_order("ada", ITEMS)
    client.force_login(make_viewer())
    assert order.id in client.get("/streams/").content.decode()
    response = client.get("/streams/", {"type": "Order", "id": order.id})
    assert response.status_code == 302 and response["Location"] == f"/streams/Order/{order.id}/"


def test_projections_page_shows_position_lag_and_a_stopped_projection(client, monkeypatch):
    order, _ = create_order("ada", ITEMS)
    ship_order(order.id)
    monkeypatch.setattr(OrderViews, "shipped", lambda self, event: 1 / 0)
    projection_runner.catch_up("order_views")
    client.force_login(make_viewer())
    html = client.get("/projections/").content.decode()
    assert 'id="projection-order_views" data-status="failed"' in html
    assert "ZeroDivisionError" in html
    assert "Rebuild</button>" not in html  # viewers see no buttons


def test_operator_rebuild_button_asks_the_worker(client):
    client.force_login(make_operator())
    response = client.post("/projections/order_views/rebuild", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "rebuild requested" in response.content.decode()
    assert ProjectionState.objects.get(name="order_views").rebuild_requested_at is not None


def test_viewer_cannot_rebuild_skip_or_replay(client):
    client.force_login(make_viewer())
    assert client.post("/projections/order_views/rebuild").status_code == 403
    assert client.post("/projections/order_views/skip").status_code == 403
    assert client.post("/replays/preview", {"name": "x"}).status_code == 403
    assert client.post("/replays/x/cancel").status_code == 403


def replay_form(**fields) -> dict:
    return {
        "name": "again",
        "bus": "default",
        "start": "2020-01-01T00:00",
        "end": (timezone.now() + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%S"),
        "rate_per_second": "50",
        "event_pattern": "",
    } | fields


def test_replay_preview_counts_before_anything_is_sent(client):
    target = make_target(rule=make_rule())
    publish({"source": "shop.orders", "detail-type": "OrderCreated", "detail": {}})
    client.force_login(make_operator())
    html = client.post("/replays/preview", replay_form(target_ids=[target.pk])).content.decode()
    assert "data-confirm-events>1<" in html and "data-confirm-deliveries>1<" in html
    assert not Replay.objects.exists()


def test_confirming_starts_the_replay(client):
    make_target(rule=make_rule())
    client.force_login(make_operator())
    response = client.post("/replays/start", replay_form(position_ceiling="0"))
    assert response.status_code == 302
    replay = Replay.objects.get()
    assert (replay.name, replay.state, replay.rate_per_second) == ("again", "starting", 50.0)


def test_a_bad_replay_form_says_why(client):
    client.force_login(make_operator())
    response = client.post("/replays/preview", replay_form(event_pattern='{"source": "x"}'))
    assert response.status_code == 400
    assert "not a valid pattern" in response.content.decode()


def test_cancel_button_cancels_a_running_replay(client):
    client.force_login(make_operator())
    client.post("/replays/start", replay_form())
    response = client.post("/replays/again/cancel", HTTP_HX_REQUEST="true")
    assert 'data-state="cancelled"' in response.content.decode()
    assert Replay.objects.get().state == Replay.State.CANCELLED


def test_nav_links_to_the_event_sourcing_pages(client):
    client.force_login(make_viewer())
    html = client.get("/projections/").content.decode()
    assert 'href="/streams/"' in html and 'href="/replays/"' in html
    assert '<a href="/projections/" aria-current="page">' in html


def test_a_bad_stream_search_says_why_instead_of_failing(client):
    client.force_login(make_viewer())
    response = client.get("/streams/", {"type": "Or\x00der", "id": "x"})
    assert response.status_code == 200 and "aggregate type" in response.content.decode()


def test_a_replay_name_in_use_is_refused_at_preview(client):
    client.force_login(make_operator())
    client.post("/replays/start", replay_form())
    response = client.post("/replays/preview", replay_form())
    assert response.status_code == 400
    assert "A replay named &#x27;again&#x27; exists already: choose another name." in response.content.decode()
    assert 'id="replay-confirm"' not in response.content.decode()


def test_a_refused_start_answers_an_error_fragment_to_htmx(client):
    client.force_login(make_operator())
    client.post("/replays/start", replay_form())
    response = client.post("/replays/start", replay_form(), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps only 2xx answers into the confirmation
    assert html.lstrip().startswith('<div class="notice notice-bad" role="alert"')
    assert "exists already" in html and "<html" not in html


def test_a_started_replay_sends_htmx_to_its_row_on_the_live_list(client):
    client.force_login(make_operator())
    response = client.post("/replays/start", replay_form(), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == "/replays/#replay-again"
