"""Schedule expressions: rate() and AWS's six-field cron(), their next tick, and the ones refused."""

from datetime import UTC, datetime

import pytest

from dashboard.rules.schedules import InvalidSchedule, parse_schedule

NOW = datetime(2026, 12, 6, 21, 57, 30, tzinfo=UTC)  # a Sunday


@pytest.mark.parametrize(
    ("expression", "tick"),
    [
        ("rate(1 minute)", datetime(2026, 12, 6, 21, 58, tzinfo=UTC)),
        ("rate(5 minutes)", datetime(2026, 12, 6, 22, 0, tzinfo=UTC)),
        ("rate(2 hours)", datetime(2026, 12, 6, 22, 0, tzinfo=UTC)),
        ("rate(1 day)", datetime(2026, 12, 7, tzinfo=UTC)),
        ("cron(0 12 * * ? *)", datetime(2026, 12, 7, 12, tzinfo=UTC)),
        ("cron(0/15 * * * ? *)", datetime(2026, 12, 6, 22, 0, tzinfo=UTC)),
        ("cron(15 10 ? * MON-FRI *)", datetime(2026, 12, 7, 10, 15, tzinfo=UTC)),
        ("cron(0 8 ? * 1 *)", datetime(2026, 12, 13, 8, tzinfo=UTC)),  # 1 is Sunday
        ("cron(0 0 1 JAN,JUL ? 2027)", datetime(2027, 1, 1, tzinfo=UTC)),
        ("cron(0 0 29 FEB ? *)", datetime(2028, 2, 29, tzinfo=UTC)),
    ],
)
def test_next_tick(expression, tick):
    assert parse_schedule(expression).next_after(NOW) == tick


def test_a_tick_is_strictly_after_the_moment():
    assert parse_schedule("rate(5 minutes)").next_after(datetime(2026, 1, 1, 0, 5, tzinfo=UTC)) == datetime(
        2026, 1, 1, 0, 10, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minutes)",
        "rate(5 minute)",
        "rate(0 minutes)",
        "rate(5 weeks)",
        "cron(0 12 * * *)",
        "cron(0 12 * * * *)",
        "cron(0 12 ? * ? *)",
        "cron(61 * * * ? *)",
        "cron(0 12 30 FEB ? *)",
        "cron(0 12 L * ? *)",
        "cron(0 12 ? * 6#3 *)",
        "cron(5-1 * * * ? *)",
        "cron(0/0 * * * ? *)",
        "every day",
        "",
    ],
)
def test_bad_expressions_are_refused(expression):
    with pytest.raises(InvalidSchedule):
        parse_schedule(expression)
