"""The rule admin: targets inline, the engine's message on a bad pattern, the pattern preview (test
against an event, backtest on stored events), and dead-letter actions guarded by permission."""

import json
from io import StringIO

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command

from dashboard.models import Delivery, Rule
from dashboard.models.rules import new_signing_secret
from tests.delivery_harness import dead_letters_for, lane_rule, publish

pytestmark = pytest.mark.django_db
ADD_URL = "/admin/dashboard/rule/add/"
PREVIEW_URL = "/admin/dashboard/rule/preview/"


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def _rule_form(pattern: str, **target) -> dict:
    data = {
        "bus": "default",
        "name": "big-orders",
        "description": "",
        "event_pattern": pattern,
        "state": "enabled",
        "targets-TOTAL_FORMS": "1",
        "targets-INITIAL_FORMS": "0",
        "targets-MIN_NUM_FORMS": "0",
        "targets-MAX_NUM_FORMS": "1000",
    }
    fields = {
        "name": "fulfilment",
        "kind": "webhook",
        "enabled": "on",
        "url": "https://fulfilment.example.com/hooks",
        "method": "POST",
        "timeout_seconds": "5",
        "headers": "{}",
        "signing_secret": new_signing_secret(),
        "maximum_retry_attempts": "185",
        "maximum_event_age_seconds": "86400",
        "dead_letter_enabled": "on",
        **target,
    }
    return data | {f"targets-0-{name}": value for name, value in fields.items()}


def test_rule_is_created_with_its_target_inline_and_who_made_it(admin_client):
    response = admin_client.post(ADD_URL, _rule_form('{"source": ["shop.orders"]}'))
    assert response.status_code == 302, response.context["adminform"].form.errors
    rule = Rule.objects.get()
    assert rule.created_by.username == rule.updated_by.username == "root"
    assert list(rule.targets.values_list("name", "url")) == [("fulfilment", "https://fulfilment.example.com/hooks")]


def test_invalid_pattern_shows_the_engines_message_on_the_pattern_field(admin_client):
    response = admin_client.post(ADD_URL, _rule_form('{"detail": {"total": [{"numeric": [">", "x"]}]}}'))
    errors = response.context["adminform"].form.errors
    assert response.status_code == 200 and not Rule.objects.exists()
    assert errors["event_pattern"][0].startswith("Invalid pattern at detail.total")


def test_invalid_input_transformer_is_refused_on_its_field(admin_client):
    transformer = json.dumps({"InputPathsMap": {"sku": "detail.sku"}, "InputTemplate": "<sku>"})
    response = admin_client.post(ADD_URL, _rule_form('{"source": ["a"]}', input_transformer=transformer))
    inline_errors = response.context["inline_admin_formsets"][0].formset.errors[0]
    assert "must start with $" in inline_errors["input_transformer"][0]


def test_target_form_offers_the_registered_handlers_as_a_choice(admin_client):
    page = admin_client.get(ADD_URL).content.decode()
    assert '<select name="targets-0-handler"' in page
    assert '<option value="dashboard.shop.orders.ship_new_order">' in page


@pytest.mark.parametrize("handler", ["os.system", "no.such.fn"])
def test_python_target_naming_an_unregistered_handler_is_refused(admin_client, handler):
    form = _rule_form('{"source": ["a"]}', kind="python", url="", handler=handler)
    response = admin_client.post(ADD_URL, form)
    inline_errors = response.context["inline_admin_formsets"][0].formset.errors[0]
    assert f"{handler} is not one of the available choices" in inline_errors["handler"][0]
    assert not Rule.objects.exists()


def test_python_target_with_a_registered_handler_is_created(admin_client):
    form = _rule_form('{"source": ["a"]}', kind="python", url="", handler="dashboard.shop.orders.ship_new_order")
    assert admin_client.post(ADD_URL, form).status_code == 302
    assert Rule.objects.get().targets.get().handler == "dashboard.shop.orders.ship_new_order"


def test_change_form_has_the_pattern_preview_panel(admin_client):
    rule = lane_rule().rule
    page = admin_client.get(f"/admin/dashboard/rule/{rule.pk}/change/").content.decode()
    assert 'id="eh-pattern-preview"' in page and f'data-rule-id="{rule.pk}"' in page
    assert "dashboard/admin-rule-form.js" in page


def test_preview_tests_the_pattern_against_a_pasted_event_with_the_trace(admin_client):
    event = {"source": "shop.orders", "detail": {"total": 50}}
    answer = admin_client.post(
        PREVIEW_URL, {"pattern": '{"detail": {"total": [{"numeric": [">", 100]}]}}', "event": json.dumps(event)}
    ).json()
    assert answer["valid"] and answer["test"]["matched"] is False
    assert answer["test"]["explanation"]["first_failure"] == "detail.total"


def test_preview_reports_an_invalid_pattern_with_its_path(admin_client):
    answer = admin_client.post(PREVIEW_URL, {"pattern": '{"source": "not-a-list"}'}).json()
    assert answer["valid"] is False and answer["path"] == "source"


def test_preview_backtests_the_new_pattern_against_the_saved_one(admin_client):
    saved = lane_rule("r1").rule
    publish(3, lane="r1")
    publish(2, lane="r2")
    answer = admin_client.post(
        PREVIEW_URL, {"pattern": '{"source": ["shop.orders"]}', "rule_id": saved.pk, "bus": "default"}
    ).json()
    assert answer["backtest"] == {"sample": 5, "new": 5, "old": 3}


def test_preview_needs_a_staff_login(client):
    assert client.post(PREVIEW_URL, {"pattern": "{}"}).status_code == 302
    client.force_login(User.objects.create_user("viewer", is_staff=True))
    assert client.post(PREVIEW_URL, {"pattern": "{}"}).status_code == 403


def test_redrive_action_needs_the_redrive_permission(client):
    [dead] = dead_letters_for()
    staff = User.objects.create_user("ops", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    client.force_login(staff)
    action = {"action": "redrive", "_selected_action": [str(dead.pk)]}
    client.post("/admin/dashboard/delivery/", action)
    assert Delivery.objects.get().state == Delivery.State.DEAD
    staff.user_permissions.add(Permission.objects.get(codename="redrive_delivery"))
    client.post("/admin/dashboard/delivery/", action)
    dead.refresh_from_db()
    assert (dead.state, dead.redriven_by) == (Delivery.State.PENDING, staff)


def test_create_rule_command_refuses_an_invalid_pattern_with_the_engines_message():
    with pytest.raises(CommandError, match="event_pattern: Invalid pattern at source"):
        call_command("create_rule", "--name", "x", "--pattern", '{"source": "a"}', "--webhook", "https://e.example/")
    assert not Rule.objects.exists()


def test_create_rule_command_prints_the_signing_secret():
    out = StringIO()
    call_command(
        "create_rule", "--name", "x", "--pattern", '{"source": ["a"]}', "--webhook", "https://e.example/", stdout=out
    )
    assert Rule.objects.get().targets.get().signing_secret in out.getvalue()


def test_preview_ignores_a_rule_id_that_is_not_one(admin_client):
    answer = admin_client.post(PREVIEW_URL, {"pattern": '{"source": ["a"]}', "rule_id": "abc", "event": "[1]"}).json()
    assert answer["backtest"]["old"] is None
    assert answer["test"] == {"error": "The event must be a JSON object."}
