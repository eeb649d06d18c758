"""Is a JSON Schema update backward compatible with the original, and what changed?

    result = check_compatibility(original, update, mode="strict")
    result.compatible                  # a consumer using `update` reads every document valid under `original`
    [str(c) for c in result.changes]   # ["TYPE_NARROWED #/properties/age", ...]

The rules are Confluent Schema Registry's JSON Schema rules, ported: the same walk over the two schemas,
the same change names, JSON pointers and order, so that verdicts agree with the registry most teams know
(tests/schemas/test_schema_compatibility_conformance.py scores this on cases from its own test suite). Forward
compatibility is the same check with the arguments swapped.

Cost is bounded: a pair of subschemas is compared once (remembered by identity, which also ends ``$ref``
cycles: a pair met again while it is being compared counts as compatible), and a check that needs more than
``MAX_STEPS`` comparisons raises ``SchemaTooComplex``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .changes import RULES, Change
from .errors import SchemaTooComplex
from .javaorder import hash_map_order, hash_set_union_order
from .loader import (
    ArraySchema,
    CombinedSchema,
    ConstSchema,
    EnumSchema,
    NotSchema,
    NumberSchema,
    ObjectSchema,
    ReferenceSchema,
    Schema,
    StringSchema,
    canonical,
    load_schema,
)

MAX_STEPS = 50_000
_EMPTY_KINDS = ("empty", "true")


@dataclass(frozen=True)
class CompatibilityResult:
    compatible: bool
    changes: tuple[Change, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"compatible": self.compatible, "changes": [str(change) for change in self.changes]}


def check_compatibility(original: Any, update: Any, mode: str = "strict") -> CompatibilityResult:
    """Whether ``update`` is backward compatible with ``original`` (both JSON Schema documents) under ``mode``.

    ``mode`` is ``"strict"`` (Confluent's default rules) or ``"lenient"``. Raises ``InvalidSchema`` for a
    document that is not a schema, ``SchemaTooComplex`` past the step budget, ``ValueError`` for a bad mode.
    """
    if mode not in RULES:
        raise ValueError(f"mode must be one of {', '.join(RULES)}")
    changes = diff_schemas(load_schema(original), load_schema(update), mode)
    rules = RULES[mode]
    return CompatibilityResult(all(change.name in rules for change in changes), tuple(changes))


def diff_schemas(original: Schema, update: Schema, mode: str = "strict") -> list[Change]:
    """Every difference between two loaded schemas, in Confluent's order."""
    context = _Context(_Shared(RULES[mode]), [])
    _compare(context, original, update)
    return context.changes


class _Shared:
    """What all contexts of one check share: the rules, the memo of compared pairs, the step budget."""

    def __init__(self, rules: frozenset[str]) -> None:
        self.rules = rules
        self.memo: dict[tuple[int, int], list[Change]] = {}
        self.in_progress: set[tuple[int, int]] = set()
        self.steps = 0


class _Context:
    def __init__(self, shared: _Shared, path: list[str]) -> None:
        self.shared = shared
        self.path = path
        self.changes: list[Change] = []

    def child(self) -> _Context:
        """A context for a trial comparison whose changes are kept only if the caller decides so."""
        return _Context(self.shared, list(self.path))

    def compatible(self) -> bool:
        return all(change.name in self.shared.rules for change in self.changes)

    def add(self, name: str, *segments: str) -> None:
        self.changes.append(Change(name, _pointer([*self.path, *segments])))

    def extend(self, changes: list[Change]) -> None:
        self.changes.extend(changes)

    def enter(self, *segments: str) -> _Path:
        return _Path(self, segments)


class _Path:
    def __init__(self, context: _Context, segments: tuple[str, ...]) -> None:
        self.context = context
        self.segments = segments

    def __enter__(self) -> None:
        self.context.path.extend(self.segments)

    def __exit__(self, *exc: object) -> None:
        del self.context.path[-len(self.segments) :]


def _pointer(segments: list[str]) -> str:
    return "#/" + "/".join(segments)


def _key(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _resolved(schema: Schema | None) -> Schema | None:
    while isinstance(schema, ReferenceSchema):
        schema = schema.target()
    return schema


def _compare(context: _Context, original: Schema | None, update: Schema | None) -> None:
    shared = context.shared
    shared.steps += 1
    if shared.steps > MAX_STEPS:
        raise SchemaTooComplex(f"comparing these schemas takes more than {MAX_STEPS} steps")
    if original is None and update is None:
        return
    if original is None:
        context.add("SCHEMA_ADDED")
        return
    if update is None:
        context.add("SCHEMA_REMOVED")
        return
    original, update = _resolved(original), _resolved(update)
    key = (id(original), id(update))
    if key not in shared.memo:
        if key in shared.in_progress:
            return
        shared.in_progress.add(key)
        try:
            relative = _Context(shared, [])
            _compare_pair(relative, original, update)
        finally:
            shared.in_progress.discard(key)
        shared.memo[key] = relative.changes
    for change in shared.memo[key]:
        tail = change.pointer[2:]  # the pointer relative to this pair, without its "#/"
        context.changes.append(Change(change.name, _pointer([*context.path, tail] if tail else context.path)))


def _compare_pair(context: _Context, original: Schema, update: Schema) -> None:
    if _union_covers(context, original, update):
        return
    if original.kind != update.kind:
        if original.kind != "false" and update.kind not in _EMPTY_KINDS:
            context.add("TYPE_CHANGED")
        return
    for attribute, name in (
        ("id", "ID_CHANGED"),
        ("title", "TITLE_CHANGED"),
        ("description", "DESCRIPTION_CHANGED"),
        ("default", "DEFAULT_CHANGED"),
    ):
        if getattr(original, attribute) != getattr(update, attribute):
            context.add(name)
    comparer = _BY_KIND.get(type(original))
    if comparer is not None:
        comparer(context, original, update)


def _union_covers(context: _Context, original: Schema, update: Schema) -> bool:
    """A plain schema against a combined one (or back): one compatible branch settles it."""
    original_combined = isinstance(original, CombinedSchema)
    update_combined = isinstance(update, CombinedSchema)
    if not original_combined and update_combined:
        if len(update.subschemas) == 1:
            return _try(context, original, update.subschemas[0], None)
        if update.criterion in ("anyOf", "oneOf"):
            return any(_try(context, original, branch, "SUM_TYPE_EXTENDED") for branch in update.subschemas)
    elif original_combined and not update_combined:
        if len(original.subschemas) == 1 and _try(context, original.subschemas[0], update, None):
            return True
        if original.criterion == "allOf":
            return any(_try(context, branch, update, "PRODUCT_TYPE_NARROWED") for branch in original.subschemas)
    return False


def _try(context: _Context, original: Schema, update: Schema, then: str | None) -> bool:
    trial = context.child()
    _compare(trial, original, update)
    if not trial.compatible():
        return False
    context.extend(trial.changes)
    if then:
        context.add(then)
    return True


def _compare_bounds(context: _Context, keyword: str, original: Any, update: Any, stem: str) -> None:
    """The ADDED / REMOVED / INCREASED / DECREASED family of one numeric keyword."""
    if original == update:
        return
    if original is None:
        context.add(f"{stem}_ADDED", keyword)
    elif update is None:
        context.add(f"{stem}_REMOVED", keyword)
    elif original < update:
        context.add(f"{stem}_INCREASED", keyword)
    elif original > update:
        context.add(f"{stem}_DECREASED", keyword)


def _compare_string(context: _Context, original: StringSchema, update: StringSchema) -> None:
    _compare_bounds(context, "maxLength", original.max_length, update.max_length, "MAX_LENGTH")
    _compare_bounds(context, "minLength", original.min_length, update.min_length, "MIN_LENGTH")
    if original.pattern is None and update.pattern is not None:
        context.add("PATTERN_ADDED", "pattern")
    elif original.pattern is not None and update.pattern is None:
        context.add("PATTERN_REMOVED", "pattern")
    elif original.pattern != update.pattern:
        context.add("PATTERN_CHANGED", "pattern")


def _compare_number(context: _Context, original: NumberSchema, update: NumberSchema) -> None:
    _compare_bounds(context, "maximum", original.maximum, update.maximum, "MAXIMUM")
    _compare_bounds(context, "minimum", original.minimum, update.minimum, "MINIMUM")
    _compare_bounds(
        context, "exclusiveMaximum", original.exclusive_maximum, update.exclusive_maximum, "EXCLUSIVE_MAXIMUM"
    )
    _compare_bounds(
        context, "exclusiveMinimum", original.exclusive_minimum, update.exclusive_minimum, "EXCLUSIVE_MINIMUM"
    )
    before, after = original.multiple_of, update.multiple_of
    if before != after:
        if before is None:
            context.add("MULTIPLE_OF_ADDED", "multipleOf")
        elif after is None:
            context.add("MULTIPLE_OF_REMOVED", "multipleOf")
        elif _divides(before, after):
            context.add("MULTIPLE_OF_EXPANDED", "multipleOf")
        elif _divides(after, before):
            context.add("MULTIPLE_OF_REDUCED", "multipleOf")
        else:
            context.add("MULTIPLE_OF_CHANGED", "multipleOf")
    if original.requires_integer != update.requires_integer:
        context.add("TYPE_EXTENDED" if original.requires_integer else "TYPE_NARROWED")


def _divides(divisor: float, number: float) -> bool:
    divisor_exact = Decimal(str(divisor))
    return divisor_exact != 0 and Decimal(str(number)) % divisor_exact == 0


def _compare_enum(context: _Context, original: EnumSchema, update: EnumSchema) -> None:
    if original.values == update.values:
        return
    if update.values >= original.values:
        context.add("ENUM_ARRAY_EXTENDED", "enum")
    elif original.values >= update.values:
        context.add("ENUM_ARRAY_NARROWED", "enum")
    else:
        context.add("ENUM_ARRAY_CHANGED", "enum")


def _compare_const(context: _Context, original: ConstSchema, update: ConstSchema) -> None:
    if original.value != update.value:
        context.add("ENUM_ARRAY_CHANGED", "const")


def _compare_not(context: _Context, original: NotSchema, update: NotSchema) -> None:
    with context.enter("not"):
        trial = context.child()
        # Reversed on purpose: `not A` accepts more than `not B` exactly when B accepts more than A.
        _compare(trial, update.must_not_match, original.must_not_match)
        context.add("NOT_TYPE_NARROWED" if trial.compatible() else "NOT_TYPE_EXTENDED")


def _compare_combined(context: _Context, original: CombinedSchema, update: CombinedSchema) -> None:
    if _compare_criteria(context, original, update) == "COMBINED_TYPE_CHANGED":
        return
    originals = _distinct(original.subschemas)
    updates = _distinct(update.subschemas)
    if len(originals) != len(updates):
        product = update.criterion == "allOf"
        growing = len(originals) < len(updates)
        context.add(f"{'PRODUCT' if product else 'SUM'}_TYPE_{'EXTENDED' if growing else 'NARROWED'}")
    edges: dict[tuple[int, int], list[Change]] = {}
    for i, original_branch in enumerate(originals):
        with context.enter(f"{original.criterion}/{i}"):
            for j, update_branch in enumerate(updates):
                trial = context.child()
                _compare(trial, original_branch, update_branch)
                if trial.compatible():
                    edges[(i, j)] = trial.changes
    matching = _maximum_matching(len(originals), len(updates), edges)
    for i, j in sorted(matching.items()):
        context.extend(edges[(i, j)])
    if len(matching) < min(len(originals), len(updates)):
        context.add("COMBINED_TYPE_SUBSCHEMAS_CHANGED")


def _compare_criteria(context: _Context, original: CombinedSchema, update: CombinedSchema) -> str | None:
    before, after = original.criterion, update.criterion
    if before == after:
        return None
    if after == "anyOf":
        change = "COMBINED_TYPE_EXTENDED"
    elif after == "oneOf":
        change = "COMBINED_TYPE_EXTENDED" if len(original.subschemas) == 1 else "COMBINED_TYPE_CHANGED"
    elif len(original.subschemas) == 1 and len(update.subschemas) == 1:
        change = "COMBINED_TYPE_EXTENDED"
    else:
        change = "COMBINED_TYPE_CHANGED"
    context.add(change)
    return change


def _distinct(schemas: list[Schema]) -> list[Schema]:
    """Subschemas with duplicates collapsed, first occurrence kept (Confluent keeps a set of them)."""
    seen: dict[tuple[str, str], Schema] = {}
    for schema in schemas:
        seen.setdefault((schema.kind, canonical(schema.raw)), schema)
    return list(seen.values())


def _maximum_matching(left: int, right: int, edges: dict[tuple[int, int], Any]) -> dict[int, int]:
    """A maximum bipartite matching (augmenting paths): which original branch each update branch stands for."""
    neighbours = {i: [j for j in range(right) if (i, j) in edges] for i in range(left)}
    owner: dict[int, int] = {}

    def augment(i: int, visited: set[int]) -> bool:
        for j in neighbours[i]:
            if j in visited:
                continue
            visited.add(j)
            if j not in owner or augment(owner[j], visited):
                owner[j] = i
                return True
        return False

    for i in range(left):
        augment(i, set())
    return {i: j for j, i in owner.items()}


def _compare_object(context: _Context, original: ObjectSchema, update: ObjectSchema) -> None:
    _compare_required(context, original, update)
    _compare_properties(context, original, update)
    _compare_dependencies(context, original, update)
    _compare_additional(context, "additionalProperties", "ADDITIONAL_PROPERTIES", original, update)
    _compare_bounds(context, "maxProperties", original.max_properties, update.max_properties, "MAX_PROPERTIES")
    _compare_bounds(context, "minProperties", original.min_properties, update.min_properties, "MIN_PROPERTIES")


def _compare_required(context: _Context, original: ObjectSchema, update: ObjectSchema) -> None:
    with context.enter("required"):
        for name in hash_map_order(original.properties) if len(original.properties) > 1 else original.properties:
            if name not in update.properties:
                continue
            was, now = name in original.required, name in update.required
            if was and not now:
                context.add("REQUIRED_ATTRIBUTE_REMOVED", _key(name))
            elif now and not was:
                with_default = update.properties[name].default is not None
                context.add(
                    "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED" if with_default else "REQUIRED_ATTRIBUTE_ADDED", _key(name)
                )


def _property_order(original: dict[str, Any], update: dict[str, Any]) -> list[str]:
    if len(original) + len(update) <= 1:
        return [*original, *update]  # no order to reproduce (and the common case of no dependencies)
    return hash_set_union_order(hash_map_order(original), hash_map_order(update))


def _compare_properties(context: _Context, original: ObjectSchema, update: ObjectSchema) -> None:
    with context.enter("properties"):
        for name in _property_order(original.properties, update.properties):
            with context.enter(_key(name)):
                before, after = original.properties.get(name), update.properties.get(name)
                if after is None:
                    _property_removed(context, before, update, name)
                elif before is None:
                    _property_added(context, after, original, update, name)
                else:
                    _compare(context, before, after)


def _property_removed(context: _Context, before: Schema, update: ObjectSchema, name: str) -> None:
    if _is_open(update):
        context.add("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL")
        return
    covering = _partial_schema(update, name)
    if covering is not None:
        covered = _covered(context, before, covering)
        context.add(f"PROPERTY_REMOVED_{'IS' if covered else 'NOT'}_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
    elif _resolved(before).kind == "false":
        context.add("PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL")
    else:
        context.add("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL")


def _property_added(context: _Context, after: Schema, original: ObjectSchema, update: ObjectSchema, name: str) -> None:
    required = name in update.required
    with_default = after.default is not None
    if _is_open(original):
        if _resolved(after).kind in _EMPTY_KINDS:
            context.add("PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL")
        elif required:
            context.add(f"REQUIRED_PROPERTY{'_WITH_DEFAULT' if with_default else ''}_ADDED_TO_OPEN_CONTENT_MODEL")
        else:
            context.add("OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL")
        return
    covering = _partial_schema(original, name)
    if covering is not None:
        covered = _covered(context, covering, after)
        context.add(f"PROPERTY_ADDED_{'IS' if covered else 'NOT'}_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
    if required:
        context.add(f"REQUIRED_PROPERTY{'_WITH_DEFAULT' if with_default else ''}_ADDED_TO_UNOPEN_CONTENT_MODEL")
    else:
        context.add("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL")


def _covered(context: _Context, original: Schema, update: Schema) -> bool:
    """Compare a property or item with the schema an open part of the other side gives it; keep the changes."""
    trial = context.child()
    _compare(trial, original, update)
    context.extend(trial.changes)
    return trial.compatible()


def _is_open(schema: ObjectSchema) -> bool:
    return not schema.pattern_properties and schema.additional is None and schema.permits_additional


def _partial_schema(schema: ObjectSchema, name: str) -> Schema | None:
    for pattern, pattern_schema in schema.pattern_properties:
        if pattern.search(name):
            return pattern_schema
    return schema.additional


def _compare_dependencies(context: _Context, original: ObjectSchema, update: ObjectSchema) -> None:
    with context.enter("dependencies"):
        before_arrays, after_arrays = original.property_dependencies, update.property_dependencies
        for name in _property_order(before_arrays, after_arrays):
            before, after = before_arrays.get(name), after_arrays.get(name)
            if after is None:
                context.add("DEPENDENCY_ARRAY_REMOVED", _key(name))
            elif before is None:
                context.add("DEPENDENCY_ARRAY_ADDED", _key(name))
            elif before != after:
                if after >= before:
                    context.add("DEPENDENCY_ARRAY_EXTENDED", _key(name))
                elif before >= after:
                    context.add("DEPENDENCY_ARRAY_NARROWED", _key(name))
                else:
                    context.add("DEPENDENCY_ARRAY_CHANGED", _key(name))
        before_schemas, after_schemas = original.schema_dependencies, update.schema_dependencies
        for name in _property_order(before_schemas, after_schemas):
            before, after = before_schemas.get(name), after_schemas.get(name)
            if after is None:
                context.add("DEPENDENCY_SCHEMA_REMOVED", _key(name))
            elif before is None:
                context.add("DEPENDENCY_SCHEMA_ADDED", _key(name))
            else:
                with context.enter(_key(name)):
                    _compare(context, before, after)


def _compare_additional(
    context: _Context,
    keyword: str,
    codes: str,
    original: ObjectSchema | ArraySchema,
    update: ObjectSchema | ArraySchema,
) -> None:
    """additionalProperties or additionalItems (`keyword`), reported as `codes`_ADDED, _REMOVED, _NARROWED
    or _EXTENDED: whether more is allowed at all, then whether a schema for it appeared or went."""
    with context.enter(keyword):
        if original.permits_additional != update.permits_additional:
            context.add(f"{codes}_ADDED" if update.permits_additional else f"{codes}_REMOVED")
        elif original.additional is None and update.additional is not None:
            context.add(f"{codes}_NARROWED")
        elif update.additional is None and original.additional is not None:
            context.add(f"{codes}_EXTENDED")
        else:
            _compare(context, original.additional, update.additional)


def _compare_array(context: _Context, original: ArraySchema, update: ArraySchema) -> None:
    with context.enter("items"):
        _compare(context, original.all_items, update.all_items)
    _compare_tuple(context, original, update)
    _compare_additional(context, "additionalItems", "ADDITIONAL_ITEMS", original, update)
    _compare_unevaluated_items(context, original, update)
    _compare_bounds(context, "maxItems", original.max_items, update.max_items, "MAX_ITEMS")
    _compare_bounds(context, "minItems", original.min_items, update.min_items, "MIN_ITEMS")
    if original.unique_items != update.unique_items:
        context.add("UNIQUE_ITEMS_REMOVED" if original.unique_items else "UNIQUE_ITEMS_ADDED", "uniqueItems")
    _compare_bounds(context, "maxContains", original.max_contains, update.max_contains, "MAX_CONTAINS")
    _compare_bounds(context, "minContains", original.min_contains, update.min_contains, "MIN_CONTAINS")


def _compare_tuple(context: _Context, original: ArraySchema, update: ArraySchema) -> None:
    before, after = original.item_schemas or [], update.item_schemas or []
    for index, item in enumerate(before):
        with context.enter(f"items/{index}"):
            if index < len(after):
                _compare(context, item, after[index])
            else:
                _item_removed(context, item, update)
    for index in range(len(before), len(after)):
        with context.enter(f"items/{index}"):
            _item_added(context, after[index], original)


def _item_removed(context: _Context, item: Schema, update: ArraySchema) -> None:
    if _is_open_array(update):
        context.add("ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL")
        return
    covering = _partial_items(update)
    if covering is not None:
        covered = _covered(context, item, covering)
        context.add(f"ITEM_REMOVED_{'IS' if covered else 'NOT'}_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
    elif _resolved(item).kind == "false":
        context.add("ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL")
    else:
        context.add("ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL")


def _item_added(context: _Context, item: Schema, original: ArraySchema) -> None:
    if _is_open_array(original):
        empty = _resolved(item).kind in _EMPTY_KINDS
        context.add(
            "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL" if empty else "ITEM_ADDED_TO_OPEN_CONTENT_MODEL"
        )
        return
    covering = _partial_items(original)
    if covering is not None:
        covered = _covered(context, covering, item)
        context.add(f"ITEM_ADDED_{'IS' if covered else 'NOT'}_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
    else:
        context.add("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL")


def _is_open_array(schema: ArraySchema) -> bool:
    if not schema.permits_additional or schema.additional is not None:
        return False
    return schema.unevaluated is None or _resolved(schema.unevaluated).kind in _EMPTY_KINDS


def _partial_items(schema: ArraySchema) -> Schema | None:
    if schema.additional is not None:
        return schema.additional
    if schema.permits_additional and schema.unevaluated is not None:
        unevaluated = _resolved(schema.unevaluated)
        if unevaluated.kind not in (*_EMPTY_KINDS, "false"):
            return unevaluated
    return None


def _compare_unevaluated_items(context: _Context, original: ArraySchema, update: ArraySchema) -> None:
    before, after = _resolved(original.unevaluated), _resolved(update.unevaluated)
    if before is None and after is None:
        return
    with context.enter("unevaluatedItems"):
        if before is None:
            context.add("UNEVALUATED_ITEMS_REMOVED" if after.kind == "false" else "UNEVALUATED_ITEMS_NARROWED")
        elif after is None:
            context.add("UNEVALUATED_ITEMS_ADDED" if before.kind == "false" else "UNEVALUATED_ITEMS_EXTENDED")
        elif before.kind == "false" and after.kind != "false":
            context.add("UNEVALUATED_ITEMS_ADDED")
        elif before.kind != "false" and after.kind == "false":
            context.add("UNEVALUATED_ITEMS_REMOVED")
        elif before.kind in _EMPTY_KINDS and after.kind not in _EMPTY_KINDS:
            context.add("UNEVALUATED_ITEMS_NARROWED")
        elif before.kind not in _EMPTY_KINDS and after.kind in _EMPTY_KINDS:
            context.add("UNEVALUATED_ITEMS_EXTENDED")
        else:
            _compare(context, before, after)


_BY_KIND = {
    StringSchema: _compare_string,
    NumberSchema: _compare_number,
    ConstSchema: _compare_const,
    EnumSchema: _compare_enum,
    CombinedSchema: _compare_combined,
    NotSchema: _compare_not,
    ObjectSchema: _compare_object,
    ArraySchema: _compare_array,
}
