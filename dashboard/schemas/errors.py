"""The errors a schema check can raise: each names where the schema is wrong, so a form or an API can point at it."""


class InvalidSchema(ValueError):
    """A document that is not a JSON Schema the checker can read.

    ``path`` is the JSON pointer (without the leading ``#``) of the offending part, "" for the whole schema.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"Invalid schema at #{path}: {reason}")


class SchemaTooComplex(ValueError):
    """Comparing two schemas needed more steps than one check may take (huge or pathological combinations)."""
