"""Code bindings: Python dataclasses and TypeScript interfaces for the detail a JSON Schema describes.

    python_bindings(document, "OrderPlaced")       # -> source of a module of @dataclass classes
    typescript_bindings(document, "OrderPlaced")   # -> source of exported interfaces

Each object with ``properties`` becomes a named type (nested ones are named after their property, local
``$ref`` targets after their definition); ``enum``/``const`` become literal types, ``anyOf``/``oneOf`` and
type arrays unions, ``additionalProperties`` a mapping. What JSON Schema can say but a type cannot (a
pattern, a minimum) is left to validation. The walk is bounded: references are named once, so recursive
schemas end, and nesting deeper than ``MAX_DEPTH`` is typed as "any".
"""

import json
import keyword
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidSchema
from .loader import load_schema

MAX_DEPTH = 32


@dataclass
class _Field:
    json_name: str
    type: str
    required: bool


@dataclass
class _Language:
    any: str
    never: str
    primitives: dict[str, str]
    null: str

    def literal(self, value: Any) -> str:
        raise NotImplementedError

    def union(self, members: list[str]) -> str:
        raise NotImplementedError

    def array(self, item: str) -> str:
        raise NotImplementedError

    def tuple(self, items: list[str]) -> str:
        raise NotImplementedError

    def mapping(self, value: str) -> str:
        raise NotImplementedError


class _Python(_Language):
    def __init__(self) -> None:
        super().__init__(
            "Any", "NoReturn", {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}, "None"
        )

    def literal(self, value: Any) -> str:
        return f"Literal[{value!r}]" if not isinstance(value, dict | list) else self.any

    def union(self, members: list[str]) -> str:
        return " | ".join(dict.fromkeys(members))

    def array(self, item: str) -> str:
        return f"list[{item}]"

    def tuple(self, items: list[str]) -> str:
        return f"tuple[{', '.join(items)}]" if items else "tuple[()]"

    def mapping(self, value: str) -> str:
        return f"dict[str, {value}]"


class _TypeScript(_Language):
    def __init__(self) -> None:
        super().__init__(
            "unknown",
            "never",
            {"string": "string", "integer": "number", "number": "number", "boolean": "boolean"},
            "null",
        )

    def literal(self, value: Any) -> str:
        return json.dumps(value) if not isinstance(value, dict | list) else self.any

    def union(self, members: list[str]) -> str:
        return " | ".join(dict.fromkeys(members))

    def array(self, item: str) -> str:
        return f"{item}[]" if re.fullmatch(r"[\w.]+", item) else f"Array<{item}>"

    def tuple(self, items: list[str]) -> str:
        return f"[{', '.join(items)}]"

    def mapping(self, value: str) -> str:
        return f"Record<string, {value}>"


@dataclass
class _Types:
    """The named types met while walking a schema, in the order they were first named."""

    root: Any
    language: _Language
    classes: dict[str, list[_Field]] = field(default_factory=dict)
    by_pointer: dict[str, str] = field(default_factory=dict)

    def name(self, hint: str) -> str:
        base = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", hint) if part) or "Type"
        if base[0].isdigit():
            base = "T" + base
        name, n = base, 2
        while name in self.classes:
            name, n = f"{base}{n}", n + 1
        return name

    def type_of(self, schema: Any, hint: str, depth: int = 0) -> str:
        language = self.language
        if depth > MAX_DEPTH or schema is True or schema == {}:
            return language.any
        if schema is False:
            return language.never
        if not isinstance(schema, dict):
            raise InvalidSchema("", "a schema must be a JSON object or a boolean")
        if isinstance(schema.get("$ref"), str):
            return self._reference(schema["$ref"], depth)
        if "const" in schema:
            return language.literal(schema["const"])
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return language.union([language.literal(v) for v in schema["enum"]])
        for combiner in ("anyOf", "oneOf"):
            if isinstance(schema.get(combiner), list) and schema[combiner]:
                return language.union([self.type_of(s, hint, depth + 1) for s in schema[combiner]])
        if isinstance(schema.get("allOf"), list) and len(schema["allOf"]) == 1 and "type" not in schema:
            return self.type_of(schema["allOf"][0], hint, depth + 1)
        declared = schema.get("type")
        if isinstance(declared, list) and declared:
            return language.union([self.type_of({**schema, "type": t}, hint, depth + 1) for t in declared])
        if declared is None:
            if "properties" in schema or "additionalProperties" in schema:
                declared = "object"
            elif "items" in schema or "prefixItems" in schema:
                declared = "array"
            else:
                return language.any
        if not isinstance(declared, str):
            return language.any
        if declared == "null":
            return language.null
        if declared in language.primitives:
            return language.primitives[declared]
        if declared == "array":
            return self._array(schema, hint, depth)
        if declared == "object":
            return self._object(schema, hint, depth)
        return language.any

    def root_type(self, root_name: str) -> str:
        """The root's type; an object root is named first, so a ``$ref`` to "#" inside it is that name."""
        if isinstance(self.root, dict) and ("properties" in self.root or self.root.get("type") == "object"):
            name = self.by_pointer[""] = self.name(root_name)
            return self._object(self.root, name, 0, fixed_name=name)
        return self.type_of(self.root, root_name)

    def _reference(self, ref: str, depth: int) -> str:
        if not ref.startswith("#"):
            raise InvalidSchema("", f"only local references (#/...) are supported, not {ref!r}")
        pointer = ref[1:]
        if pointer in self.by_pointer:
            return self.by_pointer[pointer]
        target: Any = self.root
        for part in pointer.split("/")[1:] if pointer else []:
            key = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or key not in target:
                raise InvalidSchema(pointer, "$ref points at nothing in this schema")
            target = target[key]
        name = self.name(pointer.rsplit("/", 1)[-1] or "Root")
        if isinstance(target, dict) and ("properties" in target or target.get("type") == "object"):
            # Named before it is walked, so a reference back to it inside is the name: recursion ends.
            self.by_pointer[pointer] = name
            return self._object(target, name, depth + 1, fixed_name=name)
        self.by_pointer[pointer] = self.language.any  # a reference cycle through non-objects: typed as any
        resolved = self.type_of(target, name, depth + 1)
        self.by_pointer[pointer] = resolved
        return resolved

    def _array(self, schema: dict, hint: str, depth: int) -> str:
        tuple_items = schema.get("prefixItems", schema.get("items") if isinstance(schema.get("items"), list) else None)
        if isinstance(tuple_items, list):
            return self.language.tuple([self.type_of(s, f"{hint}Item", depth + 1) for s in tuple_items])
        return self.language.array(self.type_of(schema.get("items", True), f"{hint}Item", depth + 1))

    def _object(self, schema: dict, hint: str, depth: int, fixed_name: str | None = None) -> str:
        properties = schema.get("properties")
        if not isinstance(properties, dict) or not properties:
            additional = schema.get("additionalProperties", True)
            value = self.type_of(additional if additional is not False else True, f"{hint}Value", depth + 1)
            return self.language.mapping(value)
        name = fixed_name or self.name(hint)
        self.classes[name] = []
        required = schema.get("required") if isinstance(schema.get("required"), list) else []
        self.classes[name] = [
            _Field(key, self.type_of(sub, f"{name}_{key}", depth + 1), key in required)
            for key, sub in properties.items()
        ]
        return name


def _header(comment: str, title: str) -> str:
    return (
        f"{comment} {title}\n{comment} Generated by EventHub from the registered JSON Schema: regenerate, do not edit."
    )


def python_bindings(document: Any, root_name: str, title: str = "") -> str:
    """A module of dataclasses, the root one named after ``root_name``; optional fields default to None."""
    load_schema(document)  # the same checks as the registry: a document it refuses has no bindings
    types = _Types(document, _Python())
    root = types.root_type(root_name)
    lines = [_header("#", title or root_name), "", "from __future__ import annotations", ""]
    lines += ["from dataclasses import dataclass", "from typing import Any, Literal, NoReturn"]
    for name, fields in types.classes.items():
        lines += ["", "", "@dataclass", f"class {name}:"]
        ordered = [f for f in fields if f.required] + [f for f in fields if not f.required]
        for item in ordered:
            attribute = _python_name(item.json_name)
            alias = f'  # JSON: "{item.json_name}"' if attribute != item.json_name else ""
            nullable = "None" in item.type.split(" | ")
            optional = "" if item.required else " = None" if nullable else " | None = None"
            lines.append(f"    {attribute}: {item.type}{optional}{alias}")
        if not ordered:
            lines.append("    pass")
    if root not in types.classes:
        lines += ["", "", f"{types.name(root_name)} = {root}"]
    return "\n".join(lines).rstrip() + "\n"


def typescript_bindings(document: Any, root_name: str, title: str = "") -> str:
    """Exported interfaces, the root one named after ``root_name``; optional properties are marked ``?``."""
    load_schema(document)
    types = _Types(document, _TypeScript())
    root = types.root_type(root_name)
    lines = [_header("//", title or root_name)]
    for name, fields in types.classes.items():
        lines += ["", f"export interface {name} {{"]
        for item in fields:
            key = item.json_name if re.fullmatch(r"[A-Za-z_$][\w$]*", item.json_name) else json.dumps(item.json_name)
            lines.append(f"  {key}{'' if item.required else '?'}: {item.type};")
        lines.append("}")
    if root not in types.classes:
        lines += ["", f"export type {types.name(root_name)} = {root};"]
    return "\n".join(lines).rstrip() + "\n"


def _python_name(name: str) -> str:
    cleaned = re.sub(r"\W", "_", name) or "_"
    if cleaned[0].isdigit():
        cleaned = "_" + cleaned
    return cleaned + "_" if keyword.iskeyword(cleaned) else cleaned
