"""Python targets may only name registered handlers: the model, the worker and the settings loader refuse
anything else, and the worker never imports what a target names."""

import sys

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError

from dashboard.delivery import handler_registry
from dashboard.delivery.handler_registry import eventhub_handler, get_handler, load_handlers, registered_handlers
from dashboard.models import Delivery, Rule, Target
from tests.delivery_harness import make_rule_with_target, publish, running_dispatcher
from tests.waiting import wait_until

UNIMPORTED = "tests.unregistered_handlers"


@pytest.fixture
def registry(monkeypatch) -> dict:
    """A copy of the registry for this test, so what it registers does not outlive it."""
    handlers = dict(handler_registry._handlers)
    monkeypatch.setattr(handler_registry, "_handlers", handlers)
    return handlers


@eventhub_handler
def count_order(event: dict) -> None:
    """Registered under its dotted path, as the decorator does by default."""


def _python_target(handler: str) -> Target:
    return Target(rule=Rule(name="r"), name="t", kind=Target.Kind.PYTHON, handler=handler)


def test_decorated_function_is_registered_under_its_dotted_path():
    assert get_handler("tests.delivery.test_handler_registry.count_order") is count_order


def test_decorator_takes_an_explicit_name(registry):
    @eventhub_handler(name="shop.count")
    def count(event: dict) -> None: ...

    assert get_handler("shop.count") is count


def test_two_callables_under_one_name_are_a_configuration_error(registry):
    eventhub_handler(name="twice")(lambda event: None)
    with pytest.raises(ImproperlyConfigured, match="two handlers are registered as 'twice'"):
        eventhub_handler(name="twice")(lambda event: None)


def test_the_projects_own_handlers_are_registered():
    import chaos.handlers  # chaos runs list it in EVENTHUB_HANDLERS; importing it registers its handler

    assert "dashboard.shop.orders.ship_new_order" in registered_handlers()  # settings.EVENTHUB["HANDLERS"]
    assert get_handler("chaos.handlers.exit_on_poison") is chaos.handlers.exit_on_poison


def test_settings_entry_naming_a_callable_registers_it_under_that_path(registry):
    load_handlers(["json.dumps"])
    assert get_handler("json.dumps") is __import__("json").dumps


def test_settings_entry_naming_a_module_registers_its_decorated_handlers(registry, tmp_path, monkeypatch):
    (tmp_path / "eh_sample_handlers.py").write_text(
        "from dashboard.delivery.handler_registry import eventhub_handler\n\n\n"
        "@eventhub_handler\ndef ship(event):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    load_handlers(["eh_sample_handlers"])
    assert get_handler("eh_sample_handlers.ship") is sys.modules["eh_sample_handlers"].ship
    monkeypatch.delitem(sys.modules, "eh_sample_handlers")


@pytest.mark.parametrize("entry", ["tests.no_such_module", "json.no_such_function", "nodots", "nosuchpkg.mod.fn"])
def test_settings_entry_that_names_nothing_stops_start_up(registry, entry):
    with pytest.raises(ImproperlyConfigured, match="no such module or callable"):
        load_handlers([entry])


@pytest.mark.parametrize("handler", ["os.system", "builtins.eval", f"{UNIMPORTED}.record", "no.such.fn"])
def test_model_validation_refuses_a_handler_that_is_not_registered(handler):
    with pytest.raises(ValidationError) as refused:
        _python_target(handler).clean()
    assert "is not registered" in refused.value.message_dict["handler"][0]


def test_model_validation_accepts_a_registered_handler():
    _python_target("tests.delivery.test_handler_registry.count_order").clean()


@pytest.mark.django_db(transaction=True)
def test_worker_dead_letters_a_target_naming_os_system_without_running_it(fast, tmp_path):
    marker = tmp_path / "pwned"
    make_rule_with_target(kind=Target.Kind.PYTHON, handler="os.system", input_path="$.detail.cmd")  # as if saved before
    publish(cmd=f"touch {marker}")
    with running_dispatcher():
        delivery = wait_until(lambda: Delivery.objects.filter(state=Delivery.State.DEAD).first(), message="refusal")
    assert (delivery.dead_reason, delivery.attempts) == (Delivery.DeadReason.DESTINATION_REFUSED, 1)
    assert "handler 'os.system' is not registered" in delivery.last_error
    assert not marker.exists()


@pytest.mark.django_db(transaction=True)
def test_worker_never_imports_the_module_an_unregistered_handler_names(fast):
    assert UNIMPORTED not in sys.modules
    make_rule_with_target(kind=Target.Kind.PYTHON, handler=f"{UNIMPORTED}.record")
    publish()
    with running_dispatcher():
        wait_until(lambda: Delivery.objects.filter(state=Delivery.State.DEAD).exists(), message="refusal")
    assert UNIMPORTED not in sys.modules


def test_a_listed_module_whose_own_import_fails_reports_that_failure(registry, tmp_path, monkeypatch):
    (tmp_path / "eh_broken_handlers.py").write_text("import eh_missing_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="eh_missing_dependency"):
        load_handlers(["eh_broken_handlers"])
