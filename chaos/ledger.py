"""The total-queue checker (Jepsen's `total-queue`, adapted to one event going to several targets).

What goes in must come out: every (acknowledged event, target it routes to) pair must end delivered
(a 2xx seen by the receiver) or dead-lettered in the database with a reason. The verdict is valid iff
nothing acknowledged is lost and nothing unexpected arrives; duplicates are allowed (at-least-once)
and reported, as are "recovered" events whose publish outcome was unknown but which arrived anyway.
"""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .loadgen import ACK, Attempt


@dataclass
class Verdict:
    attempted: int
    acknowledged: int
    delivered: int
    lost: int
    unexpected: int
    duplicated: int
    recovered: int
    dead_lettered: int = 0
    lost_sample: list = field(default_factory=list)
    unexpected_sample: list = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.lost == 0 and self.unexpected == 0

    def line(self) -> str:
        return (
            f"attempted={self.attempted} acknowledged={self.acknowledged} delivered={self.delivered} "
            f"lost={self.lost} unexpected={self.unexpected} duplicated={self.duplicated} "
            f"recovered={self.recovered} dead_lettered={self.dead_lettered} -> {'VALID' if self.valid else 'INVALID'}"
        )

    def as_dict(self) -> dict:
        return {
            "attempted": self.attempted,
            "acknowledged": self.acknowledged,
            "delivered": self.delivered,
            "lost": self.lost,
            "unexpected": self.unexpected,
            "duplicated": self.duplicated,
            "recovered": self.recovered,
            "dead_lettered": self.dead_lettered,
            "valid": self.valid,
            "lost_sample": self.lost_sample,
            "unexpected_sample": self.unexpected_sample,
        }


def is_ok(record: dict) -> bool:
    status = record.get("status")
    return isinstance(status, int) and 200 <= status < 300


def check(
    attempts: Iterable[Attempt],
    received: Iterable[dict],
    targets_of: Callable[[str], Iterable[str]],
    dead_letters: Iterable[tuple[str, str]] = (),
) -> Verdict:
    """`targets_of(event_id)` names the receiver targets an event routes to; `dead_letters` are the
    (event id, target) pairs the database holds as dead (a terminal state, with its reason)."""
    attempts = list(attempts)
    attempted = {a.event_id for a in attempts}
    acknowledged = {a.event_id for a in attempts if a.outcome == ACK}
    ok_records = [r for r in received if is_ok(r)]
    delivered_pairs = {(r.get("event_id"), r["target"]) for r in ok_records}
    expected = {(event_id, target) for event_id in acknowledged for target in targets_of(event_id)}
    dead = set(dead_letters) & expected
    lost = sorted(expected - delivered_pairs - dead)
    unexpected = sorted({pair for pair in delivered_pairs if pair[0] not in attempted})
    per_id = Counter(r["webhook_id"] for r in ok_records)
    recovered = {event_id for event_id, _ in delivered_pairs if event_id in attempted - acknowledged}
    return Verdict(
        attempted=len(attempted),
        acknowledged=len(acknowledged),
        delivered=len(delivered_pairs & expected),
        lost=len(lost),
        unexpected=len(unexpected),
        duplicated=sum(count - 1 for count in per_id.values()),
        recovered=len(recovered),
        dead_lettered=len(dead),
        lost_sample=lost[:10],
        unexpected_sample=unexpected[:10],
    )
