"""Which Python callables a target may name: only those registered explicitly, never any importable path.

A handler registers itself with the `@eventhub_handler` decorator (named by its dotted path unless given
a name), in a module listed in settings.EVENTHUB["HANDLERS"]; a callable that cannot be decorated (in a
library, say) is registered by listing its dotted path there instead. The list is loaded once, when the
app is ready, so the admin, model validation and the worker all see the same names, and the worker
never imports anything a target names.
"""

import importlib
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

Handler = TypeVar("Handler", bound=Callable)

_handlers: dict[str, Callable] = {}


class HandlerNotRegistered(LookupError):
    """A target names a handler that was not registered (see the module docstring)."""


def eventhub_handler(function: Handler | None = None, *, name: str | None = None) -> Handler | Callable:
    """Register `function` as a Python-target handler: `@eventhub_handler` or `@eventhub_handler(name="x")`."""

    def register(function: Handler) -> Handler:
        register_handler(function, name or f"{function.__module__}.{function.__qualname__}")
        return function

    return register if function is None else register(function)


def register_handler(function: Callable, name: str) -> None:
    if not callable(function):
        raise ImproperlyConfigured(f"handler {name!r} is not callable")
    registered = _handlers.setdefault(name, function)
    if registered is not function:
        raise ImproperlyConfigured(f"two handlers are registered as {name!r}")


def get_handler(name: str) -> Callable:
    try:
        return _handlers[name]
    except KeyError:
        raise HandlerNotRegistered(
            f"handler {name!r} is not registered: register it with @eventhub_handler in a module listed in "
            'settings.EVENTHUB["HANDLERS"] (EVENTHUB_HANDLERS)'
        ) from None


def registered_handlers() -> list[str]:
    return sorted(_handlers)


def load_handlers(entries: Iterable[str]) -> None:
    """Import each listed module (its decorated handlers register themselves), or register each listed
    dotted path of a callable under that path."""
    for entry in entries:
        try:
            importlib.import_module(entry)
            continue
        except ModuleNotFoundError as error:
            if not _names_part_of(error, entry):  # an import inside the listed module failed: say that
                raise
        module_name, _, attribute = entry.rpartition(".")
        try:
            function = getattr(importlib.import_module(module_name), attribute, None) if module_name else None
        except ModuleNotFoundError as error:
            if not _names_part_of(error, entry):
                raise
            function = None
        if function is None:
            raise ImproperlyConfigured(f'EVENTHUB["HANDLERS"] lists {entry!r}: no such module or callable')
        register_handler(function, entry)


def _names_part_of(error: ModuleNotFoundError, entry: str) -> bool:
    """Whether the missing module is `entry` itself or one of its parent packages."""
    return error.name is not None and (entry == error.name or entry.startswith(error.name + "."))
