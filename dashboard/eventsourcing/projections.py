"""Projections: Python classes, registered with `@projection`, that fold events into a read model.

    @projection
    class OrderViews(Projection):
        name = "order_views"
        read_model = OrderView
        aggregate_type = "Order"          # optional: only this stream category
        row_key = "order_id"              # optional: one row per stream, worked on in memory

        @on("OrderCreated")
        def created(self, event): self.add(order_id=event.aggregate_id, ...)

        @on("OrderShipped")
        def shipped(self, event): row = self.row(event.aggregate_id); row.status = "shipped"; self.changed(row)

Handlers write only to the generation being built (the live one, or the shadow during a rebuild) and
only to the database: the runner commits their writes with the checkpoint, so a side effect outside
the database could happen twice. Two ways to write:
- keyed (`row_key` set): `begin` loads the rows a batch's streams touch in one query, handlers change
  them in memory (`row`, `add`, `changed`), and `finish` writes them back in two statements. Fast.
- direct: `rows()` (a queryset of this generation) and `insert()`, one statement per call.
"""

from importlib import import_module
from typing import ClassVar

from django.conf import settings
from django.db.models import Q, QuerySet

from dashboard.eventsourcing.upcasting import as_current
from dashboard.models import Event
from dashboard.models.streams import ReadModel

from .aggregate import handlers_of

_PROJECTIONS: dict[str, type["Projection"]] = {}


class UnknownProjection(LookupError):
    pass


class Projection:
    name: ClassVar[str] = ""
    read_model: ClassVar[type[ReadModel]]
    aggregate_type: ClassVar[str | None] = None
    row_key: ClassVar[str | None] = None
    _handlers: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls._handlers = handlers_of(cls)

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self._rows: dict[str, ReadModel] = {}
        self._added: list[ReadModel] = []
        self._changed: dict[int, ReadModel] = {}

    @classmethod
    def event_filter(cls) -> Q:
        """The events this projection handles; the runner reads only those but checkpoints past all."""
        wanted = Q(detail_type__in=sorted(cls._handlers))
        return wanted & Q(aggregate_type=cls.aggregate_type) if cls.aggregate_type else wanted

    def rows(self) -> QuerySet:
        return self.read_model.objects.filter(generation=self.generation)

    def insert(self, **fields) -> ReadModel:
        return self.read_model.objects.create(generation=self.generation, **fields)

    def apply(self, event: Event) -> None:
        """Hand the event, in its current shape (upcast), to its handler: live, catching up or rebuilding."""
        getattr(self, self._handlers[event.detail_type])(as_current(event))

    def begin(self, events: list[Event]) -> None:
        """Before a batch (keyed projections): load the rows of the streams it touches, in one query."""
        if self.row_key:
            keys = {event.aggregate_id for event in events}
            found = self.rows().filter(**{f"{self.row_key}__in": keys})
            self._rows = {getattr(row, self.row_key): row for row in found}

    def row(self, key: str) -> ReadModel:
        """The row of a stream; a LookupError (stopping the projection on this event) if it has none."""
        try:
            return self._rows[key]
        except KeyError:
            raise LookupError(f"{self.name} has no row {self.row_key}={key!r}") from None

    def add(self, **fields) -> ReadModel:
        row = self.read_model(generation=self.generation, **fields)
        key = getattr(row, self.row_key)
        if key in self._rows:
            raise ValueError(f"{self.name} has a row {self.row_key}={key!r} already")
        self._rows[key] = row
        self._added.append(row)
        return row

    def changed(self, row: ReadModel) -> None:
        if row.pk is not None:
            self._changed[row.pk] = row

    def finish(self) -> None:
        """After a batch (keyed projections): write the added and changed rows, in two statements."""
        if self._added:
            self.read_model.objects.bulk_create(self._added)
        if self._changed:
            fields = [f.name for f in self.read_model._meta.concrete_fields if not f.primary_key]
            self.read_model.objects.bulk_update(list(self._changed.values()), fields)
        self._rows, self._added, self._changed = {}, [], {}


def projection(cls: type[Projection]) -> type[Projection]:
    """Class decorator: register a projection under its `name` so the worker runs it."""
    if not cls.name or not getattr(cls, "read_model", None):
        raise TypeError(f"{cls.__name__} needs a name and a read_model")
    if cls.read_model.projection_name != cls.name:
        raise TypeError(f"{cls.read_model.__name__}.projection_name must be {cls.name!r} so readers find it")
    _PROJECTIONS[cls.name] = cls
    return cls


def load_modules() -> None:
    """Import the modules listed in settings so their aggregates and projections register."""
    for module in settings.EVENTHUB["EVENT_SOURCING_MODULES"]:
        import_module(module)


def registered() -> dict[str, type[Projection]]:
    load_modules()
    return dict(sorted(_PROJECTIONS.items()))


def get(name: str) -> type[Projection]:
    try:
        return registered()[name]
    except KeyError:
        raise UnknownProjection(f"no projection named {name!r}") from None
