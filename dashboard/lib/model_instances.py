"""Model instances built for the worker's hot paths, where `Model.__init__` costs more than the SQL.

`Model.__init__` walks every field, resolves defaults and sends the init signals; a claim builds hundreds
of deliveries and events per batch, and recording builds an attempt per delivery. These instances get
their attributes directly instead, so every concrete field must be given: a missing one would be a
deferred field, loaded by a query when read. No model of this project has init signal receivers.
"""

from typing import TypeVar

from django.db import models
from django.db.models.base import ModelState

M = TypeVar("M", bound=models.Model)


def model_instance(model: type[M], attributes: dict, *, db: str | None = None) -> M:
    """An instance holding `attributes` (every concrete field's attname): as loaded from database `db`,
    or unsaved when `db` is None."""
    instance = model.__new__(model)
    instance.__dict__.update(attributes)
    state = instance._state = ModelState()
    if db is not None:
        state.adding, state.db = False, db
    return instance
