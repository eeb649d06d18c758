"""The compatibility checker agrees with Confluent Schema Registry on every case of the shared corpus.

The corpus lives next to the repository (../shared/conformance/schema_compatibility.json, see its README);
set EVENTHUB_SCHEMA_CONFORMANCE to read it from elsewhere. It is read at test time, never copied.
"""

import json
import os
from pathlib import Path

import pytest

from dashboard.schemas import check_compatibility

CORPUS = Path(
    os.environ.get("EVENTHUB_SCHEMA_CONFORMANCE")
    or Path(__file__).resolve().parents[3] / "shared" / "conformance" / "schema_compatibility.json"
)
CASES = json.loads(CORPUS.read_text(encoding="utf-8"))
IDS = [case["id"] for case in CASES]


def test_corpus_has_every_case():
    assert len(CASES) == 103


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_strict_verdict_is_confluents(case):
    assert check_compatibility(case["original"], case["update"], "strict").compatible is case["compatible"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_lenient_verdict_is_confluents(case):
    result = check_compatibility(case["original"], case["update"], "lenient")
    assert result.compatible is case["compatible_lenient"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_change_list_is_confluents_in_name_pointer_and_order(case):
    changes = [str(change) for change in check_compatibility(case["original"], case["update"]).changes]
    assert changes == case["changes"]
