"""GET /metrics: who may scrape, the publish counters after known traffic, the store's gauges, and the
aggregation of counters recorded by other processes (multiprocess mode)."""

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import timedelta

import pytest
import requests
import yaml
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from dashboard.delivery import transport
from dashboard.models import Delivery, Event, Target
from dashboard.models.streams import ProjectionState
from dashboard.observability import metrics
from tests.conftest import ROOT
from tests.delivery_harness import dead_letters_for, make_rule_with_target, publish

pytestmark = pytest.mark.django_db(transaction=True)


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition: (name, labels) → value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scraped: dict, name: str, **labels) -> float | None:
    return scraped.get((name, frozenset(labels.items())))


def scrape(client, auth_header) -> dict:
    response = client.get("/metrics", **auth_header)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return samples(response.content.decode())


def test_scrape_without_a_key_is_refused(client):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "MissingApiKey"


def test_scrape_needs_the_read_scope(client):
    from dashboard.models import ApiKey

    key, secret = ApiKey.issue("publisher", ["publish"])
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {key.access_key_id}:{secret}")
    assert response.status_code == 403


def test_an_allowed_network_scrapes_without_a_key(client, settings):
    settings.EVENTHUB = settings.EVENTHUB | {"METRICS_ALLOW_NETWORKS": ["127.0.0.0/8"]}
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.1").status_code == 401


def test_published_entries_are_counted_by_bus_source_and_reason(live_daphne, bearer):
    headers = {"Authorization": bearer}
    entries = [
        {"source": "metrics.test", "detail-type": "A", "detail": {}},
        {"source": "metrics.test", "detail-type": "A", "detail": {}, "bus": "orders"},
        {"source": "metrics.test", "detail-type": "A", "detail": []},
    ]
    assert requests.post(f"{live_daphne}/api/v1/events", json={"entries": entries}, headers=headers).ok
    assert requests.post(f"{live_daphne}/api/v1/events", json=entries[0], headers=headers).ok
    scraped = samples(requests.get(f"{live_daphne}/metrics", headers=headers).text)
    accepted = "eventhub_events_accepted_total"
    assert value(scraped, accepted, bus="default", source="metrics.test") == 2
    assert value(scraped, accepted, bus="orders", source="metrics.test") == 1
    refused = value(
        scraped, "eventhub_events_refused_total", bus="default", source="metrics.test", reason="MalformedDetail"
    )
    assert refused == 1
    assert value(scraped, "eventhub_publish_duration_seconds_count") == 2
    # Both requests went through group commit: its transactions together took their four entries.
    assert value(scraped, "eventhub_group_commit_entries_sum") == 4


def test_backlog_and_its_oldest_age_are_reported_per_target(client, auth_header):
    target = make_rule_with_target("http://127.0.0.1:9/hook")
    publish(3)
    Delivery.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    scraped = scrape(client, auth_header)
    assert value(scraped, "eventhub_backlog_deliveries", target_id=str(target.id)) == 3
    assert 600 <= value(scraped, "eventhub_backlog_oldest_age_seconds", target_id=str(target.id)) < 700


def test_dead_letters_are_reported_per_target(client, auth_header):
    target = dead_letters_for(2)[0].target
    assert value(scrape(client, auth_header), "eventhub_dead_letters", target_id=str(target.id)) == 2


def test_a_paused_target_is_reported_with_its_names(client, auth_header):
    target = make_rule_with_target("http://127.0.0.1:9/hook", name="billing")
    Target.objects.filter(pk=target.pk).update(paused_at=timezone.now(), paused_reason="failing")
    scraped = scrape(client, auth_header)
    assert value(scraped, "eventhub_target_paused", target_id=str(target.id)) == 1
    assert value(scraped, "eventhub_target_info", target_id=str(target.id), rule="billing", target="t1") == 1


def test_projection_lag_counts_the_events_it_has_not_applied(client, auth_header):
    applied = Event.objects.get(event_id=publish(1)[0]).position
    ProjectionState.objects.create(name="order_views", position=applied)
    publish(5)
    assert value(scrape(client, auth_header), "eventhub_projection_lag_events", projection="order_views") == 5


def test_redis_stream_lag_and_pending_entries_are_reported(client, auth_header, redis):
    stream = transport.stream_key()
    for n in range(5):
        redis.xadd(stream, {"d": str(n)})
    redis.xgroup_create(stream, transport.GROUP, id="0")
    redis.xreadgroup(transport.GROUP, "w1", {stream: ">"}, count=2)
    scraped = scrape(client, auth_header)
    assert value(scraped, "eventhub_redis_stream_length") == 5
    assert value(scraped, "eventhub_redis_stream_pending", group=transport.GROUP) == 2
    assert value(scraped, "eventhub_redis_stream_lag", group=transport.GROUP) == 3
    assert value(scraped, "eventhub_store_up", store="redis") == 1


def test_a_store_that_does_not_answer_is_reported_down_not_a_failed_scrape(client, auth_header, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    transport.client.cache_clear()
    scraped = scrape(client, auth_header)
    transport.client.cache_clear()
    assert value(scraped, "eventhub_store_up", store="redis") == 0
    assert value(scraped, "eventhub_store_up", store="database") == 1


def test_sources_past_the_label_cap_count_as_other(monkeypatch):
    monkeypatch.setattr(metrics, "_seen_labels", {"bus": set(), "source": set()})
    monkeypatch.setattr(metrics, "MAX_LABEL_VALUES", 2)
    assert [metrics._bounded("source", s) for s in ("a", "b", "c", "a")] == ["a", "b", metrics.OTHER, "a"]


WORKER_CALLS = """
import django; django.setup()
from datetime import timedelta
from django.utils import timezone
from dashboard.observability import metrics
metrics.record_attempt(7, 0.02, succeeded=False)
metrics.record_retry_scheduled(7)
metrics.record_attempt(7, 0.01, succeeded=True)
metrics.record_delivery_outcome(7, "succeeded", received_at=timezone.now() - timedelta(seconds=1))
metrics.record_redrives(4)
"""


def test_counters_of_other_processes_are_summed_in_multiprocess_mode(subprocess_env, tmp_path, bearer):
    """What a worker process records, any Daphne of the machine exposes (and after the worker exits)."""
    from tests.conftest import free_port, wait_for_port

    env = subprocess_env | {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):  # two worker processes
        subprocess.run([sys.executable, "-c", WORKER_CALLS], cwd=ROOT, env=env, check=True, timeout=60)
    port = free_port()
    daphne = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "eventhub.asgi:application"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        scraped = samples(requests.get(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": bearer}).text)
    finally:
        daphne.terminate()
        daphne.wait(timeout=10)
    attempts = "eventhub_delivery_attempt_duration_seconds_count"
    assert value(scraped, attempts, target_id="7", outcome="failure") == 2
    assert value(scraped, attempts, target_id="7", outcome="success") == 2
    assert value(scraped, "eventhub_retries_scheduled_total", target_id="7") == 2
    assert value(scraped, "eventhub_deliveries_total", target_id="7", outcome="succeeded") == 2
    assert value(scraped, "eventhub_publish_to_delivery_seconds_count", target_id="7") == 2
    assert value(scraped, "eventhub_redrives_total") == 8


def test_alert_rules_are_valid_prometheus_rules():
    """promtool checks them where it is installed (CI installs it, unless the package mirror failed: .ci/run
    then says so); elsewhere their shape is checked."""
    rules = ROOT / "docs" / "observability" / "alerts.yml"
    promtool_expected = os.environ.get("CI") and not os.environ.get("EVENTHUB_PROMTOOL_UNAVAILABLE")
    if shutil.which("promtool") is None and not promtool_expected:
        groups = yaml.safe_load(rules.read_text())["groups"]
        assert all(
            rule["alert"] and rule["expr"] and rule["annotations"]["summary"] for g in groups for rule in g["rules"]
        )
        return
    done = subprocess.run(["promtool", "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def exposed_names(text: str) -> set[str]:
    """Every series name an exposition can hold, also for labelled metrics that have no sample yet."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    return {family.name + suffix for family in text_string_to_metric_families(text) for suffix in suffixes[family.type]}


def test_the_grafana_dashboard_and_the_alerts_use_only_metrics_eventhub_exposes(client, auth_header):
    exposed = exposed_names(client.get("/metrics", **auth_header).content.decode())
    dashboard = json.loads((ROOT / "docs" / "observability" / "grafana-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"eventhub_\w+", expr)}
    assert used and used <= exposed, used - exposed
    alerts = (ROOT / "docs" / "observability" / "alerts.yml").read_text()
    assert set(re.findall(r"eventhub_\w+", alerts)) <= exposed


def test_a_malformed_allowed_network_stops_start_up_with_a_clear_message(subprocess_env):
    env = subprocess_env | {"EVENTHUB_METRICS_ALLOW_NETWORKS": "10.0.0.0/8,nope"}
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "EVENTHUB_METRICS_ALLOW_NETWORKS: 'nope' is not a network" in done.stderr
