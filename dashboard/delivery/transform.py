"""What a target receives: the event, or the part `InputPath` selects, or what `InputTransformer` builds.

EventBridge semantics: `InputPathsMap` names values taken from the event by JSON path; `InputTemplate`
uses them as `<name>`. In a JSON template a placeholder outside quotes becomes the value as JSON
(strings quoted), inside a JSON string it becomes the value's text; a template that is not JSON is plain
text. Predefined names: aws.events.rule-name, aws.events.rule-arn, aws.events.event,
aws.events.event.json, aws.events.event.ingestion-time. A replayed event also has a `replay-name`
field. Pure Python: the worker and the admin share it.
"""

import json
import re
from dataclasses import dataclass

_STEP = re.compile(r"\.([A-Za-z0-9_\-/]+)|\[(\d+)\]|\['([^']*)'\]")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_PREDEFINED = (
    "aws.events.rule-name",
    "aws.events.rule-arn",
    "aws.events.event",
    "aws.events.event.json",
    "aws.events.event.ingestion-time",
)
MAX_VARIABLES = 100


class InvalidTransform(ValueError):
    """An input path or transformer EventBridge would refuse, or one that fails on an event."""


def parse_path(path: str) -> tuple[str | int, ...]:
    """`$.detail.items[0]` -> ("detail", "items", 0). Raises InvalidTransform."""
    if not path.startswith("$"):
        raise InvalidTransform(f"JSON path {path!r} must start with $")
    steps: list[str | int] = []
    position = 1
    while position < len(path):
        match = _STEP.match(path, position)
        if not match:
            raise InvalidTransform(f"JSON path {path!r}: cannot read from {path[position:]!r}")
        name, index, quoted = match.groups()
        steps.append(int(index) if index is not None else (name if name is not None else quoted))
        position = match.end()
    return tuple(steps)


def value_at_path(document: object, path: str) -> object:
    """The value at a JSON path, or None where the event has nothing there."""
    node = document
    for step in parse_path(path):
        if isinstance(step, int):
            node = node[step] if isinstance(node, list) and step < len(node) else None
        else:
            node = node.get(step) if isinstance(node, dict) else None
        if node is None:
            return None
    return node


@dataclass(frozen=True)
class RuleContext:
    """What the predefined variables need to know about the rule that routed the event."""

    name: str
    arn: str


def validate(input_path: str, input_transformer: dict | None) -> None:
    """Check a target's settings when they are saved. Raises InvalidTransform with what is wrong."""
    if input_path:
        parse_path(input_path)
    if input_transformer is None:
        return
    if not isinstance(input_transformer, dict):
        raise InvalidTransform('The input transformer must be {"InputPathsMap": {...}, "InputTemplate": "..."}')
    unknown = set(input_transformer) - {"InputPathsMap", "InputTemplate"}
    if unknown:
        raise InvalidTransform(f"Unknown input transformer keys: {', '.join(sorted(unknown))}")
    paths = input_transformer.get("InputPathsMap", {})
    template = input_transformer.get("InputTemplate")
    if not isinstance(paths, dict) or not all(isinstance(v, str) for v in paths.values()):
        raise InvalidTransform("InputPathsMap must map names to JSON paths")
    if len(paths) > MAX_VARIABLES:
        raise InvalidTransform(f"InputPathsMap holds at most {MAX_VARIABLES} variables")
    for name, path in paths.items():
        if name in _PREDEFINED or name.startswith("aws."):
            raise InvalidTransform(f"{name!r} is a reserved variable name")
        parse_path(path)
    if not isinstance(template, str) or not template:
        raise InvalidTransform("InputTemplate is required and must be a non-empty string")
    for name in _PLACEHOLDER.findall(template):
        if name not in paths and name not in _PREDEFINED:
            raise InvalidTransform(f"InputTemplate uses <{name}>, which InputPathsMap does not define")


def target_input(
    envelope: dict,
    input_path: str,
    input_transformer: dict | None,
    rule: RuleContext,
    ingestion_time: str,
    *,
    replay_name: str = "",
) -> object | str:
    """The target's input: a JSON value, or a `str` of plain text from a non-JSON template.

    A replayed event carries its replay's name as `replay-name`, as EventBridge adds it, so input paths
    and transformers can read `$.replay-name`; ordinary deliveries do not have the field."""
    if replay_name:
        envelope = {**envelope, "replay-name": replay_name}
    if input_path:
        return value_at_path(envelope, input_path)
    if not input_transformer:
        return envelope
    values = {name: value_at_path(envelope, path) for name, path in input_transformer.get("InputPathsMap", {}).items()}
    without_detail = {k: v for k, v in envelope.items() if k != "detail"}
    values |= {
        "aws.events.rule-name": rule.name,
        "aws.events.rule-arn": rule.arn,
        "aws.events.event": without_detail,
        "aws.events.event.json": envelope,
        "aws.events.event.ingestion-time": ingestion_time,
    }
    template = input_transformer["InputTemplate"]
    is_json = template.lstrip().startswith(("{", "["))
    filled = _fill(template, values, is_json)
    if not is_json:
        return filled
    try:
        return json.loads(filled)
    except json.JSONDecodeError as error:
        raise InvalidTransform(f"InputTemplate did not produce valid JSON: {error}") from None


def _fill(template: str, values: dict[str, object], is_json: bool) -> str:
    out: list[str] = []
    in_string = escaped = False
    position = 0
    while position < len(template):
        char = template[position]
        match = _PLACEHOLDER.match(template, position) if char == "<" else None
        if match and match.group(1) in values:
            out.append(_render(values[match.group(1)], quoted=in_string or not is_json, is_json=is_json))
            position = match.end()
            continue
        out.append(char)
        if in_string and escaped:
            escaped = False
        elif in_string and char == "\\":
            escaped = True
        elif char == '"':
            in_string = not in_string
        position += 1
    return "".join(out)


def _render(value: object, *, quoted: bool, is_json: bool) -> str:
    """A value as it appears in the template: JSON outside quotes; its text inside a string or plain text."""
    if not quoted:
        return json.dumps(value)
    text = value if isinstance(value, str) else ("" if value is None else json.dumps(value))
    return json.dumps(text)[1:-1] if is_json else text
