"""Many rules compiled into one index, so matching an event costs lookups rather than one test per rule.

In the spirit of AWS event-ruler's state machine: every branch of every rule is filed under the
condition that should narrow the field most (an exact value, a prefix or a numeric range on one
path; two exact paths together, such as source and detail-type, when a branch has them). An event is
flattened once; each of its values at an indexed path is looked up (hash lookups, prefix lengths,
an interval tree), and only the branches found are checked, on the conditions the lookup did not
already prove. Branches with nothing indexable (only anything-but, suffix, wildcard, exists...) are
always checked.

The cost is bounded by what evaluating each candidate rule once would cost: each distinct value is
looked up once per index, a pair index walks the smaller of its table and the event's values, and each
candidate branch is checked at most once per event.
"""

from bisect import insort
from collections import Counter
from collections.abc import Hashable, Iterator
from itertools import product

from .budget import Budget
from .flatten import flatten_event
from .match import Branch, Condition, Pattern, ValuesCheck, all_hold
from .operators import Exact, Numeric, Prefix, value_key
from .parse import compile_pattern

__all__ = ["RuleSet"]

# A branch filed under two exact paths needs a bucket per combination of their values; beyond this
# many combinations we file it under a single path instead.
_MAX_PAIR_KEYS = 64


_ConditionKey = tuple[str, str, bool]


def _condition_key(condition: Condition) -> _ConditionKey:
    return condition.path, condition.expected, condition.allow_absent


class _Target:
    """A branch of a rule, as found in the index.

    ``unindexed`` checks only the conditions the index did not already prove: a branch found under
    source "aws.ec2" need not compare its source again. (When the event has objects inside arrays
    the whole branch is checked instead, because array consistency spans all conditions.)
    """

    __slots__ = ("branch", "rule_id", "shared_keys", "unindexed")

    def __init__(self, rule_id: Hashable, branch: Branch, shared_keys: tuple, unindexed: ValuesCheck) -> None:
        self.rule_id = rule_id
        self.branch = branch
        self.shared_keys = shared_keys  # the shared condition checks it holds, released on removal
        self.unindexed = unindexed


_Bucket = dict[_Target, None]  # an insertion-ordered set


def _entries(condition: Condition) -> list[tuple[str, object]] | None:
    """How a condition can be indexed: ("exact", key) / ("prefix", text) / ("range", Numeric) per
    alternative, or None if some alternative cannot be (then an index on it could miss a match)."""
    entries: list[tuple[str, object]] = []
    for operator in condition.operators:
        if isinstance(operator, Exact) and operator.ip is None:
            entries.append(("exact", operator.key))
        elif isinstance(operator, Numeric) and operator.low == operator.high:
            entries.append(("exact", operator.low))
        elif isinstance(operator, Numeric):
            entries.append(("range", operator))
        elif isinstance(operator, Prefix) and not operator.ignore_case:
            entries.append(("prefix", operator.text))
        else:
            return None
    return list(dict.fromkeys(entries))


class _PrefixIndex:
    """Prefixes of one path, found for a value by looking up its leading slices of each known length."""

    def __init__(self) -> None:
        self.buckets: dict[str, _Bucket] = {}
        self.lengths: list[int] = []
        self._length_counts: Counter[int] = Counter()

    def add(self, prefix: str, target: _Target) -> None:
        self.buckets.setdefault(prefix, {})[target] = None
        if not self._length_counts[len(prefix)]:
            insort(self.lengths, len(prefix))
        self._length_counts[len(prefix)] += 1

    def remove(self, prefix: str, target: _Target) -> None:
        bucket = self.buckets[prefix]
        del bucket[target]
        if not bucket:
            del self.buckets[prefix]
        self._length_counts[len(prefix)] -= 1
        if not self._length_counts[len(prefix)]:
            self.lengths.remove(len(prefix))


class _IntervalNode:
    __slots__ = ("by_high", "by_low", "center", "left", "right")

    def __init__(self, intervals: list[tuple[Numeric, _Target]]) -> None:
        ends = sorted(end for numeric, _ in intervals for end in (numeric.low, numeric.high))
        self.center = ends[len(ends) // 2]
        here = [item for item in intervals if item[0].low <= self.center <= item[0].high]
        self.by_low = sorted(here, key=lambda item: item[0].low)
        self.by_high = sorted(here, key=lambda item: -item[0].high)
        left = [item for item in intervals if item[0].high < self.center]
        right = [item for item in intervals if item[0].low > self.center]
        self.left = _IntervalNode(left) if left else None
        self.right = _IntervalNode(right) if right else None


def _within(numeric: Numeric, number: float) -> bool:
    low_ok = numeric.low < number if numeric.low_open else numeric.low <= number
    return low_ok and (number < numeric.high if numeric.high_open else number <= numeric.high)


class _IntervalIndex:
    """Numeric ranges of one path in a centered interval tree, rebuilt lazily after changes."""

    def __init__(self) -> None:
        self.items: dict[tuple[Numeric, _Target], None] = {}
        self._root: _IntervalNode | None = None

    def add(self, numeric: Numeric, target: _Target) -> None:
        self.items[numeric, target] = None
        self._root = None

    def remove(self, numeric: Numeric, target: _Target) -> None:
        del self.items[numeric, target]
        self._root = None

    def containing(self, number: float) -> Iterator[_Target]:
        if self._root is None:
            self._root = _IntervalNode(list(self.items))
        node: _IntervalNode | None = self._root
        while node is not None:
            if number < node.center:
                for numeric, target in node.by_low:
                    if numeric.low > number:
                        break
                    if _within(numeric, number):
                        yield target
                node = node.left
            else:
                for numeric, target in node.by_high:
                    if numeric.high < number:
                        break
                    if _within(numeric, number):
                        yield target
                node = node.right if number > node.center else None


class RuleSet:
    """Rules by id, each an event pattern; ``matching(event)`` gives the ids of the rules it matches."""

    def __init__(self) -> None:
        self._patterns: dict[Hashable, Pattern] = {}
        self._filed: dict[Hashable, list[tuple]] = {}  # rule id -> where its branches are filed
        self._exact: dict[str, dict[Hashable, _Bucket]] = {}
        # (first path, second path) -> first value key -> second value key -> bucket
        self._pairs: dict[tuple[str, str], dict[Hashable, dict[Hashable, _Bucket]]] = {}
        self._prefixes: dict[str, _PrefixIndex] = {}
        self._ranges: dict[str, _IntervalIndex] = {}
        self._always: _Bucket = {}
        # Identical conditions of different rules share one compiled check (and its reference count),
        # as event-ruler shares states: checking candidates then touches far less memory.
        self._shared_checks: dict[_ConditionKey, list] = {}
        self._wanted_counts: Counter[str] = Counter()
        self._wanted: frozenset[str] = frozenset()

    def __len__(self) -> int:
        return len(self._patterns)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._patterns

    def add(self, rule_id: Hashable, pattern: str | dict | Pattern) -> Pattern:
        """Add (or replace) a rule. Raises InvalidPattern, leaving the set unchanged."""
        compiled = pattern if isinstance(pattern, Pattern) else compile_pattern(pattern)
        if rule_id in self._patterns:
            self.remove(rule_id)
        self._patterns[rule_id] = compiled
        self._filed[rule_id] = [self._file(rule_id, branch) for branch in compiled.branches]
        self._wanted_counts.update(compiled.wanted)
        self._wanted = frozenset(self._wanted_counts)
        return compiled

    def remove(self, rule_id: Hashable) -> None:
        """Remove a rule; KeyError if there is none with that id."""
        compiled = self._patterns.pop(rule_id)
        for filing in self._filed.pop(rule_id):
            self._unfile(*filing)
        self._wanted_counts.subtract(compiled.wanted)
        self._wanted_counts = +self._wanted_counts
        self._wanted = frozenset(self._wanted_counts)

    def matching(self, event: dict, budget: Budget | None = None) -> set[Hashable]:
        """Ids of the rules whose pattern matches ``event``.

        Raises PatternTooComplex if checking one branch for array consistency exceeds its budget (one
        default ``Budget`` per branch, or ``budget`` shared by the whole call).
        """
        flat = flatten_event(event, self._wanted)
        values, plain = flat.values, flat.entries is None
        matched: set[Hashable] = set()
        checked: set[_Target] = set()
        for bucket in self._candidates(values):
            for target in bucket:
                if target.rule_id in matched or target in checked:
                    continue
                checked.add(target)
                if target.unindexed(values) if plain else target.branch.satisfied_by(flat, budget):
                    matched.add(target.rule_id)
        return matched

    def _candidates(self, values: dict[str, list]) -> Iterator[_Bucket | list[_Target]]:
        yield self._always
        for path, table in self._exact.items():
            found = values.get(path)
            if found is not None:
                for key in _distinct_keys(found):
                    bucket = table.get(key)
                    if bucket is not None:
                        yield bucket
        for (first, second), table in self._pairs.items():
            firsts, seconds = values.get(first), values.get(second)
            if firsts is not None and seconds is not None:
                second_keys = _distinct_keys(seconds)
                for key in _distinct_keys(firsts):
                    by_second = table.get(key)
                    if by_second is None:
                        continue
                    # Walk the smaller side: never more lookups than the index holds or the event offers.
                    if len(by_second) <= len(second_keys):
                        yield from (bucket for b, bucket in by_second.items() if b in second_keys)
                    else:
                        yield from (by_second[b] for b in second_keys if b in by_second)
        for path, prefixes in self._prefixes.items():
            for value in dict.fromkeys(values.get(path, ())):
                if type(value) is str:
                    for length in prefixes.lengths:
                        if length > len(value):
                            break
                        bucket = prefixes.buckets.get(value[:length])
                        if bucket is not None:
                            yield bucket
        for path, ranges in self._ranges.items():
            for value in dict.fromkeys(values.get(path, ())):
                if type(value) is int or type(value) is float:
                    yield list(ranges.containing(value))

    def _file(self, rule_id: Hashable, branch: Branch) -> tuple:
        """File a branch under its most selective indexable condition(s); returns how, for removal."""
        indexable = [
            (condition, entries)
            for condition in branch.conditions
            if not condition.allow_absent and (entries := _entries(condition)) is not None
        ]
        exact_only = [(c, e) for c, e in indexable if all(kind == "exact" for kind, _ in e)]
        if len(exact_only) >= 2:
            (first, first_entries), (second, second_entries) = sorted(
                exact_only, key=lambda item: (len(item[1]), item[0].path)
            )[:2]
            if len(first_entries) * len(second_entries) <= _MAX_PAIR_KEYS:
                if first.path > second.path:
                    (first, first_entries), (second, second_entries) = (second, second_entries), (first, first_entries)
                keys = list(dict.fromkeys((a, b) for (_, a), (_, b) in product(first_entries, second_entries)))
                target = self._target(rule_id, branch, (first, second))
                table = self._pairs.setdefault((first.path, second.path), {})
                for a, b in keys:
                    table.setdefault(a, {}).setdefault(b, {})[target] = None
                return ("pair", (first.path, second.path), keys, target)
        if not indexable:
            target = self._target(rule_id, branch, ())
            self._always[target] = None
            return ("always", None, None, target)
        condition, entries = min(indexable, key=lambda item: (self._crowding(item[0].path, item[1]), item[0].path))
        target = self._target(rule_id, branch, (condition,))
        for kind, key in entries:
            if kind == "exact":
                self._exact.setdefault(condition.path, {}).setdefault(key, {})[target] = None
            elif kind == "prefix":
                self._prefixes.setdefault(condition.path, _PrefixIndex()).add(key, target)
            else:
                self._ranges.setdefault(condition.path, _IntervalIndex()).add(key, target)
        return ("single", condition.path, entries, target)

    def _target(self, rule_id: Hashable, branch: Branch, indexed: tuple[Condition, ...]) -> _Target:
        keys, checks = [], []
        for condition in branch.conditions:
            if condition not in indexed:
                key = _condition_key(condition)
                shared = self._shared_checks.setdefault(key, [condition.check, 0])
                shared[1] += 1
                keys.append(key)
                checks.append(shared[0])
        return _Target(rule_id, branch, tuple(keys), all_hold(checks))

    def _release(self, target: _Target) -> None:
        for key in target.shared_keys:
            shared = self._shared_checks[key]
            shared[1] -= 1
            if not shared[1]:
                del self._shared_checks[key]

    def _crowding(self, path: str, entries: list[tuple[str, object]]) -> int:
        """Roughly how many branches an event would pull in through these entries (smaller is better)."""
        total = 0
        for kind, key in entries:
            if kind == "exact":
                total += len(self._exact.get(path, {}).get(key, ())) + 1
            elif kind == "prefix":
                prefixes = self._prefixes.get(path)
                total += (len(prefixes.buckets.get(key, ())) if prefixes else 0) + 2
            else:
                ranges = self._ranges.get(path)
                total += (len(ranges.items) if ranges else 0) + 4
        return total

    def _unfile(self, how: str, where: object, keys: object, target: _Target) -> None:
        self._release(target)
        if how == "always":
            del self._always[target]
        elif how == "pair":
            table = self._pairs[where]
            for a, b in keys:
                _discard(table[a], b, target)
                if not table[a]:
                    del table[a]
            if not table:
                del self._pairs[where]
        else:
            for kind, key in keys:
                if kind == "exact":
                    _discard(self._exact[where], key, target)
                    if not self._exact[where]:
                        del self._exact[where]
                elif kind == "prefix":
                    self._prefixes[where].remove(key, target)
                    if not self._prefixes[where].buckets:
                        del self._prefixes[where]
                else:
                    self._ranges[where].remove(key, target)
                    if not self._ranges[where].items:
                        del self._ranges[where]


def _discard(table: dict[Hashable, _Bucket], key: Hashable, target: _Target) -> None:
    bucket = table[key]
    bucket.pop(target, None)
    if not bucket:
        del table[key]


def _distinct_keys(found: list) -> set[Hashable] | tuple[Hashable]:
    """The index keys of an event's values at one path, each once (most paths hold one value)."""
    if len(found) == 1:
        value = found[0]
        return (value if type(value) is str else value_key(value),)
    return {value if type(value) is str else value_key(value) for value in found}
