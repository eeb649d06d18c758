"""Operator actions in a real browser: rules, targets, secrets and API keys are changed from the dashboard,
each after a confirmation, and each shows up in the audit log."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.models import ApiKey, Delivery, Rule, Target
from dashboard.models.audit import AuditEntry
from dashboard.models.streams import Replay
from tests.dashboard_support import (
    make_dead_letters,
    make_operator,
    make_rule,
    make_target,
    make_viewer,
    order,
    publish,
)
from tests.waiting import wait_until

pytestmark = pytest.mark.browser


def test_operator_creates_a_rule_with_the_live_pattern_preview(log_in, live_daphne):
    make_target(rule=make_rule(name="existing"))
    publish(order(1500), order(5))
    page = log_in(make_operator())
    page.goto(f"{live_daphne}/rules/")
    page.get_by_role("link", name="New rule").click()
    page.fill("#id_name", "big-orders")
    page.fill("#id_event_pattern", '{"detail": {"total": [{"numeric": [">=", 1000]}]}}')
    page.locator("#eh-backtest", has_text="Of the last 2 stored events, this pattern matches 1.").wait_for()
    page.fill("#eh-test-event", json.dumps({"source": "shop.orders", "detail": {"total": 1200}}))
    page.locator("#eh-pattern-status", has_text="Match: the event matches this pattern.").wait_for()
    assert "detail.total" in page.locator("#eh-trace").inner_text()
    page.get_by_role("button", name="Create rule").click()
    page.locator("h1", has_text="big-orders").wait_for()
    assert Rule.objects.get(name="big-orders").created_by.username == "operator"
    page.get_by_role("link", name="Audit").click()
    assert "rule default/big-orders" in page.locator("#audit-table").inner_text()


def test_an_invalid_pattern_is_shown_as_typed_and_refused_on_save(log_in, live_daphne):
    page = log_in(make_operator())
    page.goto(f"{live_daphne}/rules/new/")
    page.fill("#id_name", "broken")
    page.fill("#id_event_pattern", '{"source": "shop"}')
    page.locator("#eh-pattern-status", has_text='"source" must be an object or an array').wait_for()
    page.get_by_role("button", name="Create rule").click()
    page.locator('[data-field="event_pattern"] .error').wait_for()
    assert not Rule.objects.filter(name="broken").exists()


def test_operator_re_enables_a_target_disabled_by_a_410(log_in, live_daphne):
    target = make_target(rule=make_rule(), name="gone-hook", enabled=False)
    Target.objects.filter(pk=target.pk).update(disabled_reason="the receiver answered 410 Gone")
    page = log_in(make_operator())
    page.goto(f"{live_daphne}/targets/{target.pk}/")
    page.get_by_role("link", name="Re-enable").click()
    assert "the receiver answered 410 Gone" in page.locator("#confirm-form").inner_text()
    page.get_by_role("button", name="Enable target").click()
    page.get_by_role("link", name="Disable").wait_for()
    target.refresh_from_db()
    assert target.enabled and target.disabled_reason == ""
    assert AuditEntry.objects.get().action == "target_enable"


def test_cancelling_a_confirmation_changes_nothing(log_in, live_daphne):
    rule = make_rule()
    page = log_in(make_operator())
    page.goto(f"{live_daphne}/rules/{rule.pk}/")
    page.get_by_role("link", name="Disable").click()
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url(f"{live_daphne}/rules/{rule.pk}/")
    rule.refresh_from_db()
    assert rule.is_enabled and not AuditEntry.objects.exists()


def test_operator_edits_a_target_and_rotates_its_secret(log_in, live_daphne):
    target = make_target(rule=make_rule(), name="billing")
    old_secret = target.signing_secret
    page = log_in(make_operator())
    page.goto(f"{live_daphne}/targets/{target.pk}/")
    page.get_by_role("link", name="Edit target").click()
    page.fill("#id_url", "https://billing.example/v2/hook")
    page.get_by_role("button", name="Save changes").click()
    page.locator("p.mono", has_text="https://billing.example/v2/hook").wait_for()
    page.get_by_role("link", name="Rotate signing secret").click()
    page.get_by_role("button", name="Rotate secret").click()
    shown = page.locator("#shown-secret").inner_text()
    target.refresh_from_db()
    assert shown == target.signing_secret != old_secret
    assert page.locator("[data-copy=shown-secret]").is_visible()
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["target_edit", "secret_rotate"]


def test_operator_issues_rotates_and_revokes_an_api_key(log_in, live_daphne):
    page = log_in(make_operator())
    page.get_by_role("link", name="API keys").click()
    page.fill("#id_name", "shop backend")
    page.get_by_label("read").check()
    page.get_by_role("button", name="Issue key").click()
    secret = page.locator("#shown-secret").inner_text()
    key = ApiKey.objects.get(name="shop backend")
    assert key.check_secret(secret) and key.scopes == ["publish", "read"]
    page.get_by_role("link", name="Done: back to API keys").click()
    assert secret not in page.content()
    page.locator(f"#key-{key.access_key_id}").get_by_role("link", name="Rotate secret").click()
    page.get_by_role("button", name="Rotate secret").click()
    rotated = page.locator("#shown-secret").inner_text()
    key.refresh_from_db()
    assert rotated != secret and key.check_secret(rotated) and key.check_secret(secret)  # the old one, for a while
    page.get_by_role("link", name="Done: back to API keys").click()
    page.locator(f"#key-{key.access_key_id}").get_by_role("link", name="Revoke").click()
    page.get_by_role("button", name="Revoke key").click()
    page.locator(f"#key-{key.access_key_id}", has_text="revoked").wait_for()
    key.refresh_from_db()
    assert not key.is_active
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["key_create", "key_rotate", "key_revoke"]


def test_viewer_sees_no_operator_buttons(log_in, live_daphne):
    rule = make_rule()
    make_target(rule=rule)
    page = log_in(make_viewer())
    page.goto(f"{live_daphne}/rules/{rule.pk}/")
    assert page.get_by_role("link", name="Edit rule").count() == 0
    assert page.get_by_role("link", name="Add target").count() == 0
    assert page.get_by_role("link", name="API keys").count() == 0
    response = page.goto(f"{live_daphne}/keys/")
    assert response.status == 403


def _fill_replay(page, name: str) -> None:
    page.fill("#r-name", name)
    page.fill("#r-start", (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"))
    page.fill("#r-end", (timezone.now() + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S"))


def test_a_replay_name_in_use_is_refused_at_preview(log_in, live_daphne):
    make_target(rule=make_rule())
    publish(order(1))
    page = log_in(make_operator())
    page.goto(f"{live_daphne}/replays/")
    _fill_replay(page, "resend")
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Start replay").click()
    page.locator("#replay-resend").wait_for()
    _fill_replay(page, "resend")
    page.get_by_role("button", name="Preview").click()
    assert "A replay named 'resend' exists already: choose another name." in page.locator("#replay-error").inner_text()
    assert page.locator("#replay-confirm").count() == 0


def test_a_refused_start_shows_its_reason_in_the_confirmation(log_in, live_daphne):
    make_target(rule=make_rule())
    publish(order(1))
    page = log_in(make_operator())
    page.goto(f"{live_daphne}/replays/")
    _fill_replay(page, "twice")
    page.get_by_role("button", name="Preview").click()
    page.locator("#replay-confirm").wait_for()
    # Someone else takes the name between this Preview and Start.
    other = page.context.new_page()
    other.goto(f"{live_daphne}/replays/")
    _fill_replay(other, "twice")
    other.get_by_role("button", name="Preview").click()
    other.get_by_role("button", name="Start replay").click()
    other.locator("#replay-twice").wait_for()
    page.get_by_role("button", name="Start replay").click()
    error = page.locator("#replay-start-error")
    error.locator("[role=alert]", has_text="exists already").wait_for()
    assert page.locator("#replay-confirm").is_visible() and Replay.objects.count() == 1


def test_the_overview_shows_a_recovered_target_as_recovering_not_failing(log_in, live_daphne):
    from tests.ui.test_dashboard_stats import record_attempt

    target = make_target(rule=make_rule(), name="shipping")
    publish(*[order(n) for n in range(4)])
    failed, *delivered = Delivery.objects.filter(target=target).order_by("id")
    record_attempt(failed, succeeded=False)
    for delivery in delivered:
        record_attempt(delivery, succeeded=True)
    page = log_in(make_viewer())
    cell = page.locator('tr[data-target="shipping"] [data-health]')
    assert cell.get_attribute("data-health") == "recovering"
    assert "recovering" in cell.inner_text() and "last 5 min" in cell.inner_text()
    assert page.locator("g.node.failing").count() == 0 and page.locator("g.node.recovering").count() == 1


def test_no_page_load_asks_for_something_missing(log_in, live_daphne, page):
    missing: list[str] = []
    page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)
    log_in(make_viewer())
    page.goto(f"{live_daphne}/rules/")
    assert missing == []
    assert page.request.get(f"{live_daphne}/favicon.ico").status == 200


def test_the_admin_purge_asks_before_deleting(log_in, live_daphne):
    from django.contrib.auth.models import Permission

    user = make_operator()
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    [dead] = make_dead_letters(1)
    page = log_in(user)
    page.goto(f"{live_daphne}/admin/dashboard/delivery/?state__exact=dead")
    page.locator(f"input[name=_selected_action][value='{dead.pk}']").check()
    page.select_option("select[name=action]", "purge")
    page.locator("button[name=index]").click()
    page.locator("#purge-question", has_text="Purge 1 dead letter for good?").wait_for()
    assert Delivery.objects.filter(pk=dead.pk).exists()
    page.get_by_role("button", name="Yes, purge 1").click()
    page.locator(".messagelist", has_text="Purged 1 dead letters.").wait_for()
    wait_until(lambda: not Delivery.objects.filter(pk=dead.pk).exists())
    assert AuditEntry.objects.get().action == "purge"


def test_operator_pauses_then_resumes_a_target_and_the_overview_shows_each_state(log_in, live_daphne):
    target = make_target(rule=make_rule(), name="shipping")
    page = log_in(make_operator())
    health = page.locator('tr[data-target="shipping"] [data-health]')
    assert health.get_attribute("data-health") == "healthy"

    page.goto(f"{live_daphne}/targets/{target.pk}/")
    page.get_by_role("link", name="Pause", exact=True).click()
    page.get_by_role("button", name="Pause target").click()
    page.locator('#target-pause[data-paused="true"]', has_text="paused by operator").wait_for()
    assert "Next probe at" in page.locator("#target-pause").inner_text()
    page.goto(f"{live_daphne}/")
    assert health.get_attribute("data-health") == "paused" and "paused by operator" in health.inner_text()
    assert page.locator("g.node.paused").count() == 1

    page.goto(f"{live_daphne}/targets/{target.pk}/")
    page.get_by_role("link", name="Resume", exact=True).click()
    assert "It was paused: paused by operator." in page.locator("#confirm-form").inner_text()
    page.get_by_role("button", name="Resume target").click()
    page.locator('#target-pause[data-paused="false"]', has_text="resumed by operator").wait_for()
    page.goto(f"{live_daphne}/")
    assert health.get_attribute("data-health") == "healthy" and page.locator("g.node.paused").count() == 0
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["target_pause", "target_resume"]


def test_a_pause_by_the_worker_appears_on_open_pages_without_a_reload(log_in, live_daphne):
    from dashboard.delivery.pausing import pause_target

    target = make_target(rule=make_rule(), name="shipping")
    page = log_in(make_viewer())
    detail = page.context.new_page()
    detail.goto(f"{live_daphne}/targets/{target.pk}/")
    pause_target(target.pk, "20 of 20 attempts failed in the last 300 s")
    page.locator('tr[data-target="shipping"] [data-health="paused"]', has_text="20 of 20 attempts failed").wait_for()
    detail.locator('#target-pause[data-paused="true"]', has_text="20 of 20 attempts failed").wait_for()
