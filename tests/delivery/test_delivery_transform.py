"""InputPath and InputTransformer with EventBridge's semantics (pure functions, no database)."""

import pytest

from dashboard.delivery.transform import InvalidTransform, RuleContext, target_input, validate, value_at_path

EVENT = {
    "version": "0",
    "id": "e-1",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2026-01-31T12:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-0123"],
    "detail": {"instance-id": "i-0123", "state": "running", "tags": [{"k": "team"}], "count": 3},
}
RULE = RuleContext(name="r1", arn="arn:aws:events:us-east-1:123456789012:rule/default/r1")


def _transform(paths: dict, template: str) -> object:
    return target_input(EVENT, "", {"InputPathsMap": paths, "InputTemplate": template}, RULE, "2026-01-31T12:00:01Z")


def test_no_transform_sends_the_whole_event():
    assert target_input(EVENT, "", None, RULE, "") is EVENT


def test_input_path_selects_part_of_the_event():
    assert target_input(EVENT, "$.detail", None, RULE, "") == EVENT["detail"]
    assert value_at_path(EVENT, "$.detail.tags[0].k") == "team"
    assert value_at_path(EVENT, "$.resources[5]") is None


def test_json_template_inserts_values_as_json_outside_quotes():
    out = _transform({"id": "$.detail.instance-id", "n": "$.detail.count"}, '{"instance": <id>, "count": <n>}')
    assert out == {"instance": "i-0123", "count": 3}


def test_json_template_inserts_text_inside_quotes():
    out = _transform(
        {"id": "$.detail.instance-id", "state": "$.detail.state"},
        '{"message": "<id> is in state \\"<state>\\""}',
    )
    assert out == {"message": 'i-0123 is in state "running"'}


def test_plain_text_template_gives_text():
    out = _transform({"id": "$.detail.instance-id", "state": "$.detail.state"}, "<id> is in state <state>")
    assert out == "i-0123 is in state running"


def test_predefined_variables():
    out = _transform(
        {},
        '{"rule": "<aws.events.rule-name>", "arn": "<aws.events.rule-arn>", "at": "<aws.events.event.ingestion-time>",'
        ' "original": <aws.events.event.json>, "envelope": <aws.events.event>}',
    )
    assert out["rule"] == "r1" and out["arn"] == RULE.arn and out["at"] == "2026-01-31T12:00:01Z"
    assert out["original"] == EVENT
    assert "detail" not in out["envelope"] and out["envelope"]["id"] == "e-1"


def test_missing_value_becomes_null():
    assert _transform({"x": "$.detail.nothing"}, '{"x": <x>}') == {"x": None}


def test_text_with_json_special_characters_stays_valid_json():
    event = EVENT | {"detail": {"note": 'say "hi"\n<b>'}}
    out = target_input(event, "", {"InputPathsMap": {"n": "$.detail.note"}, "InputTemplate": '{"n": "<n>"}'}, RULE, "")
    assert out == {"n": 'say "hi"\n<b>'}


@pytest.mark.parametrize(
    ("input_path", "transformer", "message"),
    [
        ("detail", None, r"must start with \$"),
        ("", {"InputPathsMap": {"a": "$.x"}}, "InputTemplate is required"),
        ("", {"InputPathsMap": {}, "InputTemplate": "<nope>"}, "does not define"),
        ("", {"InputPathsMap": {"aws.events.rule-name": "$.x"}, "InputTemplate": "x"}, "reserved"),
        ("", {"InputTemplate": "x", "Extra": 1}, "Unknown input transformer keys"),
        ("", {"InputPathsMap": {"a": "$.x[oops]"}, "InputTemplate": "<a>"}, "cannot read"),
    ],
)
def test_invalid_settings_are_refused_with_a_reason(input_path, transformer, message):
    with pytest.raises(InvalidTransform, match=message):
        validate(input_path, transformer)


def test_valid_settings_pass():
    validate("$.detail", None)
    validate("", {"InputPathsMap": {"id": "$.detail.instance-id"}, "InputTemplate": '{"i": <id>}'})
