"""Validate an event pattern and compile it, once, into an immutable ``Pattern``.

Validation follows AWS's rule compiler (event-ruler's JsonRuleCompiler) step by step, in document
order, so the first problem reported is the one AWS reports, in AWS's words. Notable AWS behaviours
kept on purpose:

- keys are joined with "." into field paths; if a path is given twice (a repeated key, or
  ``{"a.b": ...}`` next to ``{"a": {"b": ...}}``) the later one replaces the earlier one;
- ``$or`` multiplies out into branches, and inside ``$or`` operator names may not be used as keys;
- an exact string that is an IP address compares as an address;
- numbers in ``numeric`` (and anything-but) must lie within +/-5e9, and a range's bottom must be below
  its top.
"""

import json

from .addresses import ip_key, parse_cidr
from .errors import InvalidPattern
from .jsontext import JsonNumber, JsonObject, parse_pattern_text
from .match import Branch, Condition, Pattern
from .operators import (
    FALSE_KEY,
    NULL_KEY,
    NUMERIC_LIMIT,
    TRUE_KEY,
    AnythingBut,
    Cidr,
    EqualsIgnoreCase,
    Exact,
    Exists,
    Numeric,
    Operator,
    Prefix,
    Suffix,
    Wildcard,
    number_key,
    value_test,
)
from .wildcard import MAX_WILDCARD_COMPLEXITY, parse_wildcard, wildcard_complexity

__all__ = ["MAX_OR_BRANCHES", "MAX_PATTERN_LENGTH", "compile_pattern"]

# TestEventPattern accepts patterns up to 4,096 characters; rules default to 2,048, adjustable to 4,096.
MAX_PATTERN_LENGTH = 4096

# AWS documents no cap on how many branches $or multiplies out to, but 4,096 characters of nested $or
# could ask for 2**100 of them; we refuse beyond this many instead of hanging.
MAX_OR_BRANCHES = 1000

# Names AWS reserves inside $or (event-ruler's Constants.RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP).
_RESERVED_IN_OR = frozenset(
    {
        "exactly",
        "equals-ignore-case",
        "prefix",
        "suffix",
        "anything-but",
        "exists",
        "wildcard",
        "numeric",
        "cidr",
        "html",
        "=",
        "<",
        "<=",
        ">",
        ">=",
        "regex",
        "not-wildcard",
        "not-equals-ignore-case",
        "date-after",
        "date-on-or-after",
        "date-before",
        "date-on-or-before",
        "in-date-range",
        "ip-address-in-range",
        "ip-address-not-in-range",
    }
)

_ONE_KEY = "Only one key allowed in match expression"
_TOO_MANY = "Too many elements in numeric expression"
_OUT_OF_RANGE = "Value must be between -5.0E9 and 5.0E9, inclusive"
_TOO_COMPLEX = (
    "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences "
    "after a wildcard character"
)
_END = object()  # stands for the closing bracket when a numeric array runs out early


def compile_pattern(pattern: str | dict) -> Pattern:
    """Parse and validate a pattern (JSON text, or an already-parsed dict) into a ``Pattern``.

    Raises InvalidPattern. A dict is compiled from ``json.dumps(pattern)``, the text AWS would receive.
    """
    if isinstance(pattern, str):
        text = pattern
    else:
        try:
            text = json.dumps(pattern)
        except (TypeError, ValueError) as error:
            raise InvalidPattern("", f"Event pattern is not JSON: {error}") from None
        except RecursionError:
            raise InvalidPattern("", "Event pattern is nested too deeply") from None
    if len(text) > MAX_PATTERN_LENGTH:
        raise InvalidPattern("", f"Event pattern is longer than {MAX_PATTERN_LENGTH} characters")
    try:
        drafts = _object(parse_pattern_text(text), (), [_Draft()], inside_or=False)
    except RecursionError:  # 4,096 characters can nest deeper than Python's parser and our walk recurse
        raise InvalidPattern("", "Event pattern is nested too deeply") from None
    _check_wildcard_complexity(drafts)
    branches = tuple(
        Branch(tuple(sorted(d.fields.values(), key=lambda c: c.path)), " & ".join(d.labels)) for d in drafts
    )
    paths = frozenset(c.path for branch in branches for c in branch.conditions)
    return Pattern(text, branches, paths, _with_prefixes(paths))


class _Draft:
    """One branch while compiling: field conditions by path (later ones replace earlier ones)."""

    __slots__ = ("fields", "labels")

    def __init__(self, fields: dict[str, Condition] | None = None, labels: tuple[str, ...] = ()) -> None:
        self.fields = fields if fields is not None else {}
        self.labels = labels

    def copy(self, label: str) -> "_Draft":
        return _Draft(dict(self.fields), (*self.labels, label))


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)


def _with_prefixes(paths: frozenset[str]) -> frozenset[str]:
    wanted = set(paths)
    for path in paths:
        wanted.update(path[:i] for i, char in enumerate(path) if char == ".")
    return frozenset(wanted)


def _object(node: JsonObject, path: tuple[str, ...], drafts: list[_Draft], inside_or: bool) -> list[_Draft]:
    if not node.pairs:
        raise InvalidPattern(_dotted(path), "Empty objects are not allowed")
    for key, value in node.pairs:
        if key == "$or":
            drafts = _or(value, path, drafts)
            continue
        field_path = _dotted((*path, key))
        if inside_or and key in _RESERVED_IN_OR:
            raise InvalidPattern(field_path, f"{key} is Ruler reserved fieldName which cannot be used inside $or.")
        if isinstance(value, JsonObject):
            drafts = _object(value, (*path, key), drafts, inside_or)
        elif isinstance(value, list):
            condition = _condition(field_path, value)
            for draft in drafts:
                draft.fields[field_path] = condition
        else:
            raise InvalidPattern(field_path, f'"{key}" must be an object or an array')
    return drafts


def _or(value: object, path: tuple[str, ...], drafts: list[_Draft]) -> list[_Draft]:
    where = _dotted((*path, "$or"))
    if not isinstance(value, list):
        raise InvalidPattern(where, "It must be an Array followed with $or.")
    result: list[_Draft] = []
    for index, alternative in enumerate(value):
        if not isinstance(alternative, JsonObject):
            raise InvalidPattern(where, "Only JSON object is allowed in array of $or relationship.")
        label = f"{where}[{index}]"
        result.extend(_object(alternative, path, [d.copy(label) for d in drafts], inside_or=True))
        if len(result) > MAX_OR_BRANCHES:
            raise InvalidPattern(where, f"Rule is too complex - $or expands to more than {MAX_OR_BRANCHES} branches")
    if len(value) < 2:
        raise InvalidPattern(where, "There must have at least 2 Objects in $or relationship.")
    return result


def _condition(path: str, values: list) -> Condition:
    operators: list[Operator] = []
    for value in values:
        if isinstance(value, JsonObject):
            operators.append(_match_expression(path, value))
        elif isinstance(value, list):
            raise InvalidPattern(path, "Match value must be String, number, true, false, or null")
        else:
            operators.append(_exact(value))
    if not operators:
        raise InvalidPattern(path, "Empty arrays are not allowed")
    return Condition(
        path=path,
        operators=tuple(operators),
        expected=_to_json(values),
        test=value_test(operators),
        allow_absent=any(isinstance(op, Exists) and not op.present for op in operators),
    )


def _exact(value: str | JsonNumber | bool | None) -> Exact:
    if isinstance(value, str):
        return Exact(value, value, ip_key(value))
    if isinstance(value, JsonNumber):
        in_range = -NUMERIC_LIMIT <= value.value <= NUMERIC_LIMIT
        return Exact(value.exact(), value.value if in_range else number_key(value.exact()))
    if value is None:
        return Exact(None, NULL_KEY)
    return Exact(value, TRUE_KEY if value else FALSE_KEY)


def _only_key(path: str, rest: tuple, reason: str = _ONE_KEY) -> None:
    if rest:
        raise InvalidPattern(path, reason)


def _match_expression(path: str, node: JsonObject) -> Operator:
    if not node.pairs:
        raise InvalidPattern(path, "Match expression name not found")
    (name, value), rest = node.pairs[0], node.pairs[1:]
    if name in ("prefix", "suffix"):
        kind = Prefix if name == "prefix" else Suffix
        if isinstance(value, JsonObject):
            return kind(_ignoring_case(path, name, value, rest), ignore_case=True)
        if not isinstance(value, str):
            raise InvalidPattern(path, f"{name} match pattern must be a string")
        _only_key(path, rest)
        return kind(value)
    if name == "numeric":
        if not isinstance(value, list):
            raise InvalidPattern(path, "Value of numeric must be an array.")
        operator = _numeric(path, value)
        _only_key(path, rest, _TOO_MANY)
        return operator
    if name == "anything-but":
        return _anything_but(path, value, rest)
    if name == "exists":
        if not isinstance(value, bool):
            raise InvalidPattern(path, "exists match pattern must be either true or false.")
        _only_key(path, rest)
        return Exists(value)
    if name == "cidr":
        if not isinstance(value, str):
            raise InvalidPattern(path, "prefix match pattern must be a string")  # sic: AWS's wording
        try:
            address_range = parse_cidr(value)
        except ValueError as error:
            raise InvalidPattern(path, str(error)) from None
        _only_key(path, rest)
        return Cidr(value, address_range)
    if name == "equals-ignore-case":
        if not isinstance(value, str):
            raise InvalidPattern(path, "equals-ignore-case match pattern must be a string")
        _only_key(path, rest)
        return EqualsIgnoreCase(value)
    if name == "wildcard":
        if not isinstance(value, str):
            raise InvalidPattern(path, "wildcard match pattern must be a string")
        pieces = _wildcard_pieces(path, value)
        _only_key(path, rest)
        return Wildcard(value, pieces)
    raise InvalidPattern(path, f"Unrecognized match type {name}")


def _ignoring_case(path: str, name: str, node: JsonObject, rest: tuple) -> str:
    """The text of ``{"prefix": {"equals-ignore-case": text}}`` (or suffix)."""
    if not node.pairs:
        raise InvalidPattern(path, f"{name.capitalize()} expression name not found")
    (inner, value), inner_rest = node.pairs[0], node.pairs[1:]
    if inner != "equals-ignore-case":
        raise InvalidPattern(path, f"Unsupported {name} pattern: {inner}")
    if not isinstance(value, str):
        raise InvalidPattern(path, "equals-ignore-case match pattern must be a string")
    _only_key(path, inner_rest)
    _only_key(path, rest)
    return value


def _wildcard_pieces(path: str, text: str) -> tuple[str, ...]:
    try:
        return parse_wildcard(text)
    except ValueError as error:
        raise InvalidPattern(path, str(error)) from None


def _token_text(token: object) -> str:
    """What Jackson's getText() would say for a token, for messages that quote it."""
    if token is _END:
        return "]"
    if isinstance(token, JsonObject):
        return "{"
    if isinstance(token, list):
        return "["
    if isinstance(token, JsonNumber):
        return token.text
    if isinstance(token, str):
        return token
    return json.dumps(token)


def _comparable(path: str, number: float) -> float:
    if not -NUMERIC_LIMIT <= number <= NUMERIC_LIMIT:
        raise InvalidPattern(path, _OUT_OF_RANGE)
    return number


def _numeric_range(path: str, low: float, low_open: bool, high: float, high_open: bool) -> Numeric:
    if low >= high:
        raise InvalidPattern(path, "Bottom must be less than top")
    return Numeric(_comparable(path, low), low_open, _comparable(path, high), high_open)


def _numeric(path: str, items: list) -> Numeric:
    def token(index: int) -> object:
        return items[index] if index < len(items) else _END

    operator = token(0)
    if not isinstance(operator, str):
        raise InvalidPattern(path, f"Invalid member in numeric match: {_token_text(operator)}")
    bound = token(1)
    if operator not in ("=", ">", ">=", "<", "<="):
        raise InvalidPattern(path, f"Unrecognized numeric range operator: {operator}")
    if not isinstance(bound, JsonNumber):
        raise InvalidPattern(path, f"Value of {'equals' if operator == '=' else operator} must be numeric")
    if operator == "=":
        _only_key(path, items[2:], _TOO_MANY)
        value = _comparable(path, bound.value)
        return Numeric(value, False, value, False)
    if operator in ("<", "<="):
        _only_key(path, items[2:], _TOO_MANY)
        return _numeric_range(path, -NUMERIC_LIMIT, False, bound.value, operator == "<")
    upper = token(2)
    if upper is _END:
        return _numeric_range(path, bound.value, operator == ">", NUMERIC_LIMIT, False)
    if not isinstance(upper, str):
        raise InvalidPattern(path, f"Bad value in numeric range: {_token_text(upper)}")
    if upper not in ("<", "<="):
        raise InvalidPattern(path, f"Bad numeric range operator: {upper}")
    top = token(3)
    if not isinstance(top, JsonNumber):
        raise InvalidPattern(path, f"Value of {upper} must be numeric")
    _only_key(path, items[4:], "Too many terms in numeric range expression")
    return _numeric_range(path, bound.value, operator == ">", top.value, upper == "<")


_ANYTHING_BUT_FORMS = {
    "equals-ignore-case": "equals-ignore-case",
    "prefix": "prefix",
    "suffix": "suffix",
    "wildcard": "wildcard",
}
_ANYTHING_BUT_TYPE_ERRORS = {
    "equals-ignore-case": "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
    "wildcard": "wildcard match pattern must be a string",
    "prefix": "prefix/suffix match pattern must be a string",
    "suffix": "prefix/suffix match pattern must be a string",
}


def _anything_but(path: str, value: object, rest: tuple) -> AnythingBut:
    match, inner_rest = "exact", ()
    if isinstance(value, JsonObject):
        if not value.pairs:
            raise InvalidPattern(path, "Anything-But expression name not found")
        (form, value), inner_rest = value.pairs[0], value.pairs[1:]
        if form not in _ANYTHING_BUT_FORMS:
            raise InvalidPattern(path, f"Unsupported anything-but pattern: {form}")
        match = _ANYTHING_BUT_FORMS[form]
    if not isinstance(value, list | str | JsonNumber):
        raise InvalidPattern(path, "Value of anything-but must be an array or single string/number value.")
    items = value if isinstance(value, list) else [value]
    if match == "exact":
        operator = _anything_but_exact(path, items, is_list=isinstance(value, list))
    else:
        operator = _anything_but_strings(path, match, items)
    _only_key(path, inner_rest, _TOO_MANY)
    _only_key(path, rest, _TOO_MANY)
    return operator


def _anything_but_exact(path: str, items: list, is_list: bool) -> AnythingBut:
    keys: list = []
    for item in items:
        if isinstance(item, str):
            keys.append(item)
        elif isinstance(item, JsonNumber):
            keys.append(_comparable(path, item.value))
        else:
            raise InvalidPattern(path, "Inside anything but list, start|null|boolean is not supported.")
    has_strings = any(isinstance(key, str) for key in keys)
    if is_list and has_strings == any(isinstance(key, float) for key in keys):
        raise InvalidPattern(
            path, "Inside anything but list, either all values are number or string, mixed type is not supported"
        )
    return AnythingBut("exact", tuple(dict.fromkeys(keys)))


def _anything_but_strings(path: str, match: str, items: list) -> AnythingBut:
    texts: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidPattern(path, _ANYTHING_BUT_TYPE_ERRORS[match])
        if match in ("prefix", "suffix") and not item:
            raise InvalidPattern(path, "Null prefix/suffix not allowed")
        texts.append(item)
    texts = list(dict.fromkeys(texts))
    if match == "wildcard":
        return AnythingBut(match, tuple(_wildcard_pieces(path, text) for text in texts))
    return AnythingBut(match, tuple(texts))


def _wildcards_of(condition: Condition) -> list[tuple[str, ...]]:
    pieces: list[tuple[str, ...]] = []
    for operator in condition.operators:
        if isinstance(operator, Wildcard):
            pieces.append(operator.pieces)
        elif isinstance(operator, AnythingBut) and operator.match == "wildcard":
            pieces.extend(operator.values)
    return pieces


def _check_wildcard_complexity(drafts: list[_Draft]) -> None:
    by_path: dict[str, list[tuple[str, ...]]] = {}
    seen: set[int] = set()
    for draft in drafts:
        for condition in draft.fields.values():
            if id(condition) not in seen:
                seen.add(id(condition))
                by_path.setdefault(condition.path, []).extend(_wildcards_of(condition))
    for path, pieces in by_path.items():
        if pieces and wildcard_complexity(pieces) > MAX_WILDCARD_COMPLEXITY:
            raise InvalidPattern(path, _TOO_COMPLEX)


def _to_json(node: object) -> str:
    """Back to JSON text (keeping number literals and repeated keys), for explanations."""
    if isinstance(node, JsonObject):
        return "{" + ", ".join(f"{json.dumps(key)}: {_to_json(value)}" for key, value in node.pairs) + "}"
    if isinstance(node, list):
        return "[" + ", ".join(_to_json(item) for item in node) + "]"
    if isinstance(node, JsonNumber):
        return node.text
    return json.dumps(node)
