"""What the Schemas pages show: the registry with traffic and conformance, and a side-by-side diff of two
versions with Confluent's change names beside the lines they concern."""

import difflib
import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import Count
from django.utils import timezone

from dashboard.models import Event, EventSchema, SchemaVersion, SchemaViolation
from dashboard.schemas import InvalidSchema, SchemaTooComplex, check_compatibility
from dashboard.schemas.changes import RULES

VIOLATIONS_LISTED = 20


@dataclass
class SchemaRow:
    schema: EventSchema
    versions: int
    traffic: int
    violations: int

    @property
    def conforming_percent(self) -> float | None:
        """Share of last hour's events that met the latest version; None where nothing checks them."""
        if self.schema.validation == EventSchema.Validation.OFF or not self.traffic:
            return None
        return 100.0 * max(self.traffic - self.violations, 0) / self.traffic


def schema_rows(now=None) -> list[SchemaRow]:
    since = (now or timezone.now()) - timedelta(hours=1)
    schemas = list(EventSchema.objects.annotate(version_count=Count("versions")))
    buses = {schema.bus for schema in schemas}
    traffic = {
        (row["bus"], row["source"], row["detail_type"]): row["n"]
        for row in Event.objects.filter(bus__in=buses, time__gte=since)
        .values("bus", "source", "detail_type")
        .annotate(n=Count("position"))
    }
    violations = dict(
        SchemaViolation.objects.filter(created_at__gte=since)
        .values("schema")
        .annotate(n=Count("id"))
        .values_list("schema", "n")
    )
    return [
        SchemaRow(
            schema,
            schema.version_count,
            traffic.get((schema.bus, schema.source, schema.detail_type), 0),
            violations.get(schema.pk, 0),
        )
        for schema in schemas
    ]


@dataclass
class DiffRow:
    left_number: int | None
    left: str
    right_number: int | None
    right: str
    kind: str  # equal, replace, delete, insert
    changes: list[tuple[str, bool]] = field(default_factory=list)  # (change name, allowed by the rules)


@dataclass
class VersionDiff:
    compatible: bool | None
    changes: list[str]
    rows: list[DiffRow]
    error: str = ""


def pretty_lines(document: Any) -> tuple[list[str], dict[str, int]]:
    """The document as indented JSON lines, and the line index where each JSON pointer's value starts."""
    lines: list[str] = []
    where: dict[str, int] = {}

    def emit(value: Any, pointer: str, indent: str, prefix: str, suffix: str) -> None:
        where[pointer] = len(lines)
        if isinstance(value, dict) and value:
            lines.append(f"{indent}{prefix}{{")
            for n, (key, item) in enumerate(value.items()):
                escaped = key.replace("~", "~0").replace("/", "~1")
                emit(item, f"{pointer}/{escaped}", indent + "  ", f"{json.dumps(key)}: ", "," * (n < len(value) - 1))
            lines.append(f"{indent}}}{suffix}")
        elif isinstance(value, list) and value:
            lines.append(f"{indent}{prefix}[")
            for n, item in enumerate(value):
                emit(item, f"{pointer}/{n}", indent + "  ", "", "," * (n < len(value) - 1))
            lines.append(f"{indent}]{suffix}")
        else:
            lines.append(f"{indent}{prefix}{json.dumps(value)}{suffix}")

    emit(document, "", "", "", "")
    return lines, where


def _line_of(pointer: str, where: dict[str, int]) -> int | None:
    """The line of the pointer, or of its nearest ancestor present in the document."""
    parts = pointer.removeprefix("#").rstrip("/").split("/")
    while parts:
        candidate = "/".join(parts)
        if candidate in where:
            return where[candidate]
        parts.pop()
    return where.get("")


def diff_versions(original: SchemaVersion, update: SchemaVersion, rules: str) -> VersionDiff:
    """Side by side, line by line, with each change of ``update`` against ``original`` beside its line."""
    left, left_where = pretty_lines(original.document)
    right, right_where = pretty_lines(update.document)
    rows: list[DiffRow] = []
    left_row: dict[int, DiffRow] = {}
    right_row: dict[int, DiffRow] = {}
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, left, right, autojunk=False).get_opcodes():
        for offset in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + offset, j1 + offset
            row = DiffRow(
                i + 1 if i < i2 else None,
                left[i] if i < i2 else "",
                j + 1 if j < j2 else None,
                right[j] if j < j2 else "",
                tag,
            )
            rows.append(row)
            if i < i2:
                left_row[i] = row
            if j < j2:
                right_row[j] = row
    try:
        result = check_compatibility(original.document, update.document, rules)
    except (InvalidSchema, SchemaTooComplex) as error:
        return VersionDiff(None, [], rows, str(error))
    for change in result.changes:
        line = _line_of(change.pointer, left_where)
        row = left_row.get(line) if line is not None else None
        if row is None:
            line = _line_of(change.pointer, right_where)
            row = right_row.get(line) if line is not None else None
        if row is not None:
            row.changes.append((change.name, change.name in RULES[rules]))
    return VersionDiff(result.compatible, [str(c) for c in result.changes], rows)


@dataclass
class ViolationRow:
    violation: SchemaViolation
    position: int | None


def recent_violations(schema: EventSchema) -> list[ViolationRow]:
    violations = list(schema.violations.all()[:VIOLATIONS_LISTED])
    positions = dict(
        Event.objects.filter(event_id__in=[v.event_id for v in violations]).values_list("event_id", "position")
    )
    return [ViolationRow(v, positions.get(v.event_id)) for v in violations]


def versions_with_samples(versions: list[SchemaVersion]) -> list[tuple[SchemaVersion, int | None]]:
    """Each version with the position of its sample event (None: no sample, or it was purged)."""
    ids = [v.sample_event_id for v in versions if v.sample_event_id]
    positions = dict(Event.objects.filter(event_id__in=ids).values_list("event_id", "position")) if ids else {}
    return [(version, positions.get(version.sample_event_id)) for version in versions]
