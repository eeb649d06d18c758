"""The schema registry: register versions of the schema of one kind of event, check a candidate, set modes.

A schema belongs to a (bus, source, detail-type). Registering a document appends version n+1 when it keeps
the schema's compatibility mode with the earlier versions (``dashboard.schemas.incompatibilities``), and is
refused with the breaking changes otherwise; registering the latest document again returns that version.
Versions never change. Whether publishing validates events against the latest version is set per schema
(``dashboard.schemas.validation``).
"""

import hashlib
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from dashboard.ingest.publishing import InvalidEntry, check_nesting
from dashboard.models import EventSchema, SchemaVersion
from dashboard.schemas import InvalidSchema, incompatibilities, load_schema
from dashboard.schemas.loader import canonical
from dashboard.schemas.validation import compile_validator, forget_validators
from dashboard.ui import broadcast

MAX_DOCUMENT_BYTES = 256 * 1024
MAX_JSON_DEPTH = 64


class IncompatibleSchema(Exception):
    """The document breaks the schema's compatibility mode; ``problems`` says how, change by change."""

    def __init__(self, schema: EventSchema, problems: list[str]) -> None:
        self.schema = schema
        self.problems = problems
        super().__init__(f"{schema} ({schema.compatibility}, {schema.rules}): {'; '.join(problems)}")


@dataclass(frozen=True)
class Kind:
    """The (bus, source, detail-type) a schema describes."""

    bus: str
    source: str
    detail_type: str

    def lookup(self) -> dict[str, str]:
        return {"bus": self.bus, "source": self.source, "detail_type": self.detail_type}


def validate_document(document: object) -> None:
    """Refuse what is not a JSON Schema this registry can check and validate with (``InvalidSchema``)."""
    if not isinstance(document, dict | bool):
        raise InvalidSchema("", "a schema must be a JSON object or a boolean")
    try:
        # Stored as JSON in the database: PostgreSQL refuses NUL in it, and nesting is bounded as for events.
        check_nesting(document, MAX_JSON_DEPTH)
    except InvalidEntry as error:
        raise InvalidSchema("", str(error)) from None
    if len(canonical(document).encode()) > MAX_DOCUMENT_BYTES:
        raise InvalidSchema("", f"a schema may hold at most {MAX_DOCUMENT_BYTES} bytes")
    load_schema(document)
    compile_validator(document)


def fingerprint(document: object) -> str:
    return hashlib.sha256(canonical(document).encode()).hexdigest()


def check_candidate(kind: Kind, document: object) -> list[str]:
    """What registering ``document`` would break (empty: it would be accepted). Nothing is stored."""
    validate_document(document)
    schema = EventSchema.objects.filter(**kind.lookup()).first()
    if schema is None:
        return []
    earlier = list(schema.versions.order_by("number").values_list("document", flat=True))
    return incompatibilities(document, earlier, schema.compatibility, schema.rules)


def register_version(
    kind: Kind,
    document: object,
    *,
    origin: str = SchemaVersion.Origin.REGISTERED,
    sample_event_id: str = "",
) -> tuple[SchemaVersion, bool]:
    """Append ``document`` as the next version of ``kind``'s schema (created on first use, mode BACKWARD).

    Returns the version and whether it is new: the latest document registered again is that version.
    Raises ``InvalidSchema`` or ``IncompatibleSchema``; concurrent registrations are serialised per schema.
    Discovery passes ``origin`` and the event that showed the new shape.
    """
    validate_document(document)
    digest = fingerprint(document)
    with transaction.atomic():
        schema = _locked_schema(kind)
        versions = list(schema.versions.order_by("number"))
        if versions and versions[-1].fingerprint == digest:
            return versions[-1], False
        problems = incompatibilities(document, [v.document for v in versions], schema.compatibility, schema.rules)
        if problems:
            raise IncompatibleSchema(schema, problems)
        version = SchemaVersion.objects.create(
            schema=schema,
            number=len(versions) + 1,
            document=document,
            fingerprint=digest,
            origin=origin,
            sample_event_id=sample_event_id,
        )
    _forget_on_commit()
    return version, True


def configure(
    kind: Kind,
    *,
    compatibility: str | None = None,
    rules: str | None = None,
    validation: str | None = None,
) -> EventSchema:
    """Set a schema's compatibility mode, rule set or publish validation (creating the schema if new)."""
    choices = {
        "compatibility": (compatibility, EventSchema.Compatibility.values),
        "rules": (rules, EventSchema.Rules.values),
        "validation": (validation, EventSchema.Validation.values),
    }
    with transaction.atomic():
        schema = _locked_schema(kind)
        for field, (value, allowed) in choices.items():
            if value is None:
                continue
            if value not in allowed:
                raise ValueError(f"{field} must be one of {', '.join(allowed)}")
            setattr(schema, field, value)
        schema.save()
    _forget_on_commit()
    return schema


def _locked_schema(kind: Kind) -> EventSchema:
    try:
        with transaction.atomic():
            EventSchema.objects.get_or_create(**kind.lookup())
    except IntegrityError:
        pass  # created by a concurrent request a moment ago: the lock below finds it
    return EventSchema.objects.select_for_update().get(**kind.lookup())


def _forget_on_commit() -> None:
    """This process reads the schemas again at once, and again after commit (a read in between saw old rows);
    the Schemas pages hear of the change after commit."""
    forget_validators()
    transaction.on_commit(forget_validators)
    transaction.on_commit(broadcast.schemas_changed)
