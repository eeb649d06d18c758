"""Instances built without Model.__init__ hold exactly the given values and behave as loaded or unsaved ones."""

import pytest
from django.db.models.signals import post_init, pre_init

from dashboard.lib.model_instances import model_instance
from dashboard.models import Delivery, DeliveryAttempt, Event, Rule

pytestmark = pytest.mark.django_db


def _attributes(rule: Rule) -> dict:
    return {f.attname: getattr(rule, f.attname) for f in Rule._meta.concrete_fields}


def test_a_built_instance_reads_every_field_without_a_query(django_assert_num_queries):
    stored = Rule.objects.create(name="r", event_pattern='{"source": ["a"]}')
    loaded = Rule.objects.get(pk=stored.pk)
    built = model_instance(Rule, _attributes(loaded), db="default")
    with django_assert_num_queries(0):
        assert _attributes(built) == _attributes(loaded)
    assert built == loaded
    assert not built._state.adding and built._state.db == "default"


def test_a_built_instance_without_a_database_is_unsaved():
    values = _attributes(Rule(name="r", event_pattern='{"source": ["a"]}'))
    built = model_instance(Rule, values)
    assert built._state.adding and built._state.db is None
    built.save()
    assert Rule.objects.get(pk=built.pk).name == "r"


@pytest.mark.parametrize("model", [Delivery, DeliveryAttempt, Event])
def test_the_models_the_worker_builds_have_no_init_signal_receivers(model):
    # model_instance skips Model.__init__, so a receiver added here would silently not run for them.
    assert not pre_init.has_listeners(model)
    assert not post_init.has_listeners(model)
