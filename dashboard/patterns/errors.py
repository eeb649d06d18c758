"""The one error a pattern can raise: it names where the pattern is wrong, so a form can point at it."""


class InvalidPattern(ValueError):
    """An event pattern that EventBridge would reject (``InvalidEventPatternException``).

    ``path`` is the dot-joined field path the problem sits under ("" for the pattern as a whole) and
    ``reason`` uses AWS's own wording where AWS has one, so users can search for it.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        where = f" at {path}" if path else ""
        super().__init__(f"Invalid pattern{where}: {reason}")


class PatternTooComplex(Exception):
    """Deciding whether one event matches needed more work than the evaluation's budget allows.

    Array consistency makes some pattern-and-event pairs expensive to decide in the worst case, so each
    evaluation carries a ``Budget``; callers answer this as a client error rather than stalling.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
