"""JSON Schema evolution in pure Python (nothing here imports Django).

    result = check_compatibility(original, update, mode="strict")   # or "lenient"
    result.compatible, [str(change) for change in result.changes]

``check_compatibility`` answers whether ``update`` is backward compatible with ``original`` by Confluent Schema
Registry's rules, naming each difference as the registry does (``TYPE_NARROWED #/properties/age``). The
registry's modes (BACKWARD, FORWARD, FULL and their transitive forms) are built from it in ``modes.py``;
``python_bindings`` and ``typescript_bindings`` turn a schema into types for producers and consumers.
"""

from .bindings import python_bindings, typescript_bindings
from .changes import LENIENT, STRICT, Change
from .compatibility import CompatibilityResult, check_compatibility
from .errors import InvalidSchema, SchemaTooComplex
from .loader import load_schema
from .modes import MODES, incompatibilities

__all__ = [
    "LENIENT",
    "MODES",
    "STRICT",
    "Change",
    "CompatibilityResult",
    "InvalidSchema",
    "SchemaTooComplex",
    "check_compatibility",
    "incompatibilities",
    "load_schema",
    "python_bindings",
    "typescript_bindings",
]
