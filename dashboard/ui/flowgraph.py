"""Lays out the overview's flow graph (sources → rules → targets) as SVG geometry in three columns.

The server draws the picture: the template only writes out the nodes and paths computed here, so the
page needs no chart library and the graph is the same in a screenshot, a test and a browser.
"""

import math
from dataclasses import dataclass
from urllib.parse import urlencode

from django.urls import reverse

from dashboard.ui.stats import FAILING_MINUTES, LATEST_ATTEMPTS, Flows, TargetFlow

WIDTH = 1200
TOP = 34  # room for the column titles
ROW = 66  # vertical pitch of target rows
SOURCE_X, SOURCE_W, SOURCE_H = 8, 220, 44
RULE_X, RULE_W, RULE_H = 420, 270, 44
TARGET_X, TARGET_W, TARGET_H = 872, 320, 56
SPARK_W, SPARK_H = 96, 24


@dataclass(frozen=True)
class Node:
    x: float
    y: float
    width: float
    height: float
    name: str
    sub: str
    href: str
    css: str = ""
    spark_line: str = ""
    spark_area: str = ""
    spark_x: float = 0
    spark_y: float = 0
    title: str = ""

    @property
    def text_x(self) -> float:
        return self.x + 12

    @property
    def name_y(self) -> float:
        return self.y + self.height / 2 - 3

    @property
    def sub_y(self) -> float:
        return self.y + self.height / 2 + 13


@dataclass(frozen=True)
class Edge:
    path: str
    width: float
    css: str
    label: str = ""
    label_x: float = 0
    label_y: float = 0
    label_w: float = 0

    @property
    def label_left(self) -> float:
        return -self.label_w / 2


@dataclass(frozen=True)
class TargetRow:
    """A line of the table under the graph: one rule → target edge with its sparkline."""

    flow: TargetFlow
    spark_line: str
    spark_area: str

    @property
    def health_text(self) -> str:
        return health_text(self.flow)


@dataclass(frozen=True)
class Graph:
    width: int
    height: int
    nodes: list[Node]
    edges: list[Edge]


def rate_text(rate: float) -> str:
    if rate == 0:
        return "0/s"
    if rate < 0.1:
        return f"{rate * 60:.0f}/min" if rate * 60 >= 1 else "<1/min"
    if rate < 10:
        return f"{rate:.1f}/s"
    return f"{rate:,.0f}/s"


def sparkline(series: tuple[int, ...] | list[int], *, width: float, height: float) -> tuple[str, str]:
    """Polyline points for a sparkline and the polygon that fills under it, scaled to the box."""
    values = list(series) or [0]
    top = max(values) or 1
    step = width / max(1, len(values) - 1)
    points = [(round(i * step, 1), round(height - 1 - (v / top) * (height - 2), 1)) for i, v in enumerate(values)]
    line = " ".join(f"{x},{y}" for x, y in points)
    area = f"0,{height} {line} {points[-1][0]},{height}"
    return line, area


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _curve(x1: float, y1: float, x2: float, y2: float) -> str:
    middle = (x1 + x2) / 2
    return f"M{x1:.1f},{y1:.1f} C{middle:.1f},{y1:.1f} {middle:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"


def _stroke(rate: float) -> float:
    return round(1.25 + min(4.5, math.log1p(rate * 10) * 0.9), 2)


def _spread(wanted: list[float], *, pitch: float, top: float) -> list[float]:
    """Keep each node near its wanted y but never closer than `pitch` to the one above it."""
    placed: list[float] = []
    for y in wanted:
        placed.append(max(y, placed[-1] + pitch if placed else top))
    return placed


def _target_node(flow: TargetFlow, y: float) -> Node:
    target = flow.target
    css = "disabled" if not target.enabled else ("" if flow.health == "healthy" else flow.health)
    parts = [rate_text(flow.rate_per_second), f"✓ {flow.succeeded:,}", f"✗ {flow.failed:,}"]
    if flow.health == "paused":
        parts.insert(0, "paused")
    if flow.dead:
        parts.append(f"☠ {flow.dead:,}")
    line, area = sparkline(flow.series, width=SPARK_W, height=SPARK_H)
    return Node(
        x=TARGET_X,
        y=y,
        width=TARGET_W,
        height=TARGET_H,
        name=_truncate(target.name, 24),
        sub="  ".join(parts),
        href=reverse("dashboard:target-detail", args=[target.pk]),
        css=css,
        spark_line=line,
        spark_area=area,
        spark_x=TARGET_X + TARGET_W - SPARK_W - 12,
        spark_y=y + (TARGET_H - SPARK_H) / 2,
        title=f"{target.name}: {target.url or target.handler}"
        + (f" ({health_text(flow)})" if flow.recent_failed or flow.health == "paused" else ""),
    )


def health_text(flow: TargetFlow) -> str:
    """Why a target shows its health, with the window it is judged over (or why and since when it is paused)."""
    if flow.health == "paused":
        return f"paused since {flow.target.paused_at:%Y-%m-%d %H:%M:%S}: {flow.target.paused_reason}"
    failed = f"{flow.recent_failed} of {flow.recent_attempts} attempts failed over the last {FAILING_MINUTES} min"
    if flow.health == "failing":
        return f"failing: {failed}, and one of its newest {LATEST_ATTEMPTS} attempts too"
    if flow.health == "recovering":
        return f"recovering: {failed}, but its newest {LATEST_ATTEMPTS} attempts succeeded"
    return f"healthy: {failed}"


def layout(flows: Flows) -> Graph:
    rules = flows.rules
    targets_by_rule: dict[int, list[TargetFlow]] = {}
    for flow in flows.targets:
        targets_by_rule.setdefault(flow.target.rule_id, []).append(flow)

    # Targets are stacked in rule order; each rule sits level with the middle of its targets.
    target_y: dict[int, float] = {}
    rule_wanted: list[float] = []
    row = 0
    for rule in rules:
        mine = targets_by_rule.get(rule.pk, [])
        first = row
        for flow in mine:
            target_y[flow.target.pk] = TOP + row * ROW
            row += 1
        if not mine:
            row += 1
        middle = TOP + (first + max(len(mine), 1) - 1) / 2 * ROW + (TARGET_H - RULE_H) / 2
        rule_wanted.append(middle)
    rule_y = dict(zip([r.pk for r in rules], _spread(rule_wanted, pitch=RULE_H + 12, top=TOP), strict=True))

    # Sources are ordered by the mean height of the rules they feed, which keeps edges from crossing.
    feeds: dict[str, list[int]] = {}
    for flow in flows.sources:
        if flow.rule_id in rule_y:
            feeds.setdefault(flow.source, []).append(flow.rule_id)
    order = sorted(feeds, key=lambda source: sum(rule_y[r] for r in feeds[source]) / len(feeds[source]))
    wanted = [sum(rule_y[r] for r in feeds[s]) / len(feeds[s]) for s in order]
    source_y = dict(zip(order, _spread(wanted, pitch=SOURCE_H + 12, top=TOP), strict=True))
    rates = flows.source_rates()

    nodes: list[Node] = []
    edges: list[Edge] = []
    for source, y in source_y.items():
        nodes.append(
            Node(
                x=SOURCE_X,
                y=y,
                width=SOURCE_W,
                height=SOURCE_H,
                name=_truncate(source, 28),
                sub=f"{rate_text(rates.get(source, 0))} matched",
                href=reverse("dashboard:event-list") + "?" + urlencode({"source": source}),
                title=source,
            )
        )
    for flow in flows.sources:
        if flow.source not in source_y or flow.rule_id not in rule_y:
            continue
        y1 = source_y[flow.source] + SOURCE_H / 2
        y2 = rule_y[flow.rule_id] + RULE_H / 2
        x1, x2 = SOURCE_X + SOURCE_W, RULE_X
        label = rate_text(flow.rate_per_second)
        edges.append(
            Edge(
                path=_curve(x1, y1, x2, y2),
                width=_stroke(flow.rate_per_second),
                css="active" if flow.rate_per_second else "",
                label=label,
                label_x=(x1 + x2) / 2,
                label_y=(y1 + y2) / 2,
                label_w=8 + 6.2 * len(label),
            )
        )
    for rule in rules:
        mine = targets_by_rule.get(rule.pk, [])
        n_targets = len(mine)
        nodes.append(
            Node(
                x=RULE_X,
                y=rule_y[rule.pk],
                width=RULE_W,
                height=RULE_H,
                name=_truncate(rule.name, 34),
                sub=f"{rule.bus} · {n_targets} target{'s' if n_targets != 1 else ''}"
                + ("" if rule.is_enabled else " · disabled"),
                href=reverse("dashboard:rule-detail", args=[rule.pk]),
                css="" if rule.is_enabled else "disabled",
                title=rule.event_pattern,
            )
        )
        for flow in mine:
            y1 = rule_y[rule.pk] + RULE_H / 2
            y2 = target_y[flow.target.pk] + TARGET_H / 2
            css = flow.health if flow.health != "healthy" else ("active" if flow.rate_per_second else "")
            edges.append(
                Edge(path=_curve(RULE_X + RULE_W, y1, TARGET_X, y2), width=_stroke(flow.rate_per_second), css=css)
            )
            nodes.append(_target_node(flow, target_y[flow.target.pk]))
    bottoms = [node.y + node.height for node in nodes] or [TOP + ROW]
    return Graph(width=WIDTH, height=int(max(bottoms) + 12), nodes=nodes, edges=edges)


TABLE_SPARK_W, TABLE_SPARK_H = 120, 28


def target_rows(flows: Flows) -> list[TargetRow]:
    return [
        TargetRow(flow, *sparkline(flow.series, width=TABLE_SPARK_W, height=TABLE_SPARK_H)) for flow in flows.targets
    ]
