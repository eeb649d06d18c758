"""Configuring EventHub over an API: event buses, rules, targets, connections and API destinations.

The one place that validates and changes these records for the EventBridge API (api/aws/management.py) and
the native REST API (api/native/configuration.py), so both answer alike. Names, lengths and ARNs follow AWS.
Errors are `ConfigurationError`s whose class says what went wrong; each adapter maps them to its codes.

Target ARNs: an API destination's ARN makes a webhook target with the destination's endpoint, method, rate
limit and its connection's authorization headers (an OAuth connection's bearer token is fetched by the worker,
delivery/oauth.py); `arn:aws:lambda:REGION:ACCOUNT:function:NAME` makes a
Python target calling the registered handler NAME; an `https://` URL makes a plain webhook target.
"""

import base64
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar
from urllib.parse import quote, urlencode

import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from dashboard.audit import Action, record_audit
from dashboard.delivery import transform
from dashboard.delivery.planning import routing_cache
from dashboard.eventsourcing.replay import REPLAY_NAME, InvalidReplay, cancel_replay, parse_spec, start_replay
from dashboard.models import ApiDestination, Connection, EventBus, ResourceTag, Rule, Target
from dashboard.models.rules import validate_headers
from dashboard.models.streams import Archive, Replay
from dashboard.patterns import InvalidPattern, compile_pattern
from dashboard.rules.schedules import InvalidSchedule, parse_schedule

DEFAULT_BUS = "default"
MAX_PAGE = 100
# Limits (the native API's OpenAPI document quotes them: api/openapi.py).
NAME_LENGTH = 64
ARCHIVE_NAME_LENGTH = 48
MAX_DESCRIPTION = 512
RETRY_ATTEMPTS = (0, 185)
EVENT_AGE_SECONDS = (60, 86_400)
INVOCATION_RATE = (1, 300)
NAME_CHARACTERS = r"[.\-_A-Za-z0-9]"
ARCHIVE_NAME_CHARACTERS = r"[A-Za-z0-9_-]"
_NAME = re.compile(rf"^{NAME_CHARACTERS}{{1,{NAME_LENGTH}}}$")
_BUS_NAME = re.compile(rf"^[/.\-_A-Za-z0-9]{{1,{NAME_LENGTH}}}$")
_ARN = re.compile(
    r"^arn:aws[\w-]*:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>[0-9]*):(?P<resource>.+)$"
)
_MAX_INPUT = 8192
Model = TypeVar("Model", EventBus, Rule, Target, Connection, ApiDestination, Archive)


class ConfigurationError(Exception):
    """A request the hub refuses; the subclass says why, the message says what."""


class NotFound(ConfigurationError):
    pass


class AlreadyExists(ConfigurationError):
    pass


def _save_new(record: Model, what: str) -> Model:
    """Insert a new record; its name taken already is AlreadyExists (in a savepoint, so a caller's
    transaction stays usable)."""
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:
        raise AlreadyExists(f"{what} already exists.") from None
    return record


class Invalid(ConfigurationError):
    pass


class InvalidEventPattern(ConfigurationError):
    pass


# ARNs, in AWS's formats, with the account and region EventHub presents itself as.


def _arn(resource: str, service: str = "events") -> str:
    knobs = settings.EVENTHUB
    return f"arn:aws:{service}:{knobs['REGION']}:{knobs['ACCOUNT']}:{resource}"


def bus_arn(name: str) -> str:
    return _arn(f"event-bus/{name}")


def rule_arn(rule: Rule) -> str:
    return _arn(f"rule/{rule.name}" if rule.bus == DEFAULT_BUS else f"rule/{rule.bus}/{rule.name}")


def connection_arn(connection: Connection) -> str:
    return _arn(f"connection/{connection.name}/{connection.uid}")


def api_destination_arn(destination: ApiDestination) -> str:
    return _arn(f"api-destination/{destination.name}/{destination.uid}")


def handler_arn(handler: str) -> str:
    return _arn(f"function:{handler}", service="lambda")


def target_arn(target: Target) -> str:
    """The ARN a target answers to: the one it was put with, else the one it would be put with."""
    if target.arn:
        return target.arn
    if target.kind == Target.Kind.PYTHON:
        return handler_arn(target.handler)
    return target.url


def bus_name(name_or_arn: str | None) -> str:
    """A bus parameter may be a name or an ARN (arn:aws:events:REGION:ACCOUNT:event-bus/NAME)."""
    if not name_or_arn:
        return DEFAULT_BUS
    if not isinstance(name_or_arn, str) or not name_or_arn.startswith("arn:"):
        return _check_bus_name(name_or_arn)
    match = _ARN.match(name_or_arn)
    if not match or match["service"] != "events" or not match["resource"].startswith("event-bus/"):
        raise Invalid(f"{name_or_arn!r} is not the ARN of an event bus.")
    return _check_bus_name(match["resource"].removeprefix("event-bus/"))


def _resource_name(arn_or_name: str, kind: str) -> str:
    """`NAME` from `arn:...:KIND/NAME/UID` (or a bare NAME)."""
    if not arn_or_name.startswith("arn:"):
        return arn_or_name
    match = _ARN.match(arn_or_name)
    prefix = f"{kind}/"
    if not match or match["service"] != "events" or not match["resource"].startswith(prefix):
        raise Invalid(f"{arn_or_name!r} is not the ARN of a {kind}.")
    return match["resource"].removeprefix(prefix).split("/", 1)[0]


# Validation shared by every operation.


def _check_name(value: object, what: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise Invalid(f"{what} must be 1 to {NAME_LENGTH} letters, digits, '.', '-' or '_'.")
    return value


def _check_bus_name(value: object) -> str:
    if not isinstance(value, str) or not _BUS_NAME.match(value):
        raise Invalid(f"An event bus name is 1 to {NAME_LENGTH} letters, digits, '/', '.', '-' or '_'.")
    return value


def _check_description(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION:
        raise Invalid(f"Description must be a string of at most {MAX_DESCRIPTION} characters.")
    return value.replace("\x00", "")


def _full_clean(record: Model, exclude: tuple[str, ...] = ()) -> None:
    try:
        record.full_clean(exclude=list(exclude), validate_unique=False)
    except ValidationError as error:
        messages = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in error.message_dict.items())
        raise Invalid(messages) from None


# Pagination: the token is the last name of the previous page, opaque to clients.


@dataclass(frozen=True)
class Page:
    items: list
    next_token: str | None


def _limit(value: object) -> int:
    if value is None:
        return MAX_PAGE
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE:
        raise Invalid(f"Limit must be a whole number from 1 to {MAX_PAGE}.")
    return value


def _prefix(value: str | None, pattern: re.Pattern) -> str:
    if not value:
        return ""
    if not pattern.match(value):
        raise Invalid("NamePrefix may only hold the characters of a name.")
    return value


def _page(records: QuerySet, key: str, next_token: str | None, limit: object) -> Page:
    count = _limit(limit)
    if next_token:
        try:
            after = base64.urlsafe_b64decode(next_token.encode()).decode()
        except (ValueError, UnicodeError):
            raise Invalid("The NextToken is not valid.") from None
        if "\x00" in after:
            raise Invalid("The NextToken is not valid.")
        records = records.filter(**{f"{key}__gt": after})
    found = list(records.order_by(key)[: count + 1])
    more = len(found) > count
    found = found[:count]
    token = base64.urlsafe_b64encode(getattr(found[-1], key).encode()).decode() if more else None
    return Page(found, token)


# Event buses.


def get_bus(name_or_arn: str | None) -> EventBus:
    name = bus_name(name_or_arn)
    bus = EventBus.objects.filter(name=name).first()
    if bus is not None:
        return bus
    # `default` always exists, even on a database emptied since the migration created it; so does a bus that
    # rules made in the admin or with `create_rule` name.
    if name == DEFAULT_BUS or Rule.objects.filter(bus=name).exists():
        return EventBus.objects.get_or_create(name=name)[0]
    raise NotFound(f"Event bus {name} does not exist.")


def create_bus(name: object, description: object = None, tags: object = None) -> EventBus:
    bus = EventBus(name=_check_bus_name(name), description=_check_description(description))
    if bus.name == DEFAULT_BUS or bus.name.startswith("aws."):
        raise Invalid(f"The name {bus.name} is reserved.")
    checked_tags = _tags(tags)
    try:
        with transaction.atomic():
            bus.save()
            _store_tags(bus_arn(bus.name), checked_tags)
    except IntegrityError:
        raise AlreadyExists(f"Event bus {bus.name} already exists.") from None
    return bus


def adopt_named_buses() -> None:
    """Give a bus row to `default` and to every bus that rules name (made in the admin or by `create_rule`)."""
    named = {DEFAULT_BUS, *Rule.objects.values_list("bus", flat=True).distinct()}
    EventBus.objects.bulk_create([EventBus(name=name) for name in named], ignore_conflicts=True)


def put_bus(name: object, description: object = None) -> EventBus:
    """Create the bus, or set the description of the existing one (rules as code)."""
    try:
        return create_bus(name, description)
    except AlreadyExists:
        bus = EventBus.objects.get(name=name)
        bus.description = _check_description(description)
        bus.save(update_fields=["description", "updated_at"])
        return bus
    except Invalid:
        if name != DEFAULT_BUS:
            raise
        bus = get_bus(DEFAULT_BUS)
        bus.description = _check_description(description)
        bus.save(update_fields=["description", "updated_at"])
        return bus


def list_buses(prefix: str | None = None, next_token: str | None = None, limit: object = None) -> Page:
    adopt_named_buses()
    return _page(EventBus.objects.filter(name__startswith=_prefix(prefix, _BUS_NAME)), "name", next_token, limit)


def delete_bus(name_or_arn: str, *, actor: str = "") -> None:
    """Idempotent, as in AWS. The default bus cannot be deleted, nor a bus that rules still use."""
    name = bus_name(name_or_arn)
    if name == DEFAULT_BUS:
        raise Invalid("Cannot delete event bus default.")
    rules = list(Rule.objects.filter(bus=name).values_list("name", flat=True)[:5])
    if rules:
        raise Invalid(f"Event bus {name} still has rules ({', '.join(rules)}); delete them first.")
    deleted, _ = EventBus.objects.filter(name=name).delete()
    ResourceTag.objects.filter(resource_arn=bus_arn(name)).delete()
    if deleted:
        record_audit(Action.BUS_DELETE, f"event bus {name}", actor=actor)


# Rules.


def _rule(name: object, bus: str | None) -> Rule:
    bus_name_ = get_bus(bus).name
    rule = Rule.objects.filter(bus=bus_name_, name=_check_name(name, "A rule name")).first()
    if rule is None:
        raise NotFound(f"Rule {name} does not exist on EventBus {bus_name_}.")
    return rule


def get_rule(name: object, bus: str | None = None) -> Rule:
    return _rule(name, bus)


def _check_pattern(pattern: object) -> str:
    if pattern is None or pattern == "":
        raise Invalid("Parameter(s) EventPattern or ScheduleExpression must be specified.")
    if not isinstance(pattern, str):
        raise Invalid("EventPattern must be a string holding JSON.")
    try:
        compile_pattern(pattern)
    except InvalidPattern as error:
        raise InvalidEventPattern(str(error)) from None
    return pattern


def _check_state(state: object) -> str:
    if state is None:
        return Rule.State.ENABLED
    if state not in ("ENABLED", "DISABLED"):
        raise Invalid("State must be ENABLED or DISABLED.")
    return Rule.State.ENABLED if state == "ENABLED" else Rule.State.DISABLED


def scheduled_event_pattern(rule: Rule) -> str:
    """The pattern of a scheduled rule: its own Scheduled Events only (dashboard/rules/scheduling.py)."""
    pattern = {"source": ["aws.events"], "detail-type": ["Scheduled Event"], "resources": [rule_arn(rule)]}
    return orjson.dumps(pattern).decode()


def _check_schedule(expression: object) -> str:
    try:
        return parse_schedule(expression).expression
    except InvalidSchedule as error:
        raise Invalid(str(error)) from None


@transaction.atomic
def put_rule(
    name: object,
    *,
    event_pattern: object,
    bus: str | None = None,
    state: object = None,
    description: object = None,
    schedule_expression: object = None,
    tags: object = None,
    actor: str = "",
) -> Rule:
    """Create the rule or replace its settings: as in AWS, what is omitted takes its default. A rule has an
    EventPattern or a ScheduleExpression (then it matches its own Scheduled Events)."""
    _check_name(name, "A rule name")
    scheduled = schedule_expression not in (None, "")
    if scheduled and event_pattern not in (None, ""):
        raise Invalid("Give a rule an EventPattern or a ScheduleExpression, not both.")
    settings_ = {
        "schedule_expression": _check_schedule(schedule_expression) if scheduled else "",
        "event_pattern": "" if scheduled else _check_pattern(event_pattern),
        "state": _check_state(state),
        "description": _check_description(description),
    }
    checked_tags = _tags(tags)
    bus_ = get_bus(bus).name
    rule = Rule.objects.select_for_update().filter(bus=bus_, name=name).first()
    created = rule is None
    if created:
        rule = Rule(bus=bus_, name=name, **settings_)
    if scheduled:
        settings_["event_pattern"] = scheduled_event_pattern(rule)
        if created or rule.schedule_expression != settings_["schedule_expression"] or not rule.next_fire_at:
            settings_["next_fire_at"] = parse_schedule(settings_["schedule_expression"]).next_after(timezone.now())
    else:
        settings_["next_fire_at"] = None
    changed = [attribute for attribute, value in settings_.items() if getattr(rule, attribute) != value]
    _store_tags(rule_arn(rule), checked_tags)
    if created or changed:  # putting the same rule again changes nothing, as on AWS
        for attribute in changed:
            setattr(rule, attribute, settings_[attribute])
        rule.save()
        record_audit(Action.RULE_CREATE if created else Action.RULE_EDIT, f"rule {rule}", actor=actor)
        transaction.on_commit(routing_cache.invalidate)
    return rule


def list_rules(
    bus: str | None = None, prefix: str | None = None, next_token: str | None = None, limit: object = None
) -> Page:
    rules = Rule.objects.filter(bus=get_bus(bus).name, name__startswith=_prefix(prefix, _NAME))
    return _page(rules, "name", next_token, limit)


@transaction.atomic
def delete_rule(name: object, bus: str | None = None, *, force: bool = False, actor: str = "") -> None:
    """Refused while the rule has targets unless forced, as in AWS. Deleting a missing rule succeeds."""
    try:
        rule = _rule(name, bus)
    except NotFound:
        return
    if rule.targets.exists() and not force:
        raise Invalid("Rule can't be deleted since it has targets.")
    targets = sorted(rule.targets.values_list("name", flat=True))
    ResourceTag.objects.filter(resource_arn=rule_arn(rule)).delete()
    rule.delete()
    record_audit(Action.RULE_DELETE, f"rule {rule}", actor=actor, detail={"targets": targets} if targets else None)
    transaction.on_commit(routing_cache.invalidate)


@transaction.atomic
def set_rule_enabled(name: object, bus: str | None, enabled: bool, *, actor: str = "") -> Rule:
    rule = _rule(name, bus)
    rule.state = Rule.State.ENABLED if enabled else Rule.State.DISABLED
    if enabled and rule.schedule_expression:  # ticks missed while disabled are not made up
        rule.next_fire_at = parse_schedule(rule.schedule_expression).next_after(timezone.now())
    rule.save(update_fields=["state", "next_fire_at", "updated_at"])
    record_audit(Action.RULE_ENABLE if enabled else Action.RULE_DISABLE, f"rule {rule}", actor=actor)
    transaction.on_commit(routing_cache.invalidate)
    return rule


def rule_names_by_target(
    arn: object, bus: str | None = None, next_token: str | None = None, limit: object = None
) -> Page:
    _check_target_arn(arn)
    matching = Q(arn=arn) | Q(arn="", kind=Target.Kind.WEBHOOK, url=arn)
    handler = _lambda_handler(arn)
    if handler:
        matching |= Q(arn="", kind=Target.Kind.PYTHON, handler=handler)
    rules = Rule.objects.filter(bus=get_bus(bus).name, targets__in=Target.objects.filter(matching)).distinct()
    return _page(rules, "name", next_token, limit)


# Targets.


@dataclass
class TargetSpec:
    """A target as PutTargets describes it; both APIs build one."""

    id: object
    arn: object
    input: object = None
    input_path: object = None
    input_transformer: object = None
    maximum_retry_attempts: object = None
    maximum_event_age_seconds: object = None
    dead_letter_arn: object = None
    http_parameters: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TargetFailure:
    target_id: str
    code: str
    message: str


def _lambda_handler(arn: str) -> str | None:
    match = _ARN.match(arn)
    if match and match["service"] == "lambda" and match["resource"].startswith("function:"):
        return match["resource"].removeprefix("function:")
    return None


def _check_target_arn(arn: object) -> str:
    if not isinstance(arn, str) or not 1 <= len(arn) <= 1600 or "\x00" in arn:
        raise Invalid("A target's Arn is a string of 1 to 1600 characters.")
    if arn.lower().startswith(("https://", "http://")) or _ARN.match(arn):
        return arn
    raise Invalid(f"Parameter Arn {arn!r} is not valid. Reason: Provided Arn is not in correct format.")


def _check_input(spec: TargetSpec) -> dict | None:
    """The transformer a target's Input, InputPath or InputTransformer comes to (one of them at most)."""
    given = [name for name in ("input", "input_path", "input_transformer") if spec.__dict__[name] not in (None, "")]
    if len(given) > 1:
        raise Invalid("Only one of Input, InputPath or InputTransformer may be given.")
    if spec.input not in (None, ""):
        if not isinstance(spec.input, str) or len(spec.input) > _MAX_INPUT:
            raise Invalid(f"Input must be a JSON string of at most {_MAX_INPUT} characters.")
        try:
            orjson.loads(spec.input)
        except orjson.JSONDecodeError:
            raise Invalid("Input is not valid JSON text.") from None
        # A constant is a template without variables; it has no InputPathsMap, which is how it reads back.
        return {"InputTemplate": spec.input}
    if spec.input_path is not None and not isinstance(spec.input_path, str):
        raise Invalid("InputPath must be a string.")
    if spec.input_transformer not in (None, ""):
        if not isinstance(spec.input_transformer, dict):
            raise Invalid("InputTransformer must be an object with InputTemplate and InputPathsMap.")
        return {"InputPathsMap": {}, **spec.input_transformer}
    return None


def _retry(value: object, name: str, bounds: tuple[int, int]) -> int:
    """A retry policy member within `bounds`; the most AWS allows when not given."""
    low, high = bounds
    if value is None:
        return high
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(f"{name} must be a whole number from {low} to {high}.")
    return value


_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$")


def _check_header_syntax(headers: dict[str, str]) -> None:
    """Names and values a request can carry: a bad one would fail every delivery instead of this request."""
    for name, value in headers.items():
        if not _HEADER_NAME.match(name):
            raise Invalid(f"{name!r} is not a valid HTTP header name.")
        if any(character in value for character in "\r\n\x00"):
            raise Invalid(f"The value of header {name} may not contain line breaks.")


def _check_http_parameters(value: object) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid("HttpParameters must be an object.")
    unknown = set(value) - {"PathParameterValues", "HeaderParameters", "QueryStringParameters"}
    if unknown:
        raise Invalid(f"Unknown HttpParameters members: {', '.join(sorted(unknown))}.")
    paths = value.get("PathParameterValues") or []
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise Invalid("PathParameterValues must be a list of strings.")
    for name in ("HeaderParameters", "QueryStringParameters"):
        members = value.get(name) or {}
        if not isinstance(members, dict) or not all(isinstance(v, str) for v in members.values()):
            raise Invalid(f"{name} must map names to strings.")
    _check_header_syntax(value.get("HeaderParameters") or {})
    return {name: members for name, members in value.items() if members}


def _endpoint(destination: ApiDestination, parameters: dict) -> str:
    """The destination's endpoint with its `*` path parameters filled and the query string added."""
    url = destination.invocation_endpoint
    for value in parameters.get("PathParameterValues", []):
        url = url.replace("*", quote(value, safe=""), 1)
    if "*" in url:
        raise Invalid(
            f"The endpoint {destination.invocation_endpoint} needs a value for each '*' in PathParameterValues."
        )
    query = parameters.get("QueryStringParameters")
    if query:
        url += ("&" if "?" in url else "?") + urlencode(query)
    return url


def _destination_for(arn: str) -> ApiDestination | None:
    match = _ARN.match(arn)
    if not match or match["service"] != "events" or not match["resource"].startswith("api-destination/"):
        return None
    name, _, uid = match["resource"].removeprefix("api-destination/").partition("/")
    destination = ApiDestination.objects.select_related("connection").filter(name=name).first()
    if destination is None or (uid and str(destination.uid) != uid):
        raise Invalid(f"API destination {arn} does not exist.")
    return destination


def _bind(target: Target, spec: TargetSpec) -> None:
    """Point the target where its ARN says (see the module docstring). Raises Invalid."""
    arn = spec.arn
    parameters = _check_http_parameters(spec.http_parameters)
    target.arn, target.http_parameters = arn, parameters or None
    target.headers = parameters.get("HeaderParameters", {})
    target.api_destination, target.auth_headers = None, {}
    handler = _lambda_handler(arn)
    if handler:
        target.kind, target.handler, target.url = Target.Kind.PYTHON, handler, ""
        return
    target.kind, target.handler = Target.Kind.WEBHOOK, ""
    destination = _destination_for(arn)
    if destination is not None:
        target.api_destination = destination
        target.url = _endpoint(destination, parameters)
        target.method = destination.http_method
        target.rate_limit_per_second = destination.invocation_rate_limit_per_second
        target.auth_headers = authorization_headers(destination.connection)
    elif arn.lower().startswith(("https://", "http://")):
        target.url, target.arn = arn, ""
        target.rate_limit_per_second = None
    else:
        raise Invalid(
            f"EventHub cannot deliver to {arn}: use an API destination's ARN, "
            "arn:aws:lambda:REGION:ACCOUNT:function:HANDLER for a registered Python handler, or an https:// URL."
        )


_PUT_FIELDS = (
    "arn",
    "kind",
    "handler",
    "url",
    "method",
    "rate_limit_per_second",
    "headers",
    "auth_headers",
    "http_parameters",
    "api_destination_id",
    "input_path",
    "input_transformer",
    "maximum_retry_attempts",
    "maximum_event_age_seconds",
    "dead_letter_arn",
)


def _put_target(rule: Rule, spec: TargetSpec, actor: str) -> None:
    target = Target.objects.filter(rule=rule, name=spec.id).first()
    created = target is None
    if created:
        target = Target(rule=rule, name=spec.id)
    before = [getattr(target, name) for name in _PUT_FIELDS]
    _bind(target, spec)
    transformer = _check_input(spec)
    target.input_path = spec.input_path or ""
    target.input_transformer = transformer
    try:
        transform.validate(target.input_path, transformer)
    except transform.InvalidTransform as error:
        raise Invalid(str(error)) from None
    target.maximum_retry_attempts = _retry(spec.maximum_retry_attempts, "MaximumRetryAttempts", RETRY_ATTEMPTS)
    target.maximum_event_age_seconds = _retry(
        spec.maximum_event_age_seconds, "MaximumEventAgeInSeconds", EVENT_AGE_SECONDS
    )
    if spec.dead_letter_arn is not None and not isinstance(spec.dead_letter_arn, str):
        raise Invalid("DeadLetterConfig.Arn must be a string.")
    target.dead_letter_arn = spec.dead_letter_arn or ""
    _full_clean(target, exclude=("rule",))
    if not created and before == [getattr(target, name) for name in _PUT_FIELDS]:
        return  # putting the same target again changes nothing
    target.save()
    record_audit(Action.TARGET_CREATE if created else Action.TARGET_EDIT, f"target {target}", actor=actor)
    transaction.on_commit(routing_cache.invalidate)


def put_targets(rule_name: object, bus: str | None, specs: object, *, actor: str = "") -> list[TargetFailure]:
    """Create or replace each target; a target that cannot be put is reported, the others are put."""
    if not isinstance(specs, list) or not 1 <= len(specs) <= 100:
        raise Invalid("Targets must hold 1 to 100 targets.")
    for spec in specs:
        _check_name(spec.id, "A target Id")
        _check_target_arn(spec.arn)
    failures = []
    with transaction.atomic():
        rule = _rule(rule_name, bus)
        for spec in specs:
            try:
                with transaction.atomic():
                    _put_target(rule, spec, actor)
            except Invalid as error:
                failures.append(TargetFailure(spec.id, "ValidationException", str(error)))
    return failures


def remove_targets(rule_name: object, bus: str | None, ids: object, *, actor: str = "") -> list[TargetFailure]:
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise Invalid("Ids must hold 1 to 100 target ids.")
    failures = []
    with transaction.atomic():
        rule = _rule(rule_name, bus)
        for target_id in ids:
            deleted, _ = Target.objects.filter(rule=rule, name=_check_name(target_id, "A target Id")).delete()
            if deleted:
                record_audit(Action.TARGET_DELETE, f"target {rule}/{target_id}", actor=actor)
            else:
                failures.append(
                    TargetFailure(target_id, "ResourceNotFoundException", f"Target {target_id} does not exist.")
                )
        transaction.on_commit(routing_cache.invalidate)
    return failures


def list_targets(
    rule_name: object, bus: str | None = None, next_token: str | None = None, limit: object = None
) -> Page:
    rule = _rule(rule_name, bus)
    return _page(rule.targets.select_related("api_destination"), "name", next_token, limit)


def get_target(rule_name: object, bus: str | None, target_id: object) -> Target:
    found = _rule(rule_name, bus).targets.filter(name=_check_name(target_id, "A target Id")).first()
    if found is None:
        raise NotFound(f"Target {target_id} does not exist on rule {rule_name}.")
    return found


def target_input(target: Target) -> tuple[str, object]:
    """Which of Input, InputPath or InputTransformer the target has, and its value ("", None for none)."""
    if target.input_path:
        return "input_path", target.input_path
    if target.input_transformer is None:
        return "", None
    if "InputPathsMap" not in target.input_transformer:
        return "input", target.input_transformer["InputTemplate"]
    return "input_transformer", target.input_transformer


# Targets in the native API's (and rules files') shape.

_HTTP_PARAMETERS = {
    "path_parameter_values": "PathParameterValues",
    "header_parameters": "HeaderParameters",
    "query_string_parameters": "QueryStringParameters",
}


def native_target(target: Target) -> dict:
    kind, value = target_input(target)
    parameters = target.http_parameters or {}
    return {
        "id": target.name,
        "arn": target_arn(target),
        "input": value if kind == "input" else None,
        "input_path": value if kind == "input_path" else None,
        "input_transformer": value if kind == "input_transformer" else None,
        "retry_policy": {
            "maximum_retry_attempts": target.maximum_retry_attempts,
            "maximum_event_age_seconds": target.maximum_event_age_seconds,
        },
        "dead_letter_arn": target.dead_letter_arn or None,
        "http_parameters": {name: parameters[aws] for name, aws in _HTTP_PARAMETERS.items() if aws in parameters},
    }


def native_target_spec(target_id: object, body: dict) -> TargetSpec:
    """A target given as `native_target` renders one (without "id": it is named apart)."""
    retry = body.get("retry_policy") or {}
    parameters = body.get("http_parameters") or {}
    if not isinstance(retry, dict) or not isinstance(parameters, dict):
        raise Invalid("'retry_policy' and 'http_parameters' must be objects.")
    unknown = set(parameters) - set(_HTTP_PARAMETERS)
    if unknown:
        raise Invalid(f"Unknown http_parameters members: {', '.join(sorted(unknown))}.")
    return TargetSpec(
        id=target_id,
        arn=body.get("arn"),
        input=body.get("input"),
        input_path=body.get("input_path"),
        input_transformer=body.get("input_transformer"),
        maximum_retry_attempts=retry.get("maximum_retry_attempts"),
        maximum_event_age_seconds=retry.get("maximum_event_age_seconds"),
        dead_letter_arn=body.get("dead_letter_arn"),
        http_parameters={_HTTP_PARAMETERS[name]: value for name, value in parameters.items()},
    )


# Connections and API destinations.

_AUTH_MEMBERS = {
    Connection.AuthorizationType.API_KEY: ("ApiKeyAuthParameters", ("ApiKeyName", "ApiKeyValue")),
    Connection.AuthorizationType.BASIC: ("BasicAuthParameters", ("Username", "Password")),
}
_CONNECTION_STATES = (
    "CREATING",
    "UPDATING",
    "DELETING",
    "AUTHORIZED",
    "DEAUTHORIZED",
    "AUTHORIZING",
    "DEAUTHORIZING",
    "ACTIVE",
    "FAILED_CONNECTIVITY",
)
# Members that hold secrets: stored, used to authorize, never shown.
SECRET_MEMBERS = frozenset({"ApiKeyValue", "Password", "ClientSecret"})
_MAX_AUTH_VALUE = 512


def _auth_string(value: object, name: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= _MAX_AUTH_VALUE or "\x00" in value:
        raise Invalid(f"{name} must be a string of 1 to {_MAX_AUTH_VALUE} characters.")
    return value


def _invocation_headers(parameters: object) -> dict | None:
    """InvocationHttpParameters: extra headers on every request; query and body parameters are not supported."""
    if parameters is None:
        return None
    if not isinstance(parameters, dict) or set(parameters) - {"HeaderParameters"}:
        raise Invalid("InvocationHttpParameters may only hold HeaderParameters in EventHub.")
    headers = parameters.get("HeaderParameters") or []
    if not isinstance(headers, list) or not all(isinstance(h, dict) for h in headers):
        raise Invalid("HeaderParameters must be a list of {Key, Value, IsValueSecret}.")
    checked = [
        {
            "Key": _auth_string(header.get("Key"), "A header Key"),
            "Value": _auth_string(header.get("Value"), "A header Value"),
            "IsValueSecret": header.get("IsValueSecret") is True,
        }
        for header in headers
    ]
    try:
        validate_headers({header["Key"]: header["Value"] for header in checked})
    except ValidationError as error:
        raise Invalid(" ".join(error.messages)) from None
    return {"HeaderParameters": checked}


def _auth_parameters(authorization_type: object, parameters: object, stored: dict | None = None) -> dict:
    """Validated AuthParameters for the type; on an update, secrets not sent again are kept from `stored`."""
    if not isinstance(authorization_type, str) or authorization_type not in Connection.AuthorizationType.values:
        raise Invalid("AuthorizationType must be API_KEY, BASIC or OAUTH_CLIENT_CREDENTIALS.")
    if not isinstance(parameters, dict):
        raise Invalid("AuthParameters must be an object.")
    if authorization_type == Connection.AuthorizationType.OAUTH_CLIENT_CREDENTIALS:
        answer: dict = {"OAuthParameters": _oauth_parameters(parameters.get("OAuthParameters"), stored)}
    else:
        member, fields = _AUTH_MEMBERS[authorization_type]
        given = parameters.get(member)
        if not isinstance(given, dict):
            raise Invalid(f"A {authorization_type} connection needs AuthParameters.{member}.")
        kept = (stored or {}).get(member, {})
        answer = {member: {name: _auth_string(given.get(name, kept.get(name)), name) for name in fields}}
    headers = _invocation_headers(parameters.get("InvocationHttpParameters"))
    if headers is None and stored and "InvocationHttpParameters" in stored:
        headers = stored["InvocationHttpParameters"]
    if headers:
        answer["InvocationHttpParameters"] = headers
    _check_header_syntax(_authorization_headers(authorization_type, answer))
    try:
        validate_headers(_authorization_headers(authorization_type, answer))
    except ValidationError as error:
        raise Invalid(" ".join(error.messages)) from None
    return answer


_OAUTH_METHODS = ("GET", "POST", "PUT")
_OAUTH_HTTP_MEMBERS = ("HeaderParameters", "QueryStringParameters", "BodyParameters")


def _oauth_parameters(given: object, stored: dict | None) -> dict:
    """OAuthParameters: the token endpoint, its method, the client credentials and the extra header, query
    and body parameters sent to the endpoint. On an update, what is not sent again is kept from `stored`."""
    kept = (stored or {}).get("OAuthParameters", {})
    if given is None and kept:
        given = {}
    if not isinstance(given, dict):
        raise Invalid("An OAUTH_CLIENT_CREDENTIALS connection needs AuthParameters.OAuthParameters.")
    client = given.get("ClientParameters", {})
    if not isinstance(client, dict):
        raise Invalid("ClientParameters must be an object with ClientID and ClientSecret.")
    kept_client = kept.get("ClientParameters", {})
    endpoint = given.get("AuthorizationEndpoint", kept.get("AuthorizationEndpoint"))
    if (
        not isinstance(endpoint, str)
        or len(endpoint) > 2048
        or not endpoint.lower().startswith(("https://", "http://"))
    ):
        raise Invalid("AuthorizationEndpoint must be an https:// (or http://) URL of at most 2048 characters.")
    try:
        URLValidator(schemes=["http", "https"])(endpoint)
    except ValidationError:
        raise Invalid(f"AuthorizationEndpoint {endpoint!r} is not a valid URL.") from None
    method = given.get("HttpMethod", kept.get("HttpMethod"))
    if method not in _OAUTH_METHODS:
        raise Invalid("HttpMethod (of the authorization endpoint) must be GET, POST or PUT.")
    answer = {
        "ClientParameters": {
            name: _auth_string(client.get(name, kept_client.get(name)), name) for name in ("ClientID", "ClientSecret")
        },
        "AuthorizationEndpoint": endpoint,
        "HttpMethod": method,
    }
    http = given.get("OAuthHttpParameters", kept.get("OAuthHttpParameters"))
    if http is not None:
        if not isinstance(http, dict) or set(http) - set(_OAUTH_HTTP_MEMBERS):
            raise Invalid(f"OAuthHttpParameters may hold {', '.join(_OAUTH_HTTP_MEMBERS)}.")
        answer["OAuthHttpParameters"] = {
            name: _key_values(http[name], name) for name in _OAUTH_HTTP_MEMBERS if name in http
        }
    return answer


def _key_values(parameters: object, name: str) -> list[dict]:
    if not isinstance(parameters, list) or not all(isinstance(p, dict) for p in parameters) or len(parameters) > 100:
        raise Invalid(f"{name} must be a list of at most 100 {{Key, Value, IsValueSecret}}.")
    return [
        {
            "Key": _auth_string(parameter.get("Key"), f"A {name} Key"),
            "Value": _auth_string(parameter.get("Value"), f"A {name} Value"),
            "IsValueSecret": parameter.get("IsValueSecret") is True,
        }
        for parameter in parameters
    ]


def _authorization_headers(authorization_type: str, parameters: dict) -> dict[str, str]:
    headers = {h["Key"]: h["Value"] for h in parameters.get("InvocationHttpParameters", {}).get("HeaderParameters", [])}
    if authorization_type == Connection.AuthorizationType.API_KEY:
        key = parameters["ApiKeyAuthParameters"]
        headers[key["ApiKeyName"]] = key["ApiKeyValue"]
    elif authorization_type == Connection.AuthorizationType.BASIC:
        basic = parameters["BasicAuthParameters"]
        token = base64.b64encode(f"{basic['Username']}:{basic['Password']}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return headers


def authorization_headers(connection: Connection) -> dict[str, str]:
    """The headers every request to one of the connection's API destinations carries."""
    return _authorization_headers(connection.authorization_type, connection.auth_parameters)


def shown_auth_parameters(connection: Connection) -> dict:
    """AuthParameters as DescribeConnection shows them: without any secret."""
    shown: dict = {}
    for member, value in connection.auth_parameters.items():
        if member == "InvocationHttpParameters":
            shown[member] = {"HeaderParameters": _shown_key_values(value["HeaderParameters"])}
        elif member == "OAuthParameters":
            oauth = {
                "ClientParameters": {"ClientID": value["ClientParameters"]["ClientID"]},
                "AuthorizationEndpoint": value["AuthorizationEndpoint"],
                "HttpMethod": value["HttpMethod"],
            }
            if "OAuthHttpParameters" in value:
                http = value["OAuthHttpParameters"]
                oauth["OAuthHttpParameters"] = {name: _shown_key_values(v) for name, v in http.items()}
            shown[member] = oauth
        else:
            shown[member] = {name: v for name, v in value.items() if name not in SECRET_MEMBERS}
    return shown


def _shown_key_values(parameters: list[dict]) -> list[dict]:
    return [{k: v for k, v in p.items() if not (k == "Value" and p["IsValueSecret"])} for p in parameters]


def _refresh_bound_targets(destinations: QuerySet) -> None:
    """Targets copy their API destination's settings: copy them again after the destination or its connection
    changed. Saved one by one, so `updated_at` moves and every process's routing table reloads."""
    for target in Target.objects.filter(api_destination__in=destinations).select_related("api_destination__connection"):
        destination = target.api_destination
        target.url = _endpoint(destination, target.http_parameters or {})
        target.method = destination.http_method
        target.rate_limit_per_second = destination.invocation_rate_limit_per_second
        target.auth_headers = authorization_headers(destination.connection)
        target.save()
    transaction.on_commit(routing_cache.invalidate)


def get_connection(name: object) -> Connection:
    connection = Connection.objects.filter(name=_check_name(_resource_name(name, "connection"), "A name")).first()
    if connection is None:
        raise NotFound(f"Connection '{name}' does not exist.")
    return connection


def create_connection(
    name: object, *, authorization_type: object, auth_parameters: object, description: object = None
) -> Connection:
    connection = Connection(
        name=_check_name(name, "A connection name"),
        description=_check_description(description),
        authorization_type=authorization_type,
        auth_parameters=_auth_parameters(authorization_type, auth_parameters),
        last_authorized_at=timezone.now(),
    )
    return _save_new(connection, f"Connection {connection.name}")


@transaction.atomic
def update_connection(
    name: object, *, authorization_type: object = None, auth_parameters: object = None, description: object = None
) -> Connection:
    connection = get_connection(name)
    connection = Connection.objects.select_for_update().get(pk=connection.pk)
    if description is not None:
        connection.description = _check_description(description)
    new_type = authorization_type or connection.authorization_type
    if auth_parameters is not None or new_type != connection.authorization_type:
        stored = connection.auth_parameters if new_type == connection.authorization_type else None
        connection.auth_parameters = _auth_parameters(new_type, auth_parameters or {}, stored)
        connection.authorization_type = new_type
        # New credentials authorize the connection again, as in AWS; the workers' next token request tells.
        connection.state = Connection.State.AUTHORIZED
        connection.last_authorized_at = timezone.now()
    connection.save()
    _refresh_bound_targets(connection.api_destinations.all())
    return connection


def list_connections(
    prefix: str | None = None, state: str | None = None, next_token: str | None = None, limit: object = None
) -> Page:
    connections = Connection.objects.filter(name__startswith=_prefix(prefix, _NAME))
    if state:
        if state not in _CONNECTION_STATES:
            raise Invalid(f"ConnectionState must be one of {', '.join(_CONNECTION_STATES)}.")
        connections = connections.filter(state=state)
    return _page(connections, "name", next_token, limit)


@transaction.atomic
def delete_connection(name: object, *, actor: str = "") -> Connection:
    connection = get_connection(name)
    used_by = list(connection.api_destinations.values_list("name", flat=True)[:5])
    if used_by:
        raise Invalid(f"Connection {connection.name} is used by API destinations ({', '.join(used_by)}).")
    ResourceTag.objects.filter(resource_arn=connection_arn(connection)).delete()
    connection.delete()
    record_audit(Action.CONNECTION_DELETE, f"connection {connection.name}", actor=actor)
    return connection


def _check_endpoint(value: object) -> str:
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= 2048
        or not value.lower().startswith(("https://", "http://"))
    ):
        raise Invalid("InvocationEndpoint must be an https:// (or http://) URL of at most 2048 characters.")
    try:
        URLValidator(schemes=["http", "https"])(value.replace("*", "x"))
    except ValidationError:
        raise Invalid(f"InvocationEndpoint {value!r} is not a valid URL.") from None
    return value


def _check_method(value: object) -> str:
    if value not in ApiDestination.Method.values:
        raise Invalid("HttpMethod must be POST, PUT or PATCH: EventHub sends the event as the request body.")
    return value


def _check_rate(value: object) -> int | None:
    if value is None:
        return None
    low, high = INVOCATION_RATE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(f"InvocationRateLimitPerSecond must be a whole number from {low} to {high}.")
    return value


def get_api_destination(name: object) -> ApiDestination:
    destination = (
        ApiDestination.objects.select_related("connection")
        .filter(name=_check_name(_resource_name(name, "api-destination"), "A name"))
        .first()
    )
    if destination is None:
        raise NotFound(f"An api-destination '{name}' does not exist.")
    return destination


def create_api_destination(
    name: object,
    *,
    connection: object,
    invocation_endpoint: object,
    http_method: object,
    invocation_rate_limit_per_second: object = None,
    description: object = None,
) -> ApiDestination:
    destination = ApiDestination(
        name=_check_name(name, "An API destination name"),
        description=_check_description(description),
        invocation_endpoint=_check_endpoint(invocation_endpoint),
        http_method=_check_method(http_method),
        invocation_rate_limit_per_second=_check_rate(invocation_rate_limit_per_second),
    )
    destination.connection = get_connection(connection)
    return _save_new(destination, f"An api-destination '{destination.name}'")


_UNSET = object()


@transaction.atomic
def update_api_destination(
    name: object,
    *,
    connection: object = None,
    invocation_endpoint: object = None,
    http_method: object = None,
    invocation_rate_limit_per_second: object = _UNSET,
    description: object = None,
) -> ApiDestination:
    destination = get_api_destination(name)
    destination = ApiDestination.objects.select_for_update().select_related("connection").get(pk=destination.pk)
    if connection is not None:
        destination.connection = get_connection(connection)
    if invocation_endpoint is not None:
        destination.invocation_endpoint = _check_endpoint(invocation_endpoint)
    if http_method is not None:
        destination.http_method = _check_method(http_method)
    if invocation_rate_limit_per_second is not _UNSET:
        destination.invocation_rate_limit_per_second = _check_rate(invocation_rate_limit_per_second)
    if description is not None:
        destination.description = _check_description(description)
    destination.save()
    _refresh_bound_targets(ApiDestination.objects.filter(pk=destination.pk))
    return destination


def list_api_destinations(
    prefix: str | None = None, connection: str | None = None, next_token: str | None = None, limit: object = None
) -> Page:
    destinations = ApiDestination.objects.select_related("connection").filter(name__startswith=_prefix(prefix, _NAME))
    if connection:
        destinations = destinations.filter(connection=get_connection(connection))
    return _page(destinations, "name", next_token, limit)


@transaction.atomic
def delete_api_destination(name: object, *, actor: str = "") -> None:
    destination = get_api_destination(name)
    used_by = [str(target) for target in destination.targets.select_related("rule")[:5]]
    if used_by:
        raise Invalid(f"API destination {destination.name} is the target of rules ({', '.join(used_by)}).")
    ResourceTag.objects.filter(resource_arn=api_destination_arn(destination)).delete()
    destination.delete()
    record_audit(Action.DESTINATION_DELETE, f"API destination {destination.name}", actor=actor)


# Archives and replays: the event-sourcing records (models/streams.py, eventsourcing/replay.py) under AWS names.

_ARCHIVE_NAME = re.compile(rf"^{ARCHIVE_NAME_CHARACTERS}{{1,{ARCHIVE_NAME_LENGTH}}}$")
_REPLAY_STATES = {state.upper(): state for state in Replay.State.values}


class IllegalStatus(ConfigurationError):
    pass


def archive_arn(name: str) -> str:
    return _arn(f"archive/{name}")


def replay_arn(name: str) -> str:
    return _arn(f"replay/{name}")


def _check_archive_name(value: object) -> str:
    if not isinstance(value, str) or not _ARCHIVE_NAME.match(value):
        raise Invalid(f"An archive name is 1 to {ARCHIVE_NAME_LENGTH} letters, digits, '-' or '_'.")
    return value


def _optional_pattern(pattern: object) -> str:
    return "" if pattern in (None, "") else _check_pattern(pattern)


def _retention_days(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**31 - 1:
        raise Invalid("RetentionDays must be a whole number of days, 0 to keep events forever.")
    return value


def get_archive(name: object) -> Archive:
    archive = Archive.objects.filter(name=_check_archive_name(_resource_name(name, "archive"))).first()
    if archive is None:
        raise NotFound(f"Archive {name} does not exist.")
    return archive


def create_archive(
    name: object,
    *,
    bus: object,
    description: object = None,
    event_pattern: object = None,
    retention_days: object = None,
) -> Archive:
    archive = Archive(
        name=_check_archive_name(name),
        bus=get_bus(bus).name,
        description=_check_description(description),
        event_pattern=_optional_pattern(event_pattern),
        retention_days=_retention_days(retention_days),
    )
    return _save_new(archive, f"Archive {archive.name}")


@transaction.atomic
def update_archive(
    name: object, *, description: object = None, event_pattern: object = None, retention_days: object = None
) -> Archive:
    archive = get_archive(name)
    if description is not None:
        archive.description = _check_description(description)
    if event_pattern is not None:
        archive.event_pattern = _optional_pattern(event_pattern)
    if retention_days is not None:
        archive.retention_days = _retention_days(retention_days)
    archive.save()
    return archive


def list_archives(
    prefix: str | None = None, bus: str | None = None, next_token: str | None = None, limit: object = None
) -> Page:
    archives = Archive.objects.filter(name__startswith=_prefix(prefix, _NAME))
    if bus:
        archives = archives.filter(bus=bus_name(bus))
    return _page(archives, "name", next_token, limit)


@transaction.atomic
def delete_archive(name: object) -> None:
    """Replays made from it keep their own copy of its bus and pattern."""
    archive = get_archive(name)
    ResourceTag.objects.filter(resource_arn=archive_arn(archive.name)).delete()
    archive.delete()


def replay_state(replay: Replay) -> str:
    return replay.state.upper()


def _replay_rules(rule_arns: object, bus: str) -> tuple[int, ...]:
    """Rule ids from Destination.FilterArns (ARNs of rules on the replayed bus)."""
    if rule_arns is None:
        return ()
    if not isinstance(rule_arns, list) or not all(isinstance(arn, str) for arn in rule_arns):
        raise Invalid("FilterArns must be a list of rule ARNs.")
    ids = []
    for arn in rule_arns:
        rule = _rule_of_arn(arn)
        if rule is None or rule.bus != bus:
            raise NotFound(f"Rule {arn} does not exist on event bus {bus}.")
        ids.append(rule.pk)
    return tuple(ids)


def get_replay(name: object) -> Replay:
    if not isinstance(name, str) or not REPLAY_NAME.match(name):
        raise NotFound(f"Replay {name} does not exist.")
    replay = Replay.objects.filter(name=name).first()
    if replay is None:
        raise NotFound(f"Replay {name} does not exist.")
    return replay


def start_aws_replay(
    name: object,
    *,
    source_arn: object,
    start: datetime,
    end: datetime,
    destination_bus: object,
    rule_arns: object = None,
    description: object = None,
    actor: str = "",
) -> Replay:
    """StartReplay: the archive's (or, an EventHub extension, a bus's) events of [start, end) sent again
    through the destination bus's rules, or only those in `rule_arns`."""
    if not isinstance(name, str) or not REPLAY_NAME.match(name):
        raise Invalid("A replay name is 1 to 64 letters, digits, '-' or '_'.")
    if not isinstance(source_arn, str) or not source_arn.startswith("arn:"):
        raise Invalid("EventSourceArn must be the ARN of an archive.")
    source = {"start": start, "end": end}
    if ":archive/" in source_arn:
        archive = get_archive(source_arn)
        source |= {"archive": archive.name}
        bus = archive.bus
    else:
        bus = get_bus(source_arn).name
        source |= {"bus": bus}
    if bus_name(destination_bus) != bus:
        raise Invalid(f"Destination.Arn must be the ARN of the event bus the events came from ({bus}).")
    if Replay.objects.filter(name=name).exists():
        raise AlreadyExists(f"Replay {name} already exists.")
    try:
        spec = replace(parse_spec(source), rule_ids=_replay_rules(rule_arns, bus))
        replay = start_replay(name, spec, description=_check_description(description))
    except InvalidReplay as error:
        raise Invalid(str(error)) from None
    record_audit(Action.REPLAY_START, f"replay {replay.name}", actor=actor, count=replay.events_total)
    return replay


def list_replays(
    prefix: str | None = None,
    state: str | None = None,
    source_arn: str | None = None,
    next_token: str | None = None,
    limit: object = None,
) -> Page:
    replays = Replay.objects.filter(name__startswith=_prefix(prefix, _NAME))
    if state:
        if state not in _REPLAY_STATES:
            raise Invalid(f"State must be one of {', '.join(_REPLAY_STATES)}.")
        replays = replays.filter(state=_REPLAY_STATES[state])
    if source_arn:
        replays = replays.filter(archive_name=get_archive(source_arn).name)
    return _page(replays, "name", next_token, limit)


def cancel_aws_replay(name: object, *, actor: str = "") -> Replay:
    replay = get_replay(name)
    if not cancel_replay(replay.name):
        raise IllegalStatus(f"Replay {replay.name} is {replay_state(replay)}; only a running replay can be cancelled.")
    record_audit(Action.REPLAY_CANCEL, f"replay {replay.name}", actor=actor)
    return Replay.objects.get(pk=replay.pk)


# Tags, on any resource by its ARN.

_MAX_TAG_KEY, _MAX_TAG_VALUE = 128, 256


def _rule_of_arn(arn: str) -> Rule | None:
    match = _ARN.match(arn)
    if not match or match["service"] != "events" or not match["resource"].startswith("rule/"):
        return None
    *bus_parts, name = match["resource"].removeprefix("rule/").split("/")
    return Rule.objects.filter(bus="/".join(bus_parts) or DEFAULT_BUS, name=name).first()


def _tagged_resource_arn(arn: object) -> str:
    """The canonical ARN of the resource `arn` names; NotFound when there is none."""
    if not isinstance(arn, str) or "\x00" in arn:
        raise Invalid("ResourceARN must be an ARN.")
    match = _ARN.match(arn)
    kind = match["resource"].split("/", 1)[0] if match and match["service"] == "events" else ""
    try:
        if kind == "event-bus":
            return bus_arn(get_bus(arn).name)
        if kind == "rule":
            rule = _rule_of_arn(arn)
            if rule is not None:
                return rule_arn(rule)
        if kind == "connection":
            return connection_arn(get_connection(arn))
        if kind == "api-destination":
            return api_destination_arn(get_api_destination(arn))
        if kind == "archive":
            return archive_arn(get_archive(arn).name)
    except Invalid:
        pass
    raise NotFound(f"Resource {arn} does not exist.")


def _tags(tags: object) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, list) or not all(isinstance(tag, dict) for tag in tags):
        raise Invalid("Tags must be a list of {Key, Value}.")
    checked = {}
    for tag in tags:
        key, value = tag.get("Key"), tag.get("Value", "")
        if not isinstance(key, str) or not 1 <= len(key) <= _MAX_TAG_KEY or "\x00" in key:
            raise Invalid(f"A tag Key is a string of 1 to {_MAX_TAG_KEY} characters.")
        if not isinstance(value, str) or len(value) > _MAX_TAG_VALUE or "\x00" in value:
            raise Invalid(f"A tag Value is a string of at most {_MAX_TAG_VALUE} characters.")
        checked[key] = value
    return checked


def _store_tags(resource_arn: str, tags: dict[str, str]) -> None:
    for key, value in tags.items():
        ResourceTag.objects.update_or_create(resource_arn=resource_arn, key=key, defaults={"value": value})


@transaction.atomic
def tag_resource(arn: object, tags: object) -> None:
    _store_tags(_tagged_resource_arn(arn), _tags(tags))


def untag_resource(arn: object, keys: object) -> None:
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        raise Invalid("TagKeys must be a list of strings.")
    ResourceTag.objects.filter(resource_arn=_tagged_resource_arn(arn), key__in=keys).delete()


def list_tags(arn: object) -> list[ResourceTag]:
    return list(ResourceTag.objects.filter(resource_arn=_tagged_resource_arn(arn)))
