"""`manage.py export_rules` and `apply_rules FILE`: the configuration as a file, applied all or nothing."""

from io import StringIO

import pytest
import yaml
from django.core.management import CommandError, call_command

from dashboard.models import ApiDestination, EventBus, Rule, Target
from dashboard.rules import configuration
from dashboard.rules.rules_as_code import apply_configuration, export_configuration

pytestmark = pytest.mark.django_db

HANDLER_ARN = "arn:aws:lambda:local-1:000000000000:function:dashboard.shop.orders.ship_new_order"
API_KEY = {"ApiKeyAuthParameters": {"ApiKeyName": "X-Api-Key", "ApiKeyValue": "s3cret"}}
DOCUMENT = {
    "buses": [{"name": "orders", "description": "Order events"}],
    "api_destinations": [
        {
            "name": "receiver",
            "connection": "hooks",
            "invocation_endpoint": "https://hooks.example.com/in",
            "http_method": "POST",
            "invocation_rate_limit_per_second": 10,
            "description": "",
        }
    ],
    "rules": [
        {
            "name": "paid",
            "bus": "orders",
            "event_pattern": {"source": ["shop"]},
            "state": "ENABLED",
            "description": "",
            "targets": [
                {"id": "hook", "api_destination": "receiver", "retry_policy": {"maximum_retry_attempts": 3}},
                {"id": "ship", "arn": HANDLER_ARN, "input_path": "$.detail"},
            ],
        }
    ],
}


@pytest.fixture(autouse=True)
def connection():
    return configuration.create_connection("hooks", authorization_type="API_KEY", auth_parameters=API_KEY)


def run(*args: str, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def write(tmp_path, document: dict, name: str = "rules.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document))
    return str(path)


def test_apply_creates_what_the_file_lists(tmp_path):
    output = run("apply_rules", write(tmp_path, DOCUMENT))
    assert output.splitlines() == ["created bus orders", "created api_destination receiver", "created rule orders/paid"]
    hook = Target.objects.get(name="hook")
    assert (hook.url, hook.auth_headers, hook.maximum_retry_attempts) == (
        "https://hooks.example.com/in",
        {"X-Api-Key": "s3cret"},
        3,
    )
    assert Target.objects.get(name="ship").input_path == "$.detail"


def test_applying_the_same_file_again_changes_nothing(tmp_path):
    path = write(tmp_path, DOCUMENT)
    run("apply_rules", path)
    updated = Rule.objects.get().updated_at
    assert run("apply_rules", path) == "no changes\n"
    assert Rule.objects.get().updated_at == updated


def test_export_then_apply_elsewhere_round_trips_exactly(tmp_path):
    apply_configuration(DOCUMENT)
    exported = run("export_rules")
    Rule.objects.all().delete()
    ApiDestination.objects.all().delete()
    EventBus.objects.exclude(name="default").delete()
    run("apply_rules", "-", stdin=StringIO(exported))
    assert run("export_rules") == exported


def test_json_export_applies_too(tmp_path):
    apply_configuration(DOCUMENT)
    path = tmp_path / "rules.json"
    path.write_text(run("export_rules", "--json"))
    assert run("apply_rules", str(path)) == "no changes\n"


def test_dry_run_prints_the_changes_and_makes_none(tmp_path):
    output = run("apply_rules", "--dry-run", write(tmp_path, DOCUMENT))
    assert "would be created rule orders/paid" in output
    assert not Rule.objects.exists()
    assert not EventBus.objects.filter(name="orders").exists()


def test_changed_settings_are_named(tmp_path):
    apply_configuration(DOCUMENT)
    changed = {**DOCUMENT, "rules": [{**DOCUMENT["rules"][0], "state": "DISABLED"}]}
    assert run("apply_rules", write(tmp_path, changed)) == "changed rule orders/paid (state)\n"


def test_unlisted_rules_are_kept_unless_pruned(tmp_path):
    apply_configuration(DOCUMENT)
    configuration.put_rule("manual", event_pattern='{"source": ["x"]}')
    path = write(tmp_path, DOCUMENT)
    assert run("apply_rules", path) == "no changes\n"
    assert run("apply_rules", "--prune", path) == "deleted rule default/manual\n"
    assert list(Rule.objects.values_list("name", flat=True)) == ["paid"]


def test_prune_removes_targets_the_file_does_not_list(tmp_path):
    apply_configuration(DOCUMENT)
    one_target = {**DOCUMENT, "rules": [{**DOCUMENT["rules"][0], "targets": DOCUMENT["rules"][0]["targets"][1:]}]}
    run("apply_rules", "--prune", write(tmp_path, one_target))
    assert list(Target.objects.values_list("name", flat=True)) == ["ship"]


def test_a_bad_entry_changes_nothing(tmp_path):
    broken = {**DOCUMENT, "rules": [*DOCUMENT["rules"], {"name": "bad", "event_pattern": {"source": "x"}}]}
    with pytest.raises(CommandError, match="Invalid pattern at source"):
        run("apply_rules", write(tmp_path, broken))
    assert not Rule.objects.exists()
    assert export_configuration()["buses"] == []


@pytest.mark.parametrize("text", ["- just\n- a list\n", "rules: 5\n", "unknown: []\n", "rules: [{name: [1]}]\n"])
def test_malformed_files_are_refused(tmp_path, text):
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(CommandError):
        run("apply_rules", str(path))


def test_scheduled_rule_round_trips(tmp_path):
    scheduled = {"rules": [{"name": "nightly", "schedule_expression": "cron(0 2 * * ? *)", "targets": []}]}
    run("apply_rules", write(tmp_path, scheduled))
    exported = run("export_rules")
    assert "schedule_expression: cron(0 2 * * ? *)" in exported
    assert "event_pattern" not in exported
    assert run("apply_rules", "-", stdin=StringIO(exported)) == "no changes\n"
