"""Deletes through the EventBridge management API (boto3 against a live Daphne) are audited with the key."""

import json

import pytest

from dashboard.models.audit import AuditEntry
from tests.aws_support import client_for, live_server_for_module  # noqa: F401 - the `server` fixture

HANDLER_ARN = "arn:aws:lambda:local-1:000000000000:function:dashboard.shop.orders.ship_new_order"


@pytest.fixture
def events(server, transactional_db):
    return client_for(server, ["admin"])


def test_removing_targets_and_deleting_a_rule_and_a_bus_are_audited(events):
    events.create_event_bus(Name="billing")
    events.put_rule(Name="paid", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="paid", Targets=[{"Id": "ship", "Arn": HANDLER_ARN}])
    events.remove_targets(Rule="paid", Ids=["ship"])
    events.delete_rule(Name="paid")
    events.delete_event_bus(Name="billing")
    deletes = AuditEntry.objects.filter(action__endswith="_delete").order_by("id")
    assert [(entry.action, entry.subject) for entry in deletes] == [
        ("target_delete", "target default/paid/ship"),
        ("rule_delete", "rule default/paid"),
        ("bus_delete", "event bus billing"),
    ]
    assert all(entry.actor.startswith("api:EH") for entry in deletes)
