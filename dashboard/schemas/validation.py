"""Validation at publish: each entry against the latest version of its kind's schema, when that schema asks.

A schema's ``validation`` is ``off`` (the default), ``warn`` (the event is stored; the violation is recorded
with the event id and counted) or ``enforce`` (the entry is refused with an error naming the JSON pointer in
``detail`` and the rule broken; the rest of the batch is stored). Validators are compiled once per schema
version (jsonschema-rs: measured fastest, see the README) and kept per process in a table refreshed at most
every ``REFRESH_SECONDS``; so a change made elsewhere applies within that time, and a batch on a bus without
validating schemas costs one clock read.
"""

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import jsonschema_rs
from django.db import DatabaseError, transaction
from django.db.models import F, Max

from dashboard.lib.ids import new_event_id
from dashboard.models import EventSchema, SchemaVersion, SchemaViolation
from dashboard.schemas import InvalidSchema
from dashboard.ui import broadcast

if TYPE_CHECKING:
    from dashboard.ingest.publishing import EventDraft

log = logging.getLogger(__name__)

REFRESH_SECONDS = 2.0
_DRAFT_07 = "http://json-schema.org/draft-07/schema#"

Key = tuple[str, str, str]


def _refuse_remote(uri: str) -> None:
    raise ValueError(f"remote references are not followed: {uri}")


def compile_validator(document: object) -> jsonschema_rs.Validator:
    """A validator for a schema document; raises ``InvalidSchema`` when it is not a valid JSON Schema.

    A document that names no ``$schema`` is read as 2020-12 when it is valid there, else as draft-07 (tuple
    ``items`` arrays, ``additionalItems``): the two drafts the registry's checker understands. References
    outside the document are never fetched.
    """
    try:
        if isinstance(document, dict) and "$schema" not in document and not jsonschema_rs.meta.is_valid(document):
            document = {**document, "$schema": _DRAFT_07}
        jsonschema_rs.meta.validate(document)
        return jsonschema_rs.validator_for(document, retriever=_refuse_remote)
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as error:
        raise InvalidSchema("", str(error).splitlines()[0]) from None


@dataclass(frozen=True)
class Violation:
    """Where an event's detail breaks its schema: a JSON pointer into ``detail``, the keyword, the reason."""

    pointer: str
    rule: str
    message: str


def first_violation(validator: jsonschema_rs.Validator, detail: object) -> Violation | None:
    if validator.is_valid(detail):  # the common case, several times cheaper than collecting an error
        return None
    error = next(iter(validator.iter_errors(detail)))
    pointer = "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in error.instance_path)
    schema_path = [str(part) for part in error.schema_path]
    return Violation(pointer or "/", schema_path[-1] if schema_path else "", error.message)


@dataclass(frozen=True)
class _Compiled:
    schema_id: int
    version: int
    validation: str
    validator: jsonschema_rs.Validator


class _Table:
    """The validating schemas of this process, by kind; compiled validators are kept across refreshes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_kind: dict[Key, _Compiled] = {}
        self.compiled: dict[tuple[int, int], jsonschema_rs.Validator] = {}
        self.expires = 0.0
        self.generation = 0  # bumped by forget(): a load that began before a change must not be kept

    def current(self) -> dict[Key, _Compiled]:
        if time.monotonic() >= self.expires:
            with self.lock:
                if time.monotonic() >= self.expires:
                    generation = self.generation
                    self.by_kind = self._load()
                    if generation == self.generation:
                        self.expires = time.monotonic() + REFRESH_SECONDS
        return self.by_kind

    def forget(self) -> None:
        self.generation += 1
        self.expires = 0.0

    def _load(self) -> dict[Key, _Compiled]:
        rows = list(
            EventSchema.objects.exclude(validation=EventSchema.Validation.OFF)
            .annotate(latest=Max("versions__number"))
            .filter(latest__isnull=False)
            .values_list("id", "bus", "source", "detail_type", "validation", "latest")
        )
        wanted = {(schema_id, latest) for schema_id, *_, latest in rows}
        missing = wanted - self.compiled.keys()
        if missing:
            ids = {schema_id for schema_id, _ in missing}
            for schema_id, number, document in SchemaVersion.objects.filter(schema_id__in=ids).values_list(
                "schema_id", "number", "document"
            ):
                if (schema_id, number) in missing:
                    try:
                        self.compiled[(schema_id, number)] = compile_validator(document)
                    except InvalidSchema:
                        # Registration validates documents, so only a hand-edited row gets here; skip it.
                        log.exception("schema %s v%s cannot be compiled; events are not validated", schema_id, number)
        self.compiled = {key: validator for key, validator in self.compiled.items() if key in wanted}
        return {
            (bus, source, detail_type): _Compiled(schema_id, latest, validation, self.compiled[(schema_id, latest)])
            for schema_id, bus, source, detail_type, validation, latest in rows
            if (schema_id, latest) in self.compiled
        }


_table = _Table()


def forget_validators() -> None:
    """Make this process read the schemas again on the next publish (after a change made here)."""
    _table.forget()


class EntryBreaksSchema(ValueError):
    """An entry refused by a schema whose validation is ``enforce``."""

    code = "SchemaViolation"


@dataclass
class SchemaCheck:
    """The schema checks of one publish call: validates drafts, then records what it saw after the store."""

    table: dict[Key, _Compiled]
    warned: list[tuple[_Compiled, str, Violation]] = field(default_factory=list)
    refused: dict[int, int] = field(default_factory=dict)

    def check(self, draft: "EventDraft") -> "EventDraft":
        """The draft to store (with an event id if it broke a ``warn`` schema), or ``EntryBreaksSchema``."""
        compiled = self.table.get((draft.bus, draft.source, draft.detail_type))
        if compiled is None:
            return draft
        violation = first_violation(compiled.validator, draft.detail)
        if violation is None:
            return draft
        if compiled.validation == EventSchema.Validation.ENFORCE:
            self.refused[compiled.schema_id] = self.refused.get(compiled.schema_id, 0) + 1
            raise EntryBreaksSchema(
                f'"detail" breaks schema v{compiled.version} of {draft.bus}/{draft.source}/{draft.detail_type} '
                f'at {violation.pointer} (rule "{violation.rule}"): {violation.message}'
            )
        if draft.event_id is None:
            draft = dataclasses.replace(draft, event_id=new_event_id())
        self.warned.append((compiled, draft.event_id, violation))
        return draft

    def record(self, *, stored: bool = True) -> None:
        """Store the violations and counts seen. Diagnostics only: the events are already acknowledged, so
        a failure here is logged, never raised into the publish answer. With ``stored=False`` (a stream
        append refused as a whole) no event was stored, so only the refusals count."""
        if not stored:
            self.warned = []
        if not self.warned and not self.refused:
            return
        counts: dict[int, tuple[int, int]] = {}
        for compiled, _, _ in self.warned:
            warned, refused = counts.get(compiled.schema_id, (0, 0))
            counts[compiled.schema_id] = (warned + 1, refused)
        for schema_id, refused in self.refused.items():
            warned, _ = counts.get(schema_id, (0, 0))
            counts[schema_id] = (warned, refused)
        try:
            with transaction.atomic():
                SchemaViolation.objects.bulk_create(
                    SchemaViolation(
                        schema_id=compiled.schema_id,
                        version=compiled.version,
                        event_id=event_id,
                        pointer=violation.pointer[:1024],
                        rule=violation.rule[:64],
                        message=violation.message,
                    )
                    for compiled, event_id, violation in self.warned
                )
                for schema_id, (warned, refused) in sorted(counts.items()):
                    EventSchema.objects.filter(id=schema_id).update(
                        warned_count=F("warned_count") + warned, refused_count=F("refused_count") + refused
                    )
                transaction.on_commit(broadcast.schemas_changed)
        except DatabaseError:
            log.exception("could not record schema violations of published events")


def schema_check() -> SchemaCheck | None:
    """The checks for one publish call, or None when no schema validates events (the common, free case)."""
    table = _table.current()
    return SchemaCheck(table) if table else None
