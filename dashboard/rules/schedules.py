"""EventBridge schedule expressions: `rate(5 minutes)` and AWS's six-field `cron(0 12 * * ? *)`, in UTC.

cron fields: minutes (0-59), hours (0-23), day of month (1-31), month (1-12 or JAN-DEC), day of week (1-7 or
SUN-SAT, 1 is Sunday), year (1970-2199); each `*`, a value, a range `a-b`, a list `a,b` or a step `x/n`.
One of day of month and day of week must be `?`, as on AWS. `L`, `W` and `#` are not supported yet.
Pure Python: parsed once into a `Schedule` that answers the next tick after a moment.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86_400}
_MONTHS = {
    name: n
    for n, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1
    )
}
_DAYS = {name: n for n, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}
# (name, lowest, highest, names) of the six fields
_FIELDS = (
    ("minutes", 0, 59, {}),
    ("hours", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, _DAYS),
    ("year", 1970, 2199, {}),
)
_SEARCH_YEARS = 5  # a cron that matches nothing this long is refused (for example 30 FEB)


class InvalidSchedule(ValueError):
    """A schedule expression EventBridge would refuse, or one EventHub does not support yet."""


@dataclass(frozen=True)
class Schedule:
    expression: str
    every: timedelta | None = None  # rate()
    fields: tuple[frozenset[int] | None, ...] = ()  # cron(): allowed values per field, None for `?`

    def next_after(self, moment: datetime) -> datetime:
        """The first tick strictly after `moment` (UTC, whole minutes)."""
        start = moment.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        if self.every is not None:
            # Ticks are aligned to the epoch, so every worker computes the same ones.
            period = int(self.every.total_seconds())
            seconds = int(start.timestamp())
            return datetime.fromtimestamp(-(-seconds // period) * period, UTC)
        tick = self._next_cron(start)
        if tick is None:
            raise InvalidSchedule(f"{self.expression} has no tick in the next {_SEARCH_YEARS} years")
        return tick

    def _next_cron(self, start: datetime) -> datetime | None:
        minutes, hours, days, months, weekdays, years = self.fields
        day = start.replace(hour=0, minute=0)
        for _ in range(366 * _SEARCH_YEARS):
            weekday = day.isoweekday() % 7 + 1  # AWS: 1 is Sunday
            if (
                day.year in years
                and day.month in months
                and (days is None or day.day in days)
                and (weekdays is None or weekday in weekdays)
            ):
                for hour in sorted(hours):
                    for minute in sorted(minutes):
                        tick = day.replace(hour=hour, minute=minute)
                        if tick >= start:
                            return tick
            day += timedelta(days=1)
        return None


def parse_schedule(expression: object) -> Schedule:
    if not isinstance(expression, str) or len(expression) > 256:
        raise InvalidSchedule("ScheduleExpression must be rate(...) or cron(...), at most 256 characters.")
    rate = _RATE.match(expression)
    if rate:
        count, unit = int(rate[1]), rate[2]
        if count < 1 or (count == 1) != (not unit.endswith("s")):
            raise InvalidSchedule(
                f"Parameter ScheduleExpression is not valid: {expression} (as in rate(1 minute), rate(5 minutes))."
            )
        return Schedule(expression, every=timedelta(seconds=count * _UNIT_SECONDS[unit.rstrip("s")]))
    cron = _CRON.match(expression)
    if not cron:
        raise InvalidSchedule(f"Parameter ScheduleExpression is not valid: {expression}.")
    parts = cron[1].split()
    if len(parts) != 6:
        raise InvalidSchedule(
            f"{expression}: cron() takes six fields: minutes hours day-of-month month day-of-week year"
        )
    fields = tuple(_field(part, *spec) for part, spec in zip(parts, _FIELDS, strict=True))
    if (fields[2] is None) == (fields[4] is None):
        raise InvalidSchedule(f"{expression}: exactly one of day-of-month and day-of-week must be '?'.")
    if None in (fields[0], fields[1], fields[3], fields[5]):
        raise InvalidSchedule(f"{expression}: only day-of-month or day-of-week may be '?'.")
    schedule = Schedule(expression, fields=fields)
    schedule.next_after(datetime.now(UTC))  # refuses a cron that never fires
    return schedule


def _field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int] | None:
    if text == "?":
        return None
    values: set[int] = set()
    for item in text.split(","):
        values |= _item(item, name, low, high, names)
    return frozenset(values)


def _item(item: str, name: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    base, _, step_text = item.partition("/")
    if base == "*":
        first, last = low, high
    elif "-" in base:
        first_text, _, last_text = base.partition("-")
        first, last = _value(first_text, name, low, high, names), _value(last_text, name, low, high, names)
    else:
        first = _value(base, name, low, high, names)
        last = high if step_text else first
    step = 1
    if step_text:
        if not step_text.isdigit() or int(step_text) < 1:
            raise InvalidSchedule(f"{name}: {item!r} needs a whole step of at least 1.")
        step = int(step_text)
    if first > last:
        raise InvalidSchedule(f"{name}: {item!r} runs backwards.")
    return set(range(first, last + 1, step))


def _value(text: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    upper = text.upper()
    if upper in names:
        return names[upper]
    if "#" in upper or upper.endswith(("L", "W")):
        raise InvalidSchedule(f"{name} {text!r}: L, W and # are not supported yet.")
    if not text.isdigit() or not low <= int(text) <= high:
        raise InvalidSchedule(f"{name}: {text!r} is not a value from {low} to {high}.")
    return int(text)
