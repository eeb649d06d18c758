"""A module no test imports: a target naming its function must be refused without importing it."""

calls: list[dict] = []


def record(event: dict) -> None:
    calls.append(event)
