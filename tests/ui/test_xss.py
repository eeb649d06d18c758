"""Untrusted payloads stay text on every page that shows them (the browser-side proof is in tests/browser)."""

import json

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from dashboard.models import Event
from tests.dashboard_support import make_rule, make_target, make_viewer, publish
from tests.xss_corpus import PROBE_PATH, hostile_entries

pytestmark = pytest.mark.django_db

# Markup that would only be in a response if a payload had been written out unescaped.
RAW = [b"<script>window", b"<img src=x", b'<div hx-get="/xss-probe"', b"<svg onload", b'<button hx-post="/xss']


@pytest.fixture
def viewer_client() -> Client:
    client = Client()
    client.force_login(make_viewer())
    return client


@pytest.fixture
def hostile_events() -> list[Event]:
    make_target(rule=make_rule(name="everything", pattern='{"source": [{"prefix": ""}]}'))
    publish(*hostile_entries())
    return list(Event.objects.order_by("position"))


def assert_inert(content: bytes) -> None:
    for raw in RAW:
        assert raw not in content, raw
    assert b"&lt;script&gt;" in content or b"&lt;img" in content


def test_event_stream_escapes_payloads(viewer_client, hostile_events):
    assert_inert(viewer_client.get(reverse("dashboard:event-list")).content)


def test_event_detail_escapes_payloads(viewer_client, hostile_events):
    for event in hostile_events:
        assert_inert(viewer_client.get(reverse("dashboard:event-detail", args=[event.position])).content)


def test_playground_escapes_event_and_trace(viewer_client, hostile_events):
    content = viewer_client.get(reverse("dashboard:playground"), {"event": hostile_events[0].position}).content
    assert_inert(content)
    pattern = json.dumps({"detail": {hostile_entries()[0]["detail"]["nested"]["list"][2]: [{"exists": True}]}})
    response = viewer_client.post(
        reverse("dashboard:playground"),
        {"event": json.dumps(hostile_events[0].envelope()), "pattern": pattern},
        HTTP_HX_REQUEST="true",
    )
    assert PROBE_PATH.encode() in response.content
    assert b'<div hx-get="/xss-probe"' not in response.content


def test_live_tail_update_escapes_payloads(hostile_events):
    assert_inert(
        render_to_string("dashboard/partials/tail_update.html", {"events": hostile_events, "skipped": 0}).encode()
    )


def test_overview_escapes_sources(viewer_client, hostile_events):
    content = viewer_client.get(reverse("dashboard:overview")).content
    for raw in RAW:
        assert raw not in content
