"""Array consistency: pick one leaf per condition so that no two come from different elements of one array.

AWS requires the leaves one branch uses to come from the same element of every array they share. A
naive search tries every combination of leaves, which is exponential in the number of conditions (and
was O(N^2) per pair of conditions on one array of N elements). Here:

- each condition's accepted leaves are grouped once per event by array element, in a trie keyed by
  (array, element index), so the leaves consistent with what is already picked are found by walking
  only the chosen element of every array already constrained;
- conditions are decided in path order, and an array no later condition can touch is forgotten once
  passed, so a search state is (condition position, element chosen in each array still in play); states
  already explored are not explored again, which makes independent arrays cost the sum, not the product,
  of their sizes.

What remains exponential (several arrays at one path, reachable only through duplicate dotted keys) is
cut off by the evaluation's ``Budget``.
"""

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from .budget import Budget
from .flatten import FlatEvent, Membership

if TYPE_CHECKING:
    from .match import Condition

__all__ = ["consistently_satisfied"]

_Chosen = dict[int, int]  # array number -> the element index picked in it


class _Node:
    """Array elements reachable from here: ``children[array][index]``; ``here`` if a leaf sits at this node."""

    __slots__ = ("children", "here")

    def __init__(self) -> None:
        self.children: dict[int, dict[int, _Node]] = {}
        self.here = False


class _Plan:
    """What one condition needs from one event, computed once per (condition, event)."""

    __slots__ = ("accepted", "arrays", "present")

    def __init__(self, accepted: _Node | None, present: _Node | None, arrays: set[int]) -> None:
        self.accepted = accepted  # the accepted leaves' elements; None when no leaf is accepted
        self.present = present  # every leaf's elements, for conditions allowing absence; else None
        self.arrays = arrays  # arrays either trie mentions


def _trie(memberships: list[Membership], arrays: set[int], budget: Budget) -> _Node:
    """The elements holding the given leaves, as a trie from the event's root.

    Memberships are chains shared by everything in one element, so each element is added once, walking
    up only until an element already in the trie: the cost is the number of elements, not leaves x depth.
    """
    root = _Node()
    nodes: dict[int, _Node] = {}  # id(chain) -> its node
    for membership in memberships:
        pending = []
        while membership is not None and id(membership) not in nodes:
            pending.append(membership)
            membership = membership[2]
        node = root if membership is None else nodes[id(membership)]
        budget.spend(len(pending) + 1)
        for chain in reversed(pending):
            array, index, _ = chain
            arrays.add(array)
            by_index = node.children.get(array)
            if by_index is None:
                by_index = node.children[array] = {}
            child = by_index.get(index)
            if child is None:
                child = by_index[index] = _Node()
            nodes[id(chain)] = node = child
        node.here = True
    return root


def _plan(condition: "Condition", event: FlatEvent, budget: Budget) -> _Plan:
    cache = event.plans
    if cache is None:
        cache = event.plans = {}
    cached = cache.get(id(condition))
    if cached is not None and cached[0] is condition:  # the identity check guards against a reused id
        return cached[1]
    found = event.entries.get(condition.path, ())
    budget.spend(len(found) + 1)
    test, arrays = condition.test, set()
    accepted = None
    if test is not None:
        # One per element: leaves of one element share their membership chain.
        memberships = list({id(m): m for value, m in found if test(value)}.values())
        accepted = _trie(memberships, arrays, budget) if memberships else None
    present = None
    if condition.allow_absent:
        present = _trie(list({id(m): m for _, m in found}.values()), arrays, budget)
    plan = _Plan(accepted, present, arrays)
    cache[id(condition)] = (condition, plan)
    return plan


def _consistent(
    root: _Node, chosen: _Chosen, budget: Budget, keep: Callable[[int], bool] = lambda array: False
) -> Iterator[tuple[tuple[int, int], ...]]:
    """For every leaf-holding node that agrees with ``chosen``: the (array, index) steps to it, keeping
    only arrays for which ``keep`` says a later condition cares (so a step list stays short when deep)."""
    stack: list[tuple[_Node, tuple[tuple[int, int], ...]]] = [(root, ())]
    while stack:
        node, steps = stack.pop()
        budget.spend(len(steps) + 1)
        if node.here:
            yield steps
        for array, by_index in node.children.items():
            index = chosen.get(array)
            if index is None:
                if keep(array):
                    stack.extend((child, (*steps, (array, i))) for i, child in by_index.items())
                else:
                    stack.extend((child, steps) for child in by_index.values())
            else:
                child = by_index.get(index)
                if child is not None:
                    stack.append((child, (*steps, (array, index)) if keep(array) else steps))


def _used_from(last_use: dict[int, int], position: int) -> Callable[[int], bool]:
    """Whether a condition at ``position`` or later looks at an array."""
    return lambda array: last_use[array] >= position


def consistently_satisfied(conditions: Sequence["Condition"], event: FlatEvent, budget: Budget) -> bool:
    """Whether one leaf per condition can be picked, all from the same element of every shared array.

    Conditions are taken in order (path order, as AWS does): a condition allowing absence is satisfied
    when no leaf at its path agrees with the leaves picked for the conditions before it.
    """
    plans = [_plan(condition, event, budget) for condition in conditions]
    if any(plan.accepted is None and plan.present is None for plan in plans):
        return False  # some condition accepts no leaf at all, whatever the arrays
    last_use: dict[int, int] = {}
    for position, plan in enumerate(plans):
        for array in plan.arrays:
            last_use[array] = position
    end = len(plans)
    explored: set[tuple[int, frozenset]] = set()
    pending: list[tuple[int, _Chosen]] = [(0, {})]
    while pending:
        position, chosen = pending.pop()
        if position == end:
            return True
        state = (position, frozenset(chosen.items()))
        if state in explored:
            continue
        explored.add(state)
        budget.spend(len(chosen) + 1)
        plan, following = plans[position], position + 1
        # Arrays no later condition touches cannot constrain anything any more: forget them.
        kept = {array: index for array, index in chosen.items() if last_use[array] >= following}
        if plan.present is not None and next(_consistent(plan.present, chosen, budget), None) is None:
            pending.append((following, kept))
        if plan.accepted is not None:
            seen: set[tuple[tuple[int, int], ...]] = set()
            for steps in _consistent(plan.accepted, chosen, budget, _used_from(last_use, following)):
                if steps not in seen:  # many leaves, same elements of the arrays that still matter
                    seen.add(steps)
                    pending.append((following, {**kept, **dict(steps)}))
    return False
