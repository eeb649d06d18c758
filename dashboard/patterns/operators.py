"""Compiled forms of the values a pattern field may list, and the one predicate built from them.

A field such as ``"state": ["running", {"prefix": "stop"}]`` matches an event value when any listed
alternative accepts it. Each alternative compiles to an immutable operator below; ``value_test`` folds
them into a single closure so matching does set lookups and ``str.startswith`` calls, never parsing.

Types follow AWS: string operators (prefix, suffix, wildcard, equals-ignore-case, cidr) accept only
strings; ``numeric`` accepts only numbers within +/-5e9; "5" is not 5; anything-but accepts every value
it does not exclude, including null, booleans and values of the other type.
"""

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

from .addresses import IpRange, ip_key
from .wildcard import wildcard_matcher

__all__ = [
    "NUMERIC_LIMIT",
    "AnythingBut",
    "Cidr",
    "EqualsIgnoreCase",
    "Exact",
    "Exists",
    "Numeric",
    "Operator",
    "Prefix",
    "Suffix",
    "Wildcard",
    "accepts_any",
    "number_key",
    "value_key",
    "value_test",
]

# AWS compares numbers only within this magnitude (its documented numeric range).
NUMERIC_LIMIT = 5e9

TRUE_KEY = ("true",)
FALSE_KEY = ("false",)
NULL_KEY = ("null",)


def number_key(number: int | float) -> Hashable:
    """Equal keys for numbers AWS treats as equal: by value in range (300 == 300.0), else by literal type."""
    if -NUMERIC_LIMIT <= number <= NUMERIC_LIMIT:
        return float(number)
    return (type(number).__name__, number)


def value_key(value: object) -> Hashable:
    """A hashable key per event leaf such that only values AWS calls equal share a key.

    Strings are their own key; numbers, booleans and null get keys that can never equal a string
    or each other (``True == 1`` in Python, but not in a pattern).
    """
    kind = type(value)
    if kind is str:
        return value
    if kind is int or kind is float:
        return number_key(value)
    if value is None:
        return NULL_KEY
    return TRUE_KEY if value else FALSE_KEY


@dataclass(frozen=True, slots=True)
class Exact:
    """An exact value. A string that is an IP literal compares as an address, as AWS does."""

    value: str | int | float | bool | None
    key: Hashable
    ip: tuple[int, int] | None = None
    label = "exact"


@dataclass(frozen=True, slots=True)
class Prefix:
    text: str
    ignore_case: bool = False

    @property
    def label(self) -> str:
        return "prefix/equals-ignore-case" if self.ignore_case else "prefix"


@dataclass(frozen=True, slots=True)
class Suffix:
    text: str
    ignore_case: bool = False

    @property
    def label(self) -> str:
        return "suffix/equals-ignore-case" if self.ignore_case else "suffix"


@dataclass(frozen=True, slots=True)
class EqualsIgnoreCase:
    text: str
    label = "equals-ignore-case"


@dataclass(frozen=True, slots=True)
class Wildcard:
    text: str
    pieces: tuple[str, ...]
    label = "wildcard"


@dataclass(frozen=True, slots=True)
class Numeric:
    """A closed or open range; ``numeric: ["=", x]`` is the closed range [x, x]."""

    low: float
    low_open: bool
    high: float
    high_open: bool
    label = "numeric"


@dataclass(frozen=True, slots=True)
class Cidr:
    text: str
    range: IpRange
    label = "cidr"


@dataclass(frozen=True, slots=True)
class Exists:
    present: bool
    label = "exists"


@dataclass(frozen=True, slots=True)
class AnythingBut:
    """Accepts any value that none of ``values`` matches under ``match``.

    ``match`` is "exact" (values are keys: strings, or number keys), "prefix", "suffix", "wildcard"
    (values are piece tuples) or "equals-ignore-case".
    """

    match: str
    values: tuple

    @property
    def label(self) -> str:
        return "anything-but" if self.match == "exact" else f"anything-but/{self.match}"


Operator = Exact | Prefix | Suffix | EqualsIgnoreCase | Wildcard | Numeric | Cidr | Exists | AnythingBut


def accepts_any(_value: object) -> bool:
    """The test of ``exists: true``: any value will do."""
    return True


def _case_variants(char: str) -> frozenset[str]:
    # AWS folds per character to its lower and upper case; where Python's mapping is several
    # characters (German sharp s upper-cases to "SS") Java keeps the character itself.
    lower, upper = char.lower(), char.upper()
    return frozenset((lower if len(lower) == 1 else char, upper if len(upper) == 1 else char))


def _ignore_case_equality(texts: Iterable[str]) -> Callable[[str], bool]:
    """A predicate: does a string equal any of ``texts`` ignoring case, character by character?"""
    ascii_texts = frozenset(text.lower() for text in texts if text.isascii())
    others = tuple(tuple(_case_variants(char) for char in text) for text in texts if not text.isascii())

    def equal(value: str) -> bool:
        # An ASCII pattern character only folds to ASCII characters, so a non-ASCII value cannot match it.
        if value.isascii() and value.lower() in ascii_texts:
            return True
        return any(
            len(value) == len(variants) and all(char in options for char, options in zip(value, variants, strict=True))
            for variants in others
        )

    return equal


def _prefix_ignoring_case(text: str) -> Callable[[str], bool]:
    equal, size = _ignore_case_equality((text,)), len(text)
    return lambda value: len(value) >= size and equal(value[:size])


def _suffix_ignoring_case(text: str) -> Callable[[str], bool]:
    equal, size = _ignore_case_equality((text,)), len(text)
    return lambda value: len(value) >= size and equal(value[len(value) - size :])


def _in_range(operator: Numeric) -> Callable[[object], bool]:
    """The range test with its type check inlined (one call per value: numeric filters are common)."""
    low, high = operator.low, operator.high
    if operator.low_open and operator.high_open:
        return lambda value: (type(value) is int or type(value) is float) and low < value < high
    if operator.low_open:
        return lambda value: (type(value) is int or type(value) is float) and low < value <= high
    if operator.high_open:
        return lambda value: (type(value) is int or type(value) is float) and low <= value < high
    return lambda value: (type(value) is int or type(value) is float) and low <= value <= high


def _string_test(operator: AnythingBut) -> Callable[[str], bool]:
    if operator.match == "prefix":
        prefixes = operator.values
        return lambda value: value.startswith(prefixes)
    if operator.match == "suffix":
        suffixes = operator.values
        return lambda value: value.endswith(suffixes)
    if operator.match == "wildcard":
        matchers = tuple(wildcard_matcher(pieces) for pieces in operator.values)
        return lambda value: any(match(value) for match in matchers)
    return _ignore_case_equality(operator.values)


def _anything_but(operator: AnythingBut) -> Callable[[object], bool]:
    if operator.match == "exact":
        excluded = frozenset(operator.values)
        if all(type(key) is str for key in excluded):
            return lambda value: value not in excluded  # only a string can equal a string
        return lambda value: not ((type(value) is int or type(value) is float) and number_key(value) in excluded)
    excluded_string = _string_test(operator)
    return lambda value: type(value) is not str or not excluded_string(value)


def value_test(operators: Iterable[Operator]) -> Callable[[object], bool] | None:
    """One predicate accepting a value when any alternative does; None when only absence is allowed."""
    strings: set[str] = set()
    other_keys: set[Hashable] = set()
    addresses: set[tuple[int, int]] = set()
    prefixes: list[str] = []
    suffixes: list[str] = []
    ignore_case: list[str] = []
    string_tests: list[Callable[[str], bool]] = []
    number_tests: list[Callable[[object], bool]] = []
    any_tests: list[Callable[[object], bool]] = []
    has_value_alternative = False
    for operator in operators:
        if isinstance(operator, Exists):
            if operator.present:
                return accepts_any
            continue
        has_value_alternative = True
        if isinstance(operator, Exact):
            if operator.ip is not None:
                addresses.add(operator.ip)
            elif type(operator.key) is str:
                strings.add(operator.key)
            else:
                other_keys.add(operator.key)
        elif isinstance(operator, Prefix):
            if operator.ignore_case:
                string_tests.append(_prefix_ignoring_case(operator.text))
            else:
                prefixes.append(operator.text)
        elif isinstance(operator, Suffix):
            if operator.ignore_case:
                string_tests.append(_suffix_ignoring_case(operator.text))
            else:
                suffixes.append(operator.text)
        elif isinstance(operator, EqualsIgnoreCase):
            ignore_case.append(operator.text)
        elif isinstance(operator, Wildcard):
            string_tests.append(wildcard_matcher(operator.pieces))
        elif isinstance(operator, Cidr):
            string_tests.append(operator.range.contains)
        elif isinstance(operator, Numeric):
            number_tests.append(_in_range(operator))
        else:
            any_tests.append(_anything_but(operator))
    if not has_value_alternative:
        return None
    if prefixes:
        string_tests.append(lambda value, starts=tuple(prefixes): value.startswith(starts))
    if suffixes:
        string_tests.append(lambda value, ends=tuple(suffixes): value.endswith(ends))
    if ignore_case:
        string_tests.append(_ignore_case_equality(ignore_case))
    if addresses:
        string_tests.append(lambda value: ip_key(value) in addresses)
    frozen_strings = frozenset(strings)
    kinds = (bool(strings), bool(other_keys), bool(string_tests), bool(number_tests), bool(any_tests))
    if kinds == (True, False, False, False, False):
        return frozen_strings.__contains__  # the common case: a list of exact strings
    if kinds == (False, False, True, False, False) and len(string_tests) == 1:
        if prefixes and not (suffixes or ignore_case or addresses):
            starts = tuple(prefixes)
            return lambda value: type(value) is str and value.startswith(starts)
        (string_test,) = string_tests
        return lambda value: type(value) is str and string_test(value)
    if kinds == (False, False, False, True, False) and len(number_tests) == 1:
        return number_tests[0]
    if kinds == (False, False, False, False, True) and len(any_tests) == 1:
        return any_tests[0]
    return _combined(frozen_strings, frozenset(other_keys), tuple(string_tests), tuple(number_tests), tuple(any_tests))


def _combined(
    strings: frozenset[str],
    other_keys: frozenset[Hashable],
    string_tests: tuple[Callable[[str], bool], ...],
    number_tests: tuple[Callable[[object], bool], ...],
    any_tests: tuple[Callable[[object], bool], ...],
) -> Callable[[object], bool]:
    def test(value: object) -> bool:
        kind = type(value)
        if kind is str:
            if value in strings:
                return True
            for string_test in string_tests:
                if string_test(value):
                    return True
        elif kind is int or kind is float:
            if other_keys and number_key(value) in other_keys:
                return True
            for number_test in number_tests:
                if number_test(value):
                    return True
        elif value is None:
            if NULL_KEY in other_keys:
                return True
        elif (TRUE_KEY if value else FALSE_KEY) in other_keys:
            return True
        return any(any_test(value) for any_test in any_tests)

    return test
