"""System checks catch settings that only work together, before a server or worker starts on them."""

from django.conf import settings

from dashboard.checks import check_eventhub_settings


def check_ids(**knobs) -> list[str]:
    original = settings.EVENTHUB
    settings.EVENTHUB = {**original, **knobs}
    try:
        return [message.id for message in check_eventhub_settings(None)]
    finally:
        settings.EVENTHUB = original


def test_the_default_settings_pass():
    assert check_ids() == []


def test_a_visibility_timeout_below_the_longest_target_timeout_is_warned_of():
    assert check_ids(VISIBILITY_TIMEOUT_SECONDS=30.0) == ["eventhub.W001"]


def test_a_retry_base_above_its_cap_is_an_error():
    assert check_ids(RETRY_BASE_SECONDS=10.0, RETRY_CAP_SECONDS=5.0) == ["eventhub.E002"]


def test_a_json_depth_beyond_what_can_be_stored_is_an_error():
    assert check_ids(MAX_JSON_DEPTH=500) == ["eventhub.E003"]


def test_a_batch_limit_of_zero_is_an_error():
    assert check_ids(MAX_BATCH_ENTRIES=0) == ["eventhub.E004"]
