"""jsoncodec reads and writes JSON as the standard library does, faster where orjson agrees with it."""

import json
import math
import uuid
from datetime import UTC, datetime

import orjson
import pytest

from dashboard.lib.jsoncodec import dumps, loads


@pytest.mark.parametrize(
    "text",
    [
        '{"order": {"id": 7, "lines": [1.5, -0.0, true, null, "é"]}}',
        "100000000000000000000",
        '{"n": -99999999999999999999, "f": 1e308}',
        '"\\ud800"',
        '{"a": 1, "a": 2}',
        "[]",
    ],
)
def test_loads_reads_what_the_standard_library_reads(text):
    read = loads(text)
    assert read == json.loads(text)
    assert type(read) is type(json.loads(text))


def test_integers_beyond_64_bits_stay_integers_both_ways():
    assert loads("100000000000000000000") == 10**20
    assert dumps(10**20) == b"100000000000000000000"


def test_loads_accepts_what_only_the_standard_library_reads():
    assert math.isnan(loads("NaN"))
    assert loads("1e400") == math.inf


def test_loads_refuses_what_is_not_json():
    with pytest.raises(json.JSONDecodeError):
        loads("{not json")


def test_a_big_integer_beside_a_time_and_a_uuid_is_written_as_orjson_writes_them():
    at, key = datetime(2026, 12, 7, 5, 16, 19, 448695, tzinfo=UTC), uuid.UUID(int=5)
    written = json.loads(dumps({"n": 10**20, "at": at, "at_date": at.date(), "id": key}))
    expected = json.loads(orjson.dumps({"at": at, "at_date": at.date(), "id": key}))
    assert written == expected | {"n": 10**20}
