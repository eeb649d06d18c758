"""Read pattern text the way EventBridge's JSON parser (Jackson, streaming) does.

Two differences from ``json.loads`` matter for patterns: a key may repeat (every occurrence is kept, in
order, because AWS applies them in order), and number literals keep their text (AWS quotes it back in
messages and compares out-of-range numbers by it). Syntax errors are reported in Jackson's words.
"""

import json
import re

from .errors import InvalidPattern

__all__ = ["JsonNumber", "JsonObject", "parse_pattern_text"]


class JsonObject:
    """A JSON object as its ordered (key, value) pairs, duplicates included."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[str, object]]) -> None:
        self.pairs = tuple(pairs)


class JsonNumber:
    """A JSON number literal: its text and its value as a Java double (what AWS compares)."""

    __slots__ = ("text", "value")

    def __init__(self, text: str) -> None:
        self.text = text
        try:
            self.value = float(text)
        except OverflowError:  # a huge integer literal; Java's getDoubleValue() gives an infinity
            self.value = float("-inf") if text.startswith("-") else float("inf")

    def exact(self) -> int | float:
        """The literal as Python reads it (int or float), for values outside AWS's numeric range."""
        return float(self.text) if any(c in self.text for c in ".eE") else int(self.text)


def _reject_constant(name: str) -> None:
    raise _SyntaxProblem(f"Non-standard token '{name}': enable JsonParser.Feature.ALLOW_NON_NUMERIC_NUMBERS to allow")


class _SyntaxProblem(Exception):
    """Raised from inside the decoder hooks; turned into InvalidPattern by parse_pattern_text."""


_DECODER = json.JSONDecoder(
    object_pairs_hook=JsonObject,
    parse_float=JsonNumber,
    parse_int=JsonNumber,
    parse_constant=_reject_constant,
)
_TOKEN = re.compile(r"[\w$]+")
_WHITESPACE = " \t\n\r"
_EXPECTED_VALUE = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"


def parse_pattern_text(text: str) -> JsonObject:
    """Parse pattern text whose top level must be an object.

    Like Jackson, only the first JSON value is read: text after the closing brace is ignored.
    """
    start = len(text) - len(text.lstrip(_WHITESPACE))
    if start == len(text):
        raise InvalidPattern("", "Filter is not an object")  # no token at all
    try:
        value, _end = _DECODER.raw_decode(text, start)
    except json.JSONDecodeError as error:
        if start < len(text) and text[start] == "[":
            raise InvalidPattern("", "Filter is not an object") from None  # Jackson stops at the '['
        raise InvalidPattern("", _jackson_message(error)) from None
    except _SyntaxProblem as problem:
        raise InvalidPattern("", str(problem)) from None
    if not isinstance(value, JsonObject):
        raise InvalidPattern("", "Filter is not an object")
    return value


def _describe(char: str) -> str:
    if ord(char) < 32:
        return f"(CTRL-CHAR, code {ord(char)})"
    return f"('{char}' (code {ord(char)}))"


def _jackson_message(error: json.JSONDecodeError) -> str:
    text, pos, problem = error.doc, error.pos, error.msg
    if pos >= len(text):
        return "Unexpected end-of-input"
    char = text[pos]
    if problem == "Expecting value":
        token = _TOKEN.match(text, pos)
        if token:
            return f"Unrecognized token '{token.group()}': was expecting {_EXPECTED_VALUE}"
        return f"Unexpected character {_describe(char)}: expected a valid value {_EXPECTED_VALUE}"
    if problem.startswith("Expecting property name"):
        return f"Unexpected character {_describe(char)}: was expecting double-quote to start field name"
    if problem == "Expecting ':' delimiter":
        return f"Unexpected character {_describe(char)}: was expecting a colon to separate field name and value"
    if problem.startswith("Unterminated string"):
        return "Unexpected end-of-input: was expecting closing quote for a string value"
    if problem.startswith("Invalid control character"):
        return (
            f"Illegal unquoted character {_describe(char)}: "
            "has to be escaped using backslash to be included in string value"
        )
    if problem.startswith("Invalid \\escape"):
        escaped = text[pos + 1 : pos + 2] or char
        return f"Unrecognized character escape {_describe(escaped)}"
    return f"Unexpected character {_describe(char)}"
