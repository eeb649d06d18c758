"""Code bindings: Python dataclasses that import and construct, TypeScript interfaces, and the download API."""

import json

import pytest

from dashboard.models import ApiKey
from dashboard.schemas import InvalidSchema, python_bindings, typescript_bindings
from dashboard.schemas.registry import Kind, register_version

ORDER = {
    "type": "object",
    "required": ["orderId", "lines"],
    "properties": {
        "orderId": {"type": "string"},
        "total": {"type": ["number", "null"]},
        "status": {"enum": ["new", "paid"]},
        "lines": {"type": "array", "items": {"$ref": "#/$defs/line"}},
        "ship-to": {"type": "object", "properties": {"city": {"type": "string"}}},
        "parent": {"$ref": "#"},
    },
    "$defs": {"line": {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}}}},
}


def test_python_bindings_import_and_construct():
    namespace: dict = {}
    exec(python_bindings(ORDER, "OrderPlaced"), namespace)  # noqa: S102 - our own generated source
    order = namespace["OrderPlaced"](orderId="o-1", lines=[namespace["Line"](sku="a")])
    assert order.total is None and order.lines[0].sku == "a"


def test_python_bindings_type_every_property():
    source = python_bindings(ORDER, "OrderPlaced")
    assert "    orderId: str\n" in source
    assert "    total: float | None = None\n" in source
    assert "    status: Literal['new'] | Literal['paid'] | None = None\n" in source
    assert '    ship_to: OrderPlacedShipTo | None = None  # JSON: "ship-to"\n' in source
    assert "    parent: OrderPlaced | None = None\n" in source


def test_typescript_bindings_mark_optional_and_quote_odd_names():
    source = typescript_bindings(ORDER, "OrderPlaced")
    assert "export interface OrderPlaced {" in source
    assert "  lines: Line[];" in source
    assert '  "ship-to"?: OrderPlacedShipTo;' in source
    assert '  status?: "new" | "paid";' in source


def test_non_object_root_becomes_a_type_alias():
    assert "export type Names = string[];" in typescript_bindings(
        {"type": "array", "items": {"type": "string"}}, "Names"
    )


def test_reference_cycle_through_non_objects_ends():
    cyclic = {"$ref": "#/$defs/a", "$defs": {"a": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/a"}]}}}
    assert "export type" in typescript_bindings(cyclic, "Cyclic")


def test_remote_reference_is_refused():
    with pytest.raises(InvalidSchema):
        python_bindings({"$ref": "https://example.com/x.json"}, "X")


@pytest.mark.django_db
def test_bindings_download_for_a_version(client):
    version, _ = register_version(Kind("default", "test.bindings", "Order Placed"), ORDER)
    key, secret = ApiKey.issue("bindings", ["read"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key.access_key_id}:{secret}"}
    url = f"/api/v1/schemas/{version.schema_id}/versions/1/bindings"
    response = client.get(url + "?language=typescript", **headers)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="order-placed-v1.ts"'
    assert "export interface OrderPlaced {" in response.content.decode()
    assert client.get(url + "?language=cobol", **headers).status_code == 400
    assert json.loads(client.get(url.replace("/1/", "/9/"), **headers).content)["error"]["code"] == "NotFound"
