"""Settings come from the environment with safe defaults; production settings pass `check --deploy`; without
SECRET_KEY a checkout keeps its own owner-only key; a setting that cannot work is one line, not a traceback."""

import os
import secrets
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from eventhub.local_key import local_secret_key
from tests.conftest import ROOT

# What a second terminal has: no DEBUG, no SECRET_KEY, no DJANGO_SETTINGS_MODULE.
PLAIN_SHELL = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}


def run_manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_production_settings_pass_check_deploy():
    env = {"PATH": "/usr/bin:/bin", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "eventhub.example.com"}
    result = run_manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr


def test_manage_py_works_from_a_plain_shell_without_debug_or_secret_key():
    result = run_manage(PLAIN_SHELL, "check")
    assert result.returncode == 0, result.stderr


def test_a_local_key_is_generated_once_and_kept_owner_only(tmp_path):
    directory = tmp_path / ".eventhub"
    first = local_secret_key(directory)
    assert local_secret_key(directory) == first
    assert len(first) >= 50
    assert _mode(directory) == 0o700
    assert _mode(directory / "secret_key") == 0o600


def test_an_existing_state_directory_is_made_owner_only(tmp_path):
    directory = tmp_path / ".eventhub"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    local_secret_key(directory)
    assert _mode(directory) == 0o700


def test_processes_starting_together_all_get_the_same_key(tmp_path):
    directory = tmp_path / ".eventhub"
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = set(pool.map(lambda _: local_secret_key(directory), range(32)))
    assert len(keys) == 1
    assert sorted(p.name for p in directory.iterdir()) == ["secret_key"]


def test_a_bad_database_url_is_one_line_on_stderr_not_a_traceback():
    result = run_manage({**PLAIN_SHELL, "DATABASE_URL": "postgress://db/eventhub"}, "check")
    assert result.returncode == 2
    assert result.stderr.startswith("EventHub settings: DATABASE_URL is not a database URL")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_a_number_setting_that_is_not_a_number_is_one_line_on_stderr():
    result = run_manage({**PLAIN_SHELL, "EVENTHUB_SWEEP_GRACE_SECONDS": "a minute"}, "check")
    assert result.returncode == 2
    assert result.stderr == "EventHub settings: EVENTHUB_SWEEP_GRACE_SECONDS must be a number, not 'a minute'\n"


def test_a_whole_number_setting_that_is_not_one_is_one_line_on_stderr():
    result = run_manage({**PLAIN_SHELL, "EVENTHUB_SWEEP_BATCH": "5k"}, "check")
    assert result.returncode == 2
    assert result.stderr == "EventHub settings: EVENTHUB_SWEEP_BATCH must be a whole number, not '5k'\n"


def test_a_flag_spelled_wrong_is_an_error_not_a_flag_turned_off():
    result = run_manage({**PLAIN_SHELL, "DEBUG": "ture"}, "check")
    assert result.returncode == 2
    assert result.stderr.startswith("EventHub settings: DEBUG must be one of 1/0, true/false")
