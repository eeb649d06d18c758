"""Read a JSON Schema document into a typed tree the compatibility checker walks.

The shape follows the schema model Confluent Schema Registry checks against (everit-json-schema), because
the checker's verdicts and change names depend on it: a schema with keywords of several kinds (``type``
plus ``enum``, ``allOf`` plus ``properties``) becomes a synthetic ``allOf`` of one part per kind, a ``type``
array becomes an ``anyOf`` of one schema per type, and keywords without ``type`` imply their type.

Draft-07 and 2020-12 keywords are both read: ``items`` as an array or ``prefixItems`` for tuples,
``dependencies`` or ``dependentRequired``/``dependentSchemas``, ``definitions`` or ``$defs``. ``$ref``
resolves JSON pointers within the document (cycles are fine: a reference is resolved when compared).
Loading is bounded: a document deeper or larger than the limits is refused, not walked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidSchema

MAX_DEPTH = 64
MAX_NODES = 5000

_STRING_KEYWORDS = ("minLength", "maxLength", "pattern", "format")
_NUMBER_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
_OBJECT_KEYWORDS = (
    "properties",
    "additionalProperties",
    "patternProperties",
    "required",
    "minProperties",
    "maxProperties",
    "dependencies",
    "dependentRequired",
    "dependentSchemas",
    "propertyNames",
)
_ARRAY_KEYWORDS = ("items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems", "contains")
_TYPES = ("string", "number", "integer", "boolean", "null", "object", "array")
_COMBINERS = (("allOf", "allOf"), ("anyOf", "anyOf"), ("oneOf", "oneOf"))


def canonical(value: Any) -> str:
    """A value's identity as JSON sees it: ``1`` and ``1.0`` and ``true`` stay three different values."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(eq=False)
class Schema:
    kind: str
    raw: Any
    id: str | None = None
    title: str | None = None
    description: str | None = None
    default: str | None = None  # canonical JSON of the default, None when absent


@dataclass(eq=False)
class StringSchema(Schema):
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None


@dataclass(eq=False)
class NumberSchema(Schema):
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    multiple_of: float | None = None
    requires_integer: bool = False


@dataclass(eq=False)
class EnumSchema(Schema):
    values: frozenset[str] = frozenset()


@dataclass(eq=False)
class ConstSchema(Schema):
    value: str = ""


@dataclass(eq=False)
class CombinedSchema(Schema):
    criterion: str = "allOf"
    subschemas: list[Schema] = field(default_factory=list)


@dataclass(eq=False)
class NotSchema(Schema):
    must_not_match: Schema | None = None


@dataclass(eq=False)
class ObjectSchema(Schema):
    properties: dict[str, Schema] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    permits_additional: bool = True
    additional: Schema | None = None
    pattern_properties: list[tuple[re.Pattern[str], Schema]] = field(default_factory=list)
    property_dependencies: dict[str, frozenset[str]] = field(default_factory=dict)
    schema_dependencies: dict[str, Schema] = field(default_factory=dict)
    min_properties: int | None = None
    max_properties: int | None = None


@dataclass(eq=False)
class ArraySchema(Schema):
    all_items: Schema | None = None
    item_schemas: list[Schema] | None = None
    permits_additional: bool = True
    additional: Schema | None = None
    unevaluated: Schema | None = None
    min_items: int | None = None
    max_items: int | None = None
    unique_items: bool = False
    min_contains: int | None = None
    max_contains: int | None = None


@dataclass(eq=False)
class ReferenceSchema(Schema):
    pointer: str = ""
    loader: _Loader | None = None

    def target(self) -> Schema:
        return self.loader.resolve(self.pointer)


def load_schema(document: Any) -> Schema:
    """The typed tree of a JSON Schema document (an object or a boolean); ``InvalidSchema`` says where it is wrong."""
    if not isinstance(document, dict | bool):
        raise InvalidSchema("", "a schema must be a JSON object or a boolean")
    return _Loader(document).load(document, "", 0)


class _Loader:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.nodes = 0
        self.by_pointer: dict[str, Schema] = {}
        self.resolving: set[str] = set()

    def resolve(self, pointer: str) -> Schema:
        """The schema a local ``$ref`` names, loaded once; a chain of references that loops is refused."""
        if pointer in self.by_pointer:
            return self.by_pointer[pointer]
        if pointer in self.resolving:
            raise InvalidSchema(pointer, "$ref refers to itself without any schema in between")
        self.resolving.add(pointer)
        try:
            node = self._at(pointer)
            schema = self.load(node, pointer, 0)
            while isinstance(schema, ReferenceSchema):
                schema = schema.target()
        finally:
            self.resolving.discard(pointer)
        self.by_pointer[pointer] = schema
        return schema

    def _at(self, pointer: str) -> Any:
        node = self.root
        for part in pointer.split("/")[1:] if pointer else []:
            key = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                raise InvalidSchema(pointer, "$ref points at nothing in this schema")
        return node

    def load(self, node: Any, path: str, depth: int) -> Schema:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise InvalidSchema(path, f"schema has more than {MAX_NODES} subschemas")
        if depth > MAX_DEPTH:
            raise InvalidSchema(path, f"schema is nested more than {MAX_DEPTH} levels deep")
        if node is True:
            return Schema("true", node)
        if node is False:
            return Schema("false", node)
        if not isinstance(node, dict):
            raise InvalidSchema(path, "a schema must be a JSON object or a boolean")
        if "$ref" in node:
            return self._reference(node, path)
        parts = self._parts(node, path, depth)
        if not parts:
            schema = Schema("empty", node)
        elif len(parts) == 1:
            schema = parts[0]
        else:
            schema = CombinedSchema("combined", node, criterion="allOf", subschemas=parts)
        return _annotate(schema, node, path)

    def _reference(self, node: dict, path: str) -> Schema:
        ref = node["$ref"]
        if not isinstance(ref, str):
            raise InvalidSchema(f"{path}/$ref", "$ref must be a string")
        if ref == "#":
            pointer = ""
        elif ref.startswith("#/"):
            pointer = ref[1:]
        else:
            raise InvalidSchema(f"{path}/$ref", "only local references (#/...) are supported")
        self._at(pointer)
        return ReferenceSchema("ref", node, pointer=pointer, loader=self)

    def _parts(self, node: dict, path: str, depth: int) -> list[Schema]:
        parts: list[Schema] = []
        for keyword, criterion in _COMBINERS:
            if keyword in node:
                subschemas = self._list(node[keyword], f"{path}/{keyword}", depth)
                if not subschemas:
                    raise InvalidSchema(f"{path}/{keyword}", f"{keyword} must be a non-empty array of schemas")
                parts.append(CombinedSchema("combined", node[keyword], criterion=criterion, subschemas=subschemas))
        if "not" in node:
            parts.append(NotSchema("not", node["not"], must_not_match=self.load(node["not"], f"{path}/not", depth + 1)))
        if "enum" in node:
            if not isinstance(node["enum"], list):
                raise InvalidSchema(f"{path}/enum", "enum must be an array")
            parts.append(EnumSchema("enum", node["enum"], values=frozenset(canonical(v) for v in node["enum"])))
        if "const" in node:
            parts.append(ConstSchema("const", node["const"], value=canonical(node["const"])))
        parts.extend(self._typed(node, path, depth))
        return parts

    def _typed(self, node: dict, path: str, depth: int) -> list[Schema]:
        declared = node.get("type")
        if declared is None:
            implied = [
                kind
                for kind, keywords in (
                    ("string", _STRING_KEYWORDS),
                    ("number", _NUMBER_KEYWORDS),
                    ("object", _OBJECT_KEYWORDS),
                    ("array", _ARRAY_KEYWORDS),
                )
                if any(keyword in node for keyword in keywords)
            ]
            return [self._of_type(kind, node, path, depth) for kind in implied]
        if isinstance(declared, str):
            return [self._of_type(_checked_type(declared, path), node, path, depth)]
        if isinstance(declared, list) and declared and all(isinstance(t, str) for t in declared):
            subschemas = [self._of_type(_checked_type(t, path), node, path, depth) for t in declared]
            return [CombinedSchema("combined", declared, criterion="anyOf", subschemas=subschemas)]
        raise InvalidSchema(f"{path}/type", "type must be a type name or a non-empty array of type names")

    def _of_type(self, kind: str, node: dict, path: str, depth: int) -> Schema:
        if kind == "string":
            return StringSchema(
                "string",
                node,
                min_length=_integer(node, "minLength", path),
                max_length=_integer(node, "maxLength", path),
                pattern=_pattern_text(node, path),
            )
        if kind in ("number", "integer"):
            return NumberSchema(
                "number",
                node,
                minimum=_number(node, "minimum", path),
                maximum=_number(node, "maximum", path),
                exclusive_minimum=_number(node, "exclusiveMinimum", path),
                exclusive_maximum=_number(node, "exclusiveMaximum", path),
                multiple_of=_number(node, "multipleOf", path),
                requires_integer=kind == "integer" or node.get("type") == "integer",
            )
        if kind == "object":
            return self._object(node, path, depth)
        if kind == "array":
            return self._array(node, path, depth)
        return Schema(kind, node)

    def _object(self, node: dict, path: str, depth: int) -> ObjectSchema:
        schema = ObjectSchema("object", node)
        schema.properties = self._map(node.get("properties", {}), f"{path}/properties", depth)
        required = node.get("required", [])
        if not isinstance(required, list) or not all(isinstance(name, str) for name in required):
            raise InvalidSchema(f"{path}/required", "required must be an array of property names")
        schema.required = frozenset(required)
        additional = node.get("additionalProperties")
        if isinstance(additional, bool):
            schema.permits_additional = additional
        elif additional is not None:
            schema.additional = self.load(additional, f"{path}/additionalProperties", depth + 1)
        for source, pattern_schema in self._map(
            node.get("patternProperties", {}), f"{path}/patternProperties", depth
        ).items():
            schema.pattern_properties.append((_compile(source, f"{path}/patternProperties"), pattern_schema))
        for keyword in ("dependencies", "dependentRequired", "dependentSchemas"):
            dependencies = node.get(keyword, {})
            if not isinstance(dependencies, dict):
                raise InvalidSchema(f"{path}/{keyword}", f"{keyword} must be an object")
            for name, dependency in dependencies.items():
                if isinstance(dependency, list) and keyword != "dependentSchemas":
                    schema.property_dependencies[name] = frozenset(str(d) for d in dependency)
                elif keyword != "dependentRequired":
                    where = f"{path}/{keyword}/{_escape(name)}"
                    schema.schema_dependencies[name] = self.load(dependency, where, depth + 1)
                else:
                    raise InvalidSchema(f"{path}/{keyword}/{_escape(name)}", "must be an array of property names")
        schema.min_properties = _integer(node, "minProperties", path)
        schema.max_properties = _integer(node, "maxProperties", path)
        return schema

    def _array(self, node: dict, path: str, depth: int) -> ArraySchema:
        schema = ArraySchema("array", node)
        items = node.get("items")
        if "prefixItems" in node:
            # 2020-12: prefixItems is the tuple and items covers the rest, as additionalItems did before.
            schema.item_schemas = self._list(node["prefixItems"], f"{path}/prefixItems", depth)
            self._additional_items(schema, items, f"{path}/items", depth)
        elif isinstance(items, list):
            schema.item_schemas = self._list(items, f"{path}/items", depth)
        elif items is not None:
            schema.all_items = self.load(items, f"{path}/items", depth + 1)
        if "additionalItems" in node and "prefixItems" not in node:
            self._additional_items(schema, node["additionalItems"], f"{path}/additionalItems", depth)
        if "unevaluatedItems" in node:
            schema.unevaluated = self.load(node["unevaluatedItems"], f"{path}/unevaluatedItems", depth + 1)
        schema.min_items = _integer(node, "minItems", path)
        schema.max_items = _integer(node, "maxItems", path)
        schema.unique_items = node.get("uniqueItems") is True
        schema.min_contains = _integer(node, "minContains", path)
        schema.max_contains = _integer(node, "maxContains", path)
        return schema

    def _additional_items(self, schema: ArraySchema, value: Any, path: str, depth: int) -> None:
        if isinstance(value, bool):
            schema.permits_additional = value
        elif value is not None:
            schema.additional = self.load(value, path, depth + 1)

    def _list(self, value: Any, path: str, depth: int) -> list[Schema]:
        if not isinstance(value, list):
            raise InvalidSchema(path, "must be an array of schemas")
        return [self.load(item, f"{path}/{index}", depth + 1) for index, item in enumerate(value)]

    def _map(self, value: Any, path: str, depth: int) -> dict[str, Schema]:
        if not isinstance(value, dict):
            raise InvalidSchema(path, "must be an object of schemas")
        return {name: self.load(item, f"{path}/{_escape(name)}", depth + 1) for name, item in value.items()}


def _annotate(schema: Schema, node: dict, path: str) -> Schema:
    for attribute, keyword in (("id", "$id"), ("title", "title"), ("description", "description")):
        value = node.get(keyword, node.get("id") if keyword == "$id" else None)
        if value is not None and not isinstance(value, str):
            raise InvalidSchema(f"{path}/{keyword}", f"{keyword} must be a string")
        setattr(schema, attribute, value)
    if "default" in node:
        schema.default = canonical(node["default"])
    return schema


def _checked_type(name: str, path: str) -> str:
    if name not in _TYPES:
        raise InvalidSchema(f"{path}/type", f"unknown type {name!r} (expected one of {', '.join(_TYPES)})")
    return name


def _integer(node: dict, keyword: str, path: str) -> int | None:
    value = node.get(keyword)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or value < 0:
        raise InvalidSchema(f"{path}/{keyword}", f"{keyword} must be a non-negative integer")
    return int(value)


def _number(node: dict, keyword: str, path: str) -> float | None:
    value = node.get(keyword)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidSchema(f"{path}/{keyword}", f"{keyword} must be a number")
    return value


def _pattern_text(node: dict, path: str) -> str | None:
    value = node.get("pattern")
    if value is not None and not isinstance(value, str):
        raise InvalidSchema(f"{path}/pattern", "pattern must be a string")
    return value


def _compile(source: str, path: str) -> re.Pattern[str]:
    try:
        return re.compile(source)
    except re.error as error:
        raise InvalidSchema(path, f"invalid regular expression {source!r}: {error}") from None


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")
