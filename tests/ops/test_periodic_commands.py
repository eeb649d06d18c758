"""The periodic commands (`discover_schemas`, `schedule`) share one loop: PeriodicCommand runs a pass every
--interval seconds, or one pass with --once, and a failed pass does not end the loop."""

import signal

import pytest
from django.core.management import call_command

from dashboard.management.commands import discover_schemas, schedule
from dashboard.management.periodic import PeriodicCommand


@pytest.fixture(autouse=True)
def restored_signal_handlers():
    """The loop installs SIGTERM and SIGINT handlers; the test run keeps its own."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


class Passes(PeriodicCommand):
    """Counts its passes; the first one fails, the third asks the loop to stop."""

    def __init__(self) -> None:
        super().__init__()
        self.passes = 0

    def run_pass(self) -> None:
        self.passes += 1
        if self.passes == 1:
            raise RuntimeError("the first pass fails")
        if self.passes == 3:
            self.stopping = True


def test_once_runs_a_single_pass():
    command = Passes()
    call_command(command, once=True)
    assert command.passes == 1


def test_a_failed_pass_is_logged_and_the_next_one_runs(caplog):
    command = Passes()
    call_command(command, interval=0.0)
    assert command.passes == 3
    assert "the pass failed" in caplog.text


@pytest.mark.parametrize(("command", "interval"), [(discover_schemas.Command, 5.0), (schedule.Command, 1.0)])
def test_each_command_keeps_its_default_interval(command, interval):
    assert command().create_parser("manage.py", "x").parse_args([]).interval == interval
