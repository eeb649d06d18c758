"""`manage.py redrive`: the same redrive, dry run and purge from a shell."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dashboard.models import Delivery
from tests.delivery_harness import dead_letters_for, lane_rule

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("redrive", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_redrive_by_rule_filter():
    first, second = lane_rule("r1"), lane_rule("r2")
    dead_letters_for(2, target=first)
    dead_letters_for(1, target=second)
    assert _run("--rule", str(first.rule_id)) == "redriven 2, skipped 0\n"
    assert Delivery.objects.get(state="dead").target == second


def test_redrive_by_ids_is_recorded_as_the_command():
    [dead] = dead_letters_for()
    _run(str(dead.pk))
    dead.refresh_from_db()
    assert (dead.state, dead.redriven_by_name) == ("pending", "manage.py redrive")


def test_dry_run_changes_nothing():
    dead_letters_for(2)
    output = _run("--all", "--dry-run")
    assert "target_still_failing: 2" in output and "total: 2" in output
    assert Delivery.objects.filter(state="dead").count() == 2


def test_purge_with_a_filter():
    dead_letters_for(2, error="HTTP 410")
    dead_letters_for(1, target=lane_rule("r2"))
    assert _run("--error", "410", "--purge") == "purged 2 dead letters\n"
    assert Delivery.objects.count() == 1


def test_nothing_is_selected_without_a_selector():
    dead_letters_for(1)
    with pytest.raises(CommandError, match="--all"):
        _run()
    assert Delivery.objects.filter(state="dead").count() == 1
