"""The schema registry API: compatibility checks, registering versions, modes, and clear refusals."""

import json

import pytest

from dashboard.models import ApiKey, EventSchema

pytestmark = pytest.mark.django_db

ORDER_V1 = {
    "type": "object",
    "properties": {"orderId": {"type": "string"}, "total": {"type": "number"}},
    "required": ["orderId"],
    "additionalProperties": False,
}


@pytest.fixture
def admin_header(db) -> dict:
    key, secret = ApiKey.issue("schemas", ["admin"])
    return {"HTTP_AUTHORIZATION": f"Bearer {key.access_key_id}:{secret}"}


def post(client, url, body, headers):
    payload = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, payload, content_type="application/json", **headers)


def register(client, headers, schema, **kind):
    body = {"source": "test.schemas", "detail-type": "OrderPlaced", **kind, "schema": schema}
    return post(client, "/api/v1/schemas", body, headers)


def test_compatibility_answers_verdict_and_changes(client, auth_header):
    body = {"original": {"type": "number"}, "update": {"type": "integer"}, "mode": "strict"}
    response = post(client, "/api/v1/schemas/compatibility", body, auth_header)
    assert response.status_code == 200
    assert response.json() == {"compatible": False, "changes": ["TYPE_NARROWED #/"]}


def test_compatibility_mode_defaults_to_strict(client, auth_header):
    body = {"original": {"properties": {}}, "update": {"properties": {"a": {"type": "string"}}}}
    assert post(client, "/api/v1/schemas/compatibility", body, auth_header).json()["compatible"] is False
    lenient = post(client, "/api/v1/schemas/compatibility", body | {"mode": "lenient"}, auth_header).json()
    assert lenient["compatible"] is True


def test_compatibility_without_update_is_400(client, auth_header):
    response = post(client, "/api/v1/schemas/compatibility", {"original": {}}, auth_header)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidRequest"


def test_compatibility_with_unknown_mode_is_400(client, auth_header):
    body = {"original": {}, "update": {}, "mode": "loose"}
    assert post(client, "/api/v1/schemas/compatibility", body, auth_header).status_code == 400


def test_compatibility_of_a_non_schema_names_the_pointer(client, auth_header):
    body = {"original": {"properties": {"a": {"type": "text"}}}, "update": {}}
    response = post(client, "/api/v1/schemas/compatibility", body, auth_header)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidSchema"
    assert "#/properties/a/type" in response.json()["error"]["message"]


def test_compatibility_body_that_is_not_json_is_400(client, auth_header):
    assert post(client, "/api/v1/schemas/compatibility", "{nope", auth_header).status_code == 400


def test_first_registration_creates_version_1_in_backward_mode(client, admin_header):
    response = register(client, admin_header, ORDER_V1)
    assert response.status_code == 201
    assert response.json()["number"] == 1
    schema = EventSchema.objects.get(source="test.schemas")
    assert (schema.bus, schema.compatibility, schema.rules, schema.validation) == (
        "default",
        "BACKWARD",
        "strict",
        "off",
    )


def test_registering_the_latest_schema_again_returns_that_version(client, admin_header):
    register(client, admin_header, ORDER_V1)
    response = register(client, admin_header, ORDER_V1)
    assert response.status_code == 200
    assert response.json()["number"] == 1


def test_compatible_change_becomes_the_next_version(client, admin_header):
    register(client, admin_header, ORDER_V1)
    v2 = {**ORDER_V1, "properties": {**ORDER_V1["properties"], "note": {"type": "string"}}}
    response = register(client, admin_header, v2)
    assert response.status_code == 201
    assert response.json()["number"] == 2


def test_incompatible_change_is_409_with_the_changes(client, admin_header):
    register(client, admin_header, ORDER_V1)
    v2 = {**ORDER_V1, "properties": {**ORDER_V1["properties"], "total": {"type": "string"}}}
    response = register(client, admin_header, v2)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "IncompatibleSchema"
    assert error["changes"] == ["backward v1: TYPE_CHANGED #/properties/total"]


def test_registering_needs_the_admin_scope(client, auth_header):
    assert register(client, auth_header, ORDER_V1).status_code == 403


def test_registering_an_invalid_schema_is_400(client, admin_header):
    response = register(client, admin_header, {"type": "object", "properties": {"a": {"minimum": "ten"}}})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidSchema"


def test_registering_without_source_is_400(client, admin_header):
    response = post(client, "/api/v1/schemas", {"detail-type": "X", "schema": {}}, admin_header)
    assert response.status_code == 400


def test_check_tells_without_storing(client, admin_header):
    register(client, admin_header, ORDER_V1)
    body = {"source": "test.schemas", "detail-type": "OrderPlaced", "schema": {"type": "string"}}
    answer = post(client, "/api/v1/schemas/check", body, admin_header).json()
    assert answer == {"compatible": False, "changes": ["backward v1: TYPE_CHANGED #/"]}
    assert EventSchema.objects.get(source="test.schemas").versions.count() == 1


def test_list_and_get_show_modes_and_versions(client, admin_header):
    schema_id = register(client, admin_header, ORDER_V1).json()["schema_id"]
    listed = client.get("/api/v1/schemas?source=test.schemas", **admin_header).json()["schemas"]
    assert [(s["id"], [v["number"] for v in s["versions"]]) for s in listed] == [(schema_id, [1])]
    detail = client.get(f"/api/v1/schemas/{schema_id}", **admin_header).json()
    assert (detail["detail-type"], detail["compatibility"]) == ("OrderPlaced", "BACKWARD")


def test_version_document_is_returned_as_registered(client, admin_header):
    schema_id = register(client, admin_header, ORDER_V1).json()["schema_id"]
    response = client.get(f"/api/v1/schemas/{schema_id}/versions/1", **admin_header)
    assert response.json()["schema"] == ORDER_V1


def test_missing_schema_and_version_are_404(client, admin_header):
    assert client.get("/api/v1/schemas/999999", **admin_header).status_code == 404
    assert client.get("/api/v1/schemas/999999/versions/1", **admin_header).status_code == 404


def test_config_sets_mode_rules_and_validation(client, admin_header):
    schema_id = register(client, admin_header, ORDER_V1).json()["schema_id"]
    body = {"compatibility": "FULL_TRANSITIVE", "rules": "lenient", "validation": "enforce"}
    response = post(client, f"/api/v1/schemas/{schema_id}/config", body, admin_header)
    assert response.status_code == 200
    assert (response.json()["compatibility"], response.json()["rules"], response.json()["validation"]) == (
        "FULL_TRANSITIVE",
        "lenient",
        "enforce",
    )


def test_config_with_unknown_mode_is_400(client, admin_header):
    schema_id = register(client, admin_header, ORDER_V1).json()["schema_id"]
    response = post(client, f"/api/v1/schemas/{schema_id}/config", {"compatibility": "SIDEWAYS"}, admin_header)
    assert response.status_code == 400
    assert "compatibility must be one of" in response.json()["error"]["message"]


def test_config_with_nothing_to_set_is_400(client, admin_header):
    schema_id = register(client, admin_header, ORDER_V1).json()["schema_id"]
    assert post(client, f"/api/v1/schemas/{schema_id}/config", {}, admin_header).status_code == 400


def test_openapi_lists_the_schema_operations(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/schemas", "/schemas/compatibility", "/schemas/check", "/schemas/{schema_id}/config"} <= set(paths)


def test_nul_in_a_list_filter_is_400(client, auth_header):
    assert client.get("/api/v1/schemas?bus=a%00b", **auth_header).status_code == 400


def test_nul_in_a_registered_schema_is_400(client, admin_header):
    response = register(client, admin_header, {"title": "a\u0000b"})
    assert response.status_code == 400
    assert "NUL" in response.json()["error"]["message"]


def test_nul_in_the_source_is_400(client, admin_header):
    assert register(client, admin_header, {}, source="a\u0000b").status_code == 400


def test_a_stored_schema_with_a_number_beyond_64_bits_is_answered_not_a_500(client, admin_header):
    # PostgreSQL's jsonb gives 1e20 back as the integer 100000000000000000000, which orjson cannot write.
    schema = {"type": "object", "properties": {"n": {"type": "number", "maximum": 1e20}}}
    assert register(client, admin_header, schema).status_code == 201
    again = register(client, admin_header, schema)
    assert again.status_code == 200
    assert again.json()["schema"]["properties"]["n"]["maximum"] == 1e20


def test_an_id_beyond_what_the_database_holds_is_not_found(client, auth_header):
    response = client.get("/api/v1/schemas/1971750452955912222922295663659057152/versions/28524", **auth_header)
    assert response.status_code == 404
