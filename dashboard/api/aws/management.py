"""The EventBridge management operations (buses, rules, targets, connections, API destinations, archives,
replays, tags) over AWS JSON 1.1. Thin: translate AWS's members to dashboard.rules.configuration's arguments,
render its records in AWS's shapes, and map its errors to AWS's codes. Registered into `aws.OPERATIONS`;
every one needs the `admin` scope."""

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime

from asgiref.sync import sync_to_async
from django.conf import settings

from dashboard.models import ApiDestination, Connection, EventBus, Rule, Target
from dashboard.models.streams import Archive, Replay
from dashboard.rules import configuration as config

SCOPE = "admin"
# The access key of the request being served, for the audit log (set by aws.handle).
acting_key: ContextVar[str] = ContextVar("acting_key", default="")

_ERROR_CODES = {
    config.NotFound: "ResourceNotFoundException",
    config.AlreadyExists: "ResourceAlreadyExistsException",
    config.Invalid: "ValidationException",
    config.InvalidEventPattern: "InvalidEventPatternException",
    config.IllegalStatus: "IllegalStatusException",
}


def _epoch(moment) -> float:
    return moment.timestamp()


def _required(params: dict, *names: str) -> None:
    for name in names:
        if params.get(name) is None:
            raise config.Invalid(
                f"1 validation error detected: Value null at '{name[0].lower()}{name[1:]}' failed to satisfy "
                "constraint: Member must not be null",
            )


def _page(page: config.Page, name: str, render: Callable) -> dict:
    answer: dict = {name: [render(item) for item in page.items]}
    if page.next_token:
        answer["NextToken"] = page.next_token
    return answer


def _listing(
    list_page: Callable[..., config.Page], filters: tuple[str, ...], name: str, render: Callable
) -> Callable[[dict], dict]:
    """A List* operation: `list_page` takes the filter members in order, then NextToken and Limit."""

    def operation(params: dict) -> dict:
        page = list_page(*(params.get(member) for member in filters), params.get("NextToken"), params.get("Limit"))
        return _page(page, name, render)

    return operation


# Buses.


def _bus(bus: EventBus) -> dict:
    answer = {
        "Name": bus.name,
        "Arn": config.bus_arn(bus.name),
        "CreationTime": _epoch(bus.created_at),
        "LastModifiedTime": _epoch(bus.updated_at),
    }
    if bus.description:
        answer["Description"] = bus.description
    return answer


def create_event_bus(params: dict) -> dict:
    _required(params, "Name")
    bus = config.create_bus(params["Name"], params.get("Description"), params.get("Tags"))
    answer = {"EventBusArn": config.bus_arn(bus.name)}
    if bus.description:
        answer["Description"] = bus.description
    return answer


def describe_event_bus(params: dict) -> dict:
    return _bus(config.get_bus(params.get("Name")))


list_event_buses = _listing(config.list_buses, ("NamePrefix",), "EventBuses", _bus)


def delete_event_bus(params: dict) -> dict:
    _required(params, "Name")
    config.delete_bus(params["Name"], actor=_actor())
    return {}


# Rules.


def _rule(rule: Rule) -> dict:
    answer = {"Name": rule.name, "Arn": config.rule_arn(rule), "State": rule.state.upper(), "EventBusName": rule.bus}
    if rule.schedule_expression:
        answer["ScheduleExpression"] = rule.schedule_expression
    else:
        answer["EventPattern"] = rule.event_pattern
    if rule.description:
        answer["Description"] = rule.description
    return answer


def put_rule(params: dict) -> dict:
    _required(params, "Name")
    rule = config.put_rule(
        params["Name"],
        event_pattern=params.get("EventPattern"),
        bus=params.get("EventBusName"),
        state=params.get("State"),
        description=params.get("Description"),
        schedule_expression=params.get("ScheduleExpression"),
        tags=params.get("Tags"),
        actor=_actor(),
    )
    return {"RuleArn": config.rule_arn(rule)}


def describe_rule(params: dict) -> dict:
    _required(params, "Name")
    return _rule(config.get_rule(params["Name"], params.get("EventBusName"))) | {"CreatedBy": _account()}


list_rules = _listing(config.list_rules, ("EventBusName", "NamePrefix"), "Rules", _rule)


def delete_rule(params: dict) -> dict:
    _required(params, "Name")
    config.delete_rule(params["Name"], params.get("EventBusName"), force=bool(params.get("Force")), actor=_actor())
    return {}


def enable_rule(params: dict) -> dict:
    _required(params, "Name")
    config.set_rule_enabled(params["Name"], params.get("EventBusName"), True, actor=_actor())
    return {}


def disable_rule(params: dict) -> dict:
    _required(params, "Name")
    config.set_rule_enabled(params["Name"], params.get("EventBusName"), False, actor=_actor())
    return {}


def list_rule_names_by_target(params: dict) -> dict:
    _required(params, "TargetArn")
    page = config.rule_names_by_target(
        params["TargetArn"], params.get("EventBusName"), params.get("NextToken"), params.get("Limit")
    )
    return _page(page, "RuleNames", lambda rule: rule.name)


# Targets.


def _target_spec(entry: object) -> config.TargetSpec:
    if not isinstance(entry, dict):
        raise config.Invalid("Each target must be a JSON object.")
    _required(entry, "Id", "Arn")
    retry = entry.get("RetryPolicy") or {}
    dead_letter = entry.get("DeadLetterConfig") or {}
    if not isinstance(retry, dict) or not isinstance(dead_letter, dict):
        raise config.Invalid("RetryPolicy and DeadLetterConfig must be JSON objects.")
    return config.TargetSpec(
        id=entry["Id"],
        arn=entry["Arn"],
        input=entry.get("Input"),
        input_path=entry.get("InputPath"),
        input_transformer=entry.get("InputTransformer"),
        maximum_retry_attempts=retry.get("MaximumRetryAttempts"),
        maximum_event_age_seconds=retry.get("MaximumEventAgeInSeconds"),
        dead_letter_arn=dead_letter.get("Arn"),
        http_parameters=entry.get("HttpParameters"),
    )


_INPUT_MEMBERS = {"input": "Input", "input_path": "InputPath", "input_transformer": "InputTransformer"}


def _target(target: Target) -> dict:
    answer: dict = {"Id": target.name, "Arn": config.target_arn(target)}
    kind, value = config.target_input(target)
    if kind:
        answer[_INPUT_MEMBERS[kind]] = value
    answer["RetryPolicy"] = {
        "MaximumRetryAttempts": target.maximum_retry_attempts,
        "MaximumEventAgeInSeconds": target.maximum_event_age_seconds,
    }
    if target.dead_letter_arn:
        answer["DeadLetterConfig"] = {"Arn": target.dead_letter_arn}
    if target.http_parameters:
        answer["HttpParameters"] = target.http_parameters
    return answer


def _failures(failures: list[config.TargetFailure]) -> dict:
    return {
        "FailedEntryCount": len(failures),
        "FailedEntries": [
            {"TargetId": failure.target_id, "ErrorCode": failure.code, "ErrorMessage": failure.message}
            for failure in failures
        ],
    }


def put_targets(params: dict) -> dict:
    _required(params, "Rule", "Targets")
    specs = [_target_spec(entry) for entry in params["Targets"]]
    return _failures(config.put_targets(params["Rule"], params.get("EventBusName"), specs, actor=_actor()))


def remove_targets(params: dict) -> dict:
    _required(params, "Rule", "Ids")
    return _failures(config.remove_targets(params["Rule"], params.get("EventBusName"), params["Ids"], actor=_actor()))


def list_targets_by_rule(params: dict) -> dict:
    _required(params, "Rule")
    page = config.list_targets(params["Rule"], params.get("EventBusName"), params.get("NextToken"), params.get("Limit"))
    return _page(page, "Targets", _target)


# Connections and API destinations.


def _connection_state(connection: Connection) -> dict:
    return {
        "ConnectionArn": config.connection_arn(connection),
        "ConnectionState": connection.state,
        "CreationTime": _epoch(connection.created_at),
        "LastModifiedTime": _epoch(connection.updated_at),
        "LastAuthorizedTime": _epoch(connection.last_authorized_at or connection.created_at),
    }


def _connection(connection: Connection) -> dict:
    answer = _connection_state(connection) | {
        "Name": connection.name,
        "AuthorizationType": connection.authorization_type,
    }
    if connection.description:
        answer["Description"] = connection.description
    return answer


def create_connection(params: dict) -> dict:
    _required(params, "Name", "AuthorizationType", "AuthParameters")
    connection = config.create_connection(
        params["Name"],
        authorization_type=params["AuthorizationType"],
        auth_parameters=params["AuthParameters"],
        description=params.get("Description"),
    )
    return _connection_state(connection)


def describe_connection(params: dict) -> dict:
    _required(params, "Name")
    connection = config.get_connection(params["Name"])
    return _connection(connection) | {"AuthParameters": config.shown_auth_parameters(connection)}


list_connections = _listing(config.list_connections, ("NamePrefix", "ConnectionState"), "Connections", _connection)


def update_connection(params: dict) -> dict:
    _required(params, "Name")
    connection = config.update_connection(
        params["Name"],
        authorization_type=params.get("AuthorizationType"),
        auth_parameters=params.get("AuthParameters"),
        description=params.get("Description"),
    )
    return _connection_state(connection)


def delete_connection(params: dict) -> dict:
    _required(params, "Name")
    return _connection_state(config.delete_connection(params["Name"], actor=_actor())) | {"ConnectionState": "DELETING"}


def _destination_state(destination: ApiDestination) -> dict:
    return {
        "ApiDestinationArn": config.api_destination_arn(destination),
        "ApiDestinationState": "ACTIVE",
        "CreationTime": _epoch(destination.created_at),
        "LastModifiedTime": _epoch(destination.updated_at),
    }


def _destination(destination: ApiDestination) -> dict:
    answer = _destination_state(destination) | {
        "Name": destination.name,
        "ConnectionArn": config.connection_arn(destination.connection),
        "InvocationEndpoint": destination.invocation_endpoint,
        "HttpMethod": destination.http_method,
    }
    if destination.invocation_rate_limit_per_second:
        answer["InvocationRateLimitPerSecond"] = destination.invocation_rate_limit_per_second
    if destination.description:
        answer["Description"] = destination.description
    return answer


def create_api_destination(params: dict) -> dict:
    _required(params, "Name", "ConnectionArn", "InvocationEndpoint", "HttpMethod")
    destination = config.create_api_destination(
        params["Name"],
        connection=params["ConnectionArn"],
        invocation_endpoint=params["InvocationEndpoint"],
        http_method=params["HttpMethod"],
        invocation_rate_limit_per_second=params.get("InvocationRateLimitPerSecond"),
        description=params.get("Description"),
    )
    return _destination_state(destination)


def describe_api_destination(params: dict) -> dict:
    _required(params, "Name")
    return _destination(config.get_api_destination(params["Name"]))


list_api_destinations = _listing(
    config.list_api_destinations, ("NamePrefix", "ConnectionArn"), "ApiDestinations", _destination
)


def update_api_destination(params: dict) -> dict:
    _required(params, "Name")
    changes = {
        name: params[member]
        for member, name in (
            ("ConnectionArn", "connection"),
            ("InvocationEndpoint", "invocation_endpoint"),
            ("HttpMethod", "http_method"),
            ("InvocationRateLimitPerSecond", "invocation_rate_limit_per_second"),
            ("Description", "description"),
        )
        if params.get(member) is not None
    }
    return _destination_state(config.update_api_destination(params["Name"], **changes))


def delete_api_destination(params: dict) -> dict:
    _required(params, "Name")
    config.delete_api_destination(params["Name"], actor=_actor())
    return {}


# Archives and replays.


def _archive_state(archive: Archive) -> dict:
    return {
        "ArchiveArn": config.archive_arn(archive.name),
        "State": "ENABLED",
        "CreationTime": _epoch(archive.created_at),
    }


def _archive(archive: Archive) -> dict:
    answer = _archive_state(archive) | {
        "ArchiveName": archive.name,
        "EventSourceArn": config.bus_arn(archive.bus),
        "RetentionDays": archive.retention_days,
    }
    if archive.description:
        answer["Description"] = archive.description
    if archive.event_pattern:
        answer["EventPattern"] = archive.event_pattern
    return answer


def create_archive(params: dict) -> dict:
    _required(params, "ArchiveName", "EventSourceArn")
    archive = config.create_archive(
        params["ArchiveName"],
        bus=params["EventSourceArn"],
        description=params.get("Description"),
        event_pattern=params.get("EventPattern"),
        retention_days=params.get("RetentionDays"),
    )
    return _archive_state(archive)


def describe_archive(params: dict) -> dict:
    _required(params, "ArchiveName")
    return _archive(config.get_archive(params["ArchiveName"]))


_list_archives = _listing(config.list_archives, ("NamePrefix", "EventSourceArn"), "Archives", _archive)


def list_archives(params: dict) -> dict:
    if params.get("State") not in (None, "ENABLED"):
        return {"Archives": []}  # EventHub's archives are always enabled
    return _list_archives(params)


def update_archive(params: dict) -> dict:
    _required(params, "ArchiveName")
    archive = config.update_archive(
        params["ArchiveName"],
        description=params.get("Description"),
        event_pattern=params.get("EventPattern"),
        retention_days=params.get("RetentionDays"),
    )
    return _archive_state(archive)


def delete_archive(params: dict) -> dict:
    _required(params, "ArchiveName")
    config.delete_archive(params["ArchiveName"])
    return {}


def _replay(replay: Replay) -> dict:
    answer = {
        "ReplayName": replay.name,
        "ReplayArn": config.replay_arn(replay.name),
        "State": config.replay_state(replay),
        "EventSourceArn": (
            config.archive_arn(replay.archive_name) if replay.archive_name else config.bus_arn(replay.bus)
        ),
        "EventStartTime": _epoch(replay.event_start_time),
        "EventEndTime": _epoch(replay.event_end_time),
        "ReplayStartTime": _epoch(replay.started_at or replay.created_at),
    }
    if replay.state_reason:
        answer["StateReason"] = replay.state_reason[:512]
    if replay.last_replayed_time:
        answer["EventLastReplayedTime"] = _epoch(replay.last_replayed_time)
    if replay.ended_at:
        answer["ReplayEndTime"] = _epoch(replay.ended_at)
    return answer


def _timestamp(params: dict, name: str) -> datetime:
    value = params[name]
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise config.Invalid(f"{name} is not a timestamp.") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    try:
        return datetime.fromtimestamp(value, UTC)
    except (ValueError, OverflowError, OSError):
        raise config.Invalid(f"{name} is outside the supported range of dates.") from None


def start_replay(params: dict) -> dict:
    _required(params, "ReplayName", "EventSourceArn", "EventStartTime", "EventEndTime", "Destination")
    destination = params["Destination"]
    if not isinstance(destination, dict):
        raise config.Invalid("Destination must be an object.")
    _required(destination, "Arn")
    replay = config.start_aws_replay(
        params["ReplayName"],
        source_arn=params["EventSourceArn"],
        start=_timestamp(params, "EventStartTime"),
        end=_timestamp(params, "EventEndTime"),
        destination_bus=destination["Arn"],
        rule_arns=destination.get("FilterArns"),
        description=params.get("Description"),
        actor=_actor(),
    )
    return {
        "ReplayArn": config.replay_arn(replay.name),
        "State": config.replay_state(replay),
        "ReplayStartTime": _epoch(replay.created_at),
    }


def describe_replay(params: dict) -> dict:
    _required(params, "ReplayName")
    replay = config.get_replay(params["ReplayName"])
    rules = Rule.objects.filter(pk__in=replay.rule_ids)
    destination = {"Arn": config.bus_arn(replay.bus)}
    if replay.rule_ids:
        destination["FilterArns"] = [config.rule_arn(rule) for rule in rules]
    answer = _replay(replay) | {"Destination": destination}
    if replay.description:
        answer["Description"] = replay.description[:512]
    return answer


list_replays = _listing(config.list_replays, ("NamePrefix", "State", "EventSourceArn"), "Replays", _replay)


def cancel_replay(params: dict) -> dict:
    _required(params, "ReplayName")
    replay = config.cancel_aws_replay(params["ReplayName"], actor=_actor())
    return {"ReplayArn": config.replay_arn(replay.name), "State": config.replay_state(replay)}


# Tags.


def tag_resource(params: dict) -> dict:
    _required(params, "ResourceARN", "Tags")
    config.tag_resource(params["ResourceARN"], params["Tags"])
    return {}


def untag_resource(params: dict) -> dict:
    _required(params, "ResourceARN", "TagKeys")
    config.untag_resource(params["ResourceARN"], params["TagKeys"])
    return {}


def list_tags_for_resource(params: dict) -> dict:
    _required(params, "ResourceARN")
    return {"Tags": [{"Key": tag.key, "Value": tag.value} for tag in config.list_tags(params["ResourceARN"])]}


def _account() -> str:
    return settings.EVENTHUB["ACCOUNT"]


def _actor() -> str:
    return f"api:{acting_key.get()}"


def _operation(work: Callable[[dict], dict]) -> Callable[[dict], Awaitable[dict]]:
    """Run the work off the event loop, in one thread with its database connection; map domain errors."""

    async def run(params: dict) -> dict:
        try:
            return await sync_to_async(work)(params)
        except config.ConfigurationError as error:
            from .endpoint import (
                AwsError,  # here, not above: endpoint.py imports this module to register the operations
            )

            raise AwsError(_ERROR_CODES[type(error)], str(error)) from None

    return run


OPERATIONS: dict[str, Callable[[dict], Awaitable[dict]]] = {
    name: _operation(work)
    for name, work in {
        "CreateEventBus": create_event_bus,
        "DescribeEventBus": describe_event_bus,
        "ListEventBuses": list_event_buses,
        "DeleteEventBus": delete_event_bus,
        "PutRule": put_rule,
        "DescribeRule": describe_rule,
        "ListRules": list_rules,
        "DeleteRule": delete_rule,
        "EnableRule": enable_rule,
        "DisableRule": disable_rule,
        "ListRuleNamesByTarget": list_rule_names_by_target,
        "PutTargets": put_targets,
        "RemoveTargets": remove_targets,
        "ListTargetsByRule": list_targets_by_rule,
        "CreateConnection": create_connection,
        "DescribeConnection": describe_connection,
        "ListConnections": list_connections,
        "UpdateConnection": update_connection,
        "DeleteConnection": delete_connection,
        "CreateApiDestination": create_api_destination,
        "DescribeApiDestination": describe_api_destination,
        "ListApiDestinations": list_api_destinations,
        "UpdateApiDestination": update_api_destination,
        "DeleteApiDestination": delete_api_destination,
        "CreateArchive": create_archive,
        "DescribeArchive": describe_archive,
        "ListArchives": list_archives,
        "UpdateArchive": update_archive,
        "DeleteArchive": delete_archive,
        "StartReplay": start_replay,
        "DescribeReplay": describe_replay,
        "ListReplays": list_replays,
        "CancelReplay": cancel_replay,
        "TagResource": tag_resource,
        "UntagResource": untag_resource,
        "ListTagsForResource": list_tags_for_resource,
    }.items()
}

# The JSON type of each request member, as the operations' AWS API models declare them (botocore's events model).
# Create and Update take the same members for connections and for API destinations.
_CONNECTION_MEMBERS = {
    "Name": "string",
    "Description": "string",
    "AuthorizationType": "string",
    "AuthParameters": "object",
    "InvocationConnectivityParameters": "object",
    "KmsKeyIdentifier": "string",
}
_ARCHIVE_SETTINGS = {
    "Description": "string",
    "EventPattern": "string",
    "RetentionDays": "number",
    "KmsKeyIdentifier": "string",
}
_PAGED = {"NextToken": "string", "Limit": "number"}
_API_DESTINATION_MEMBERS = {
    "Name": "string",
    "Description": "string",
    "ConnectionArn": "string",
    "InvocationEndpoint": "string",
    "HttpMethod": "string",
    "InvocationRateLimitPerSecond": "number",
}
REQUEST_MEMBERS: dict[str, dict[str, str]] = {
    "CreateEventBus": {
        "Name": "string",
        "EventSourceName": "string",
        "Description": "string",
        "KmsKeyIdentifier": "string",
        "DeadLetterConfig": "object",
        "LogConfig": "object",
        "Tags": "array",
    },
    "DescribeEventBus": {"Name": "string"},
    "ListEventBuses": {"NamePrefix": "string", **_PAGED},
    "DeleteEventBus": {"Name": "string"},
    "PutRule": {
        "Name": "string",
        "ScheduleExpression": "string",
        "EventPattern": "string",
        "State": "string",
        "Description": "string",
        "RoleArn": "string",
        "Tags": "array",
        "EventBusName": "string",
    },
    "DescribeRule": {"Name": "string", "EventBusName": "string"},
    "ListRules": {"NamePrefix": "string", "EventBusName": "string", **_PAGED},
    "DeleteRule": {"Name": "string", "EventBusName": "string", "Force": "boolean"},
    "EnableRule": {"Name": "string", "EventBusName": "string"},
    "DisableRule": {"Name": "string", "EventBusName": "string"},
    "ListRuleNamesByTarget": {"TargetArn": "string", "EventBusName": "string", **_PAGED},
    "PutTargets": {"Rule": "string", "EventBusName": "string", "Targets": "array"},
    "RemoveTargets": {"Rule": "string", "EventBusName": "string", "Ids": "array", "Force": "boolean"},
    "ListTargetsByRule": {"Rule": "string", "EventBusName": "string", **_PAGED},
    "CreateConnection": _CONNECTION_MEMBERS,
    "DescribeConnection": {"Name": "string"},
    "ListConnections": {"NamePrefix": "string", "ConnectionState": "string", **_PAGED},
    "UpdateConnection": _CONNECTION_MEMBERS,
    "DeleteConnection": {"Name": "string"},
    "CreateApiDestination": _API_DESTINATION_MEMBERS,
    "DescribeApiDestination": {"Name": "string"},
    "ListApiDestinations": {"NamePrefix": "string", "ConnectionArn": "string", **_PAGED},
    "UpdateApiDestination": _API_DESTINATION_MEMBERS,
    "DeleteApiDestination": {"Name": "string"},
    "CreateArchive": {"ArchiveName": "string", "EventSourceArn": "string", **_ARCHIVE_SETTINGS},
    "DescribeArchive": {"ArchiveName": "string"},
    "ListArchives": {"NamePrefix": "string", "EventSourceArn": "string", "State": "string", **_PAGED},
    "UpdateArchive": {"ArchiveName": "string", **_ARCHIVE_SETTINGS},
    "DeleteArchive": {"ArchiveName": "string"},
    "StartReplay": {
        "ReplayName": "string",
        "Description": "string",
        "EventSourceArn": "string",
        "EventStartTime": "number",
        "EventEndTime": "number",
        "Destination": "object",
    },
    "DescribeReplay": {"ReplayName": "string"},
    "ListReplays": {"NamePrefix": "string", "State": "string", "EventSourceArn": "string", **_PAGED},
    "CancelReplay": {"ReplayName": "string"},
    "TagResource": {"ResourceARN": "string", "Tags": "array"},
    "UntagResource": {"ResourceARN": "string", "TagKeys": "array"},
    "ListTagsForResource": {"ResourceARN": "string"},
}
