"""Rules as code: the configuration (buses, API destinations, rules with their targets) as one document,
YAML or JSON, that `export_rules` writes and `apply_rules` makes the stored configuration equal to.

Applying goes through dashboard.rules.configuration, as both APIs do, in one transaction. The diff is what the
export says before and after, so "changed" means changed as stored; a dry run applies and rolls back.
Connections are referenced by name and never written to a file: they hold secrets.
"""

from dataclasses import dataclass

import orjson
import yaml
from django.db import transaction

from dashboard.models import ApiDestination, EventBus, Rule
from dashboard.rules import configuration as config

SECTIONS = ("buses", "api_destinations", "rules")


class InvalidDocument(ValueError):
    """A rules file that cannot be applied; the message says where."""


@dataclass(frozen=True)
class Change:
    action: str  # "created", "changed" or "deleted"
    kind: str  # "bus", "api_destination", "rule" or "target"
    name: str
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        changed = f" ({', '.join(self.fields)})" if self.fields else ""
        return f"{self.action} {self.kind} {self.name}{changed}"


def load_document(text: str, *, json_format: bool) -> dict:
    try:
        document = orjson.loads(text) if json_format else yaml.safe_load(text)
    except (orjson.JSONDecodeError, yaml.YAMLError) as error:
        raise InvalidDocument(f"cannot read the file: {error}") from None
    document = {} if document is None else document
    if not isinstance(document, dict) or set(document) - set(SECTIONS):
        raise InvalidDocument(f"the file holds a mapping with at most these keys: {', '.join(SECTIONS)}")
    for section in SECTIONS:
        entries = document.get(section) or []
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("name"), str) for e in entries
        ):
            raise InvalidDocument(f"'{section}' must be a list of mappings, each with a name")
        if any(not isinstance(e.get("bus", ""), str) for e in entries):
            raise InvalidDocument(f"'{section}': a bus is named by a string")
    return document


def dump_document(document: dict, *, json_format: bool) -> str:
    if json_format:
        return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def _target(target) -> dict:
    rendered = {k: v for k, v in config.native_target(target).items() if v not in (None, {})}
    if target.api_destination_id:  # by name, so a file moves between installations
        rendered.pop("arn")
        rendered = {"id": rendered.pop("id"), "api_destination": target.api_destination.name, **rendered}
    return rendered


def export_configuration() -> dict:
    """The stored configuration as a document; `apply_configuration` of it changes nothing."""
    config.adopt_named_buses()
    rules = Rule.objects.prefetch_related("targets__api_destination").order_by("bus", "name")
    return {
        "buses": [
            {"name": bus.name, "description": bus.description}
            for bus in EventBus.objects.exclude(name=config.DEFAULT_BUS, description="")
        ],
        "api_destinations": [
            {
                "name": destination.name,
                "connection": destination.connection.name,
                "invocation_endpoint": destination.invocation_endpoint,
                "http_method": destination.http_method,
                "invocation_rate_limit_per_second": destination.invocation_rate_limit_per_second,
                "description": destination.description,
            }
            for destination in ApiDestination.objects.select_related("connection")
        ],
        "rules": [
            {
                "name": rule.name,
                "bus": rule.bus,
                **(
                    {"schedule_expression": rule.schedule_expression}
                    if rule.schedule_expression
                    else {"event_pattern": orjson.loads(rule.event_pattern)}
                ),
                "state": rule.state.upper(),
                "description": rule.description,
                "targets": [_target(target) for target in rule.targets.all()],
            }
            for rule in rules
        ],
    }


def _put_destination(entry: dict) -> None:
    settings = {
        "connection": entry.get("connection"),
        "invocation_endpoint": entry.get("invocation_endpoint"),
        "http_method": entry.get("http_method"),
        "invocation_rate_limit_per_second": entry.get("invocation_rate_limit_per_second"),
        "description": entry.get("description") or "",
    }
    if ApiDestination.objects.filter(name=entry["name"]).exists():
        config.update_api_destination(entry["name"], **settings)
    else:
        config.create_api_destination(entry["name"], **settings)


def _put_rule(entry: dict, prune: bool, actor: str) -> None:
    pattern = entry.get("event_pattern")
    rule = config.put_rule(
        entry["name"],
        event_pattern=orjson.dumps(pattern).decode() if isinstance(pattern, dict) else pattern,
        bus=entry.get("bus"),
        schedule_expression=entry.get("schedule_expression"),
        state=entry.get("state"),
        description=entry.get("description"),
        actor=actor,
    )
    targets = entry.get("targets") or []
    if not isinstance(targets, list) or not all(isinstance(t, dict) and "id" in t for t in targets):
        raise InvalidDocument(f"rule {rule.name}: 'targets' must be a list of mappings, each with an id")
    specs = []
    for target in targets:
        body = dict(target)
        if "api_destination" in body:
            body["arn"] = config.api_destination_arn(config.get_api_destination(body.pop("api_destination")))
        specs.append(config.native_target_spec(body.pop("id"), body))
    if specs:
        failures = config.put_targets(rule.name, rule.bus, specs, actor=actor)
        if failures:
            raise InvalidDocument(f"rule {rule.name}, target {failures[0].target_id}: {failures[0].message}")
    if prune:
        extra = list(rule.targets.exclude(name__in=[spec.id for spec in specs]).values_list("name", flat=True))
        if extra:
            config.remove_targets(rule.name, rule.bus, extra, actor=actor)


def _prune(document: dict, actor: str) -> None:
    wanted_rules = {(entry.get("bus") or config.DEFAULT_BUS, entry["name"]) for entry in document.get("rules") or []}
    for rule in Rule.objects.all():
        if (rule.bus, rule.name) not in wanted_rules:
            config.delete_rule(rule.name, rule.bus, force=True, actor=actor)
    wanted = {entry["name"] for entry in document.get("api_destinations") or []}
    for destination in ApiDestination.objects.exclude(name__in=wanted):
        config.delete_api_destination(destination.name, actor=actor)
    wanted = {entry["name"] for entry in document.get("buses") or []} | {bus for bus, _ in wanted_rules}
    wanted.add(config.DEFAULT_BUS)
    for bus in EventBus.objects.exclude(name__in=wanted):
        config.delete_bus(bus.name, actor=actor)


def _diff(before: dict, after: dict) -> list[Change]:
    changes = []
    for section, kind in (("buses", "bus"), ("api_destinations", "api_destination"), ("rules", "rule")):
        old = {_key(section, e): e for e in before[section]}
        new = {_key(section, e): e for e in after[section]}
        for key in new.keys() - old.keys():
            changes.append(Change("created", kind, key))
        for key in old.keys() - new.keys():
            changes.append(Change("deleted", kind, key))
        for key in old.keys() & new.keys():
            fields = tuple(sorted(f for f in old[key].keys() | new[key].keys() if old[key].get(f) != new[key].get(f)))
            if fields:
                changes.append(Change("changed", kind, key, fields))
    return sorted(changes, key=lambda c: (["bus", "api_destination", "rule"].index(c.kind), c.name, c.action))


def _key(section: str, entry: dict) -> str:
    return f"{entry['bus']}/{entry['name']}" if section == "rules" else entry["name"]


def apply_configuration(document: dict, *, prune: bool = False, dry_run: bool = False, actor: str = "") -> list[Change]:
    """Make the stored configuration equal to `document` (deleting what it omits only with `prune`).

    All or nothing: a bad entry raises InvalidDocument or a ConfigurationError and nothing is changed."""
    with transaction.atomic():
        before = export_configuration()
        for entry in document.get("buses") or []:
            config.put_bus(entry["name"], entry.get("description"))
        for entry in document.get("api_destinations") or []:
            _put_destination(entry)
        for entry in document.get("rules") or []:
            _put_rule(entry, prune, actor)
        if prune:
            _prune(document, actor)
        changes = _diff(before, export_configuration())
        if dry_run:
            transaction.set_rollback(True)
    return changes
