"""The ``wildcard`` operator: parsing its escapes, matching, and AWS's "too complex" limit.

``*`` matches any run of characters (including none); ``\\*`` is a literal star and ``\\\\`` a literal
backslash; any other backslash, and two stars in a row, are errors. Matching splits the pattern at its
stars and finds the pieces left to right, which is linear and cannot backtrack catastrophically.
"""

from collections.abc import Callable

__all__ = ["MAX_WILDCARD_COMPLEXITY", "parse_wildcard", "wildcard_complexity", "wildcard_matcher"]

# AWS refuses a rule when too many wildcard-pattern prefixes can be live at once for some input (its
# byte machine's "complexity"). The limit is not published; 10 separates the corpus cases AWS accepted
# from the one it rejected under the byte-level model in wildcard_complexity().
MAX_WILDCARD_COMPLEXITY = 10

_STAR = ord("*")
_BACKSLASH = ord("\\")
_ANY_OTHER_BYTE = -1


def parse_wildcard(text: str) -> tuple[str, ...]:
    """The literal pieces between the stars; ValueError carries AWS's reason.

    AWS reports positions as byte offsets into the value wrapped in double quotes, so we do too.
    """
    quoted = b'"' + text.encode("utf-8", "surrogatepass") + b'"'
    pieces: list[bytes] = []
    current = bytearray()
    i = 0
    while i < len(quoted):
        byte = quoted[i]
        if byte == _STAR:
            if i + 1 < len(quoted) and quoted[i + 1] == _STAR:
                raise ValueError(f"Consecutive wildcard characters at pos {i}")
            pieces.append(bytes(current))
            current.clear()
        elif byte == _BACKSLASH:
            if i + 1 < len(quoted) and quoted[i + 1] in (_STAR, _BACKSLASH):
                current.append(quoted[i + 1])
                i += 1
            else:
                raise ValueError(f"Invalid escape character at pos {i}")
        else:
            current.append(byte)
        i += 1
    pieces.append(bytes(current))
    # Drop the quotes we added: they sit at the very start of the first piece and end of the last.
    pieces[0] = pieces[0][1:]
    pieces[-1] = pieces[-1][:-1]
    return tuple(piece.decode("utf-8", "surrogatepass") for piece in pieces)


def wildcard_matcher(pieces: tuple[str, ...]) -> Callable[[str], bool]:
    """A predicate on strings for a parsed wildcard."""
    if len(pieces) == 1:
        (only,) = pieces
        return only.__eq__
    head, *middle, tail = pieces
    fixed = len(head) + len(tail)

    def matches(value: str) -> bool:
        if len(value) < fixed or not value.startswith(head) or not value.endswith(tail):
            return False
        position, end = len(head), len(value) - len(tail)
        for piece in middle:
            found = value.find(piece, position, end)
            if found < 0:
                return False
            position = found + len(piece)
        return True

    return matches


def _tokens(pieces: tuple[str, ...]) -> list[int | None]:
    """The quoted pattern as bytes, with None where a star is (the unit AWS's machine works in)."""
    tokens: list[int | None] = [ord('"')]
    for index, piece in enumerate(pieces):
        if index:
            tokens.append(None)
        tokens.extend(piece.encode("utf-8", "surrogatepass"))
    tokens.append(ord('"'))
    return tokens


class _Machine:
    """A byte-level NFA shaped like AWS's: patterns share states up to their first star, a star is a
    state looping on every byte, and a byte after a star can also be reached by skipping the star."""

    def __init__(self) -> None:
        self.literal: list[dict[int, set[int]]] = [{}]
        self.any: list[set[int]] = [set()]
        self.weight: list[set[int]] = [set()]
        self._shared: dict[tuple[int, int | None], int] = {}

    def _new_state(self) -> int:
        self.literal.append({})
        self.any.append(set())
        self.weight.append(set())
        return len(self.weight) - 1

    def add(self, pattern_id: int, pieces: tuple[str, ...]) -> None:
        tokens = _tokens(pieces)
        current, previous, shared = 0, 0, True
        for index, token in enumerate(tokens):
            key = (current, token)
            if shared and key in self._shared:
                state = self._shared[key]
            else:
                state = self._new_state()
                if shared:
                    self._shared[key] = state
            if token is None:
                shared = False
                self.any[current].add(state)
                self.any[state].add(state)
            else:
                self.literal[current].setdefault(token, set()).add(state)
                if index and tokens[index - 1] is None:
                    self.literal[previous].setdefault(token, set()).add(state)
            self.weight[state].add(pattern_id)
            previous, current = current, state

    def complexity(self, cap: int) -> int:
        """The most pattern prefixes live at once over all inputs, stopping once it exceeds ``cap``."""
        alphabet = {byte for table in self.literal for byte in table} | {_ANY_OTHER_BYTE}
        seen: set[frozenset[int]] = set()
        pending = [frozenset((0,))]
        worst = 0
        while pending:
            active = pending.pop()
            for byte in alphabet:
                following: set[int] = set()
                for state in active:
                    following.update(self.any[state])
                    following.update(self.literal[state].get(byte, ()))
                if not following:
                    continue
                live = sum(len(self.weight[state]) for state in following)
                live += sum(
                    len(self.weight[star]) for state in following for star in self.any[state] if star not in following
                )
                worst = max(worst, live)
                if worst > cap:
                    return worst
                frozen = frozenset(following)
                if frozen not in seen:
                    seen.add(frozen)
                    pending.append(frozen)
        return worst


def wildcard_complexity(patterns: list[tuple[str, ...]]) -> int:
    """How many wildcard-pattern prefixes on one field can be live at once (capped just above the limit)."""
    machine = _Machine()
    for pattern_id, pieces in enumerate(dict.fromkeys(patterns)):
        machine.add(pattern_id, pieces)
    return machine.complexity(MAX_WILDCARD_COMPLEXITY)
