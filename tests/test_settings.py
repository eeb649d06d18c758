"""Settings come from the environment with safe defaults; production settings pass `check --deploy`."""

import secrets
import subprocess
import sys

from .conftest import ROOT


def run_manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)


def test_production_settings_pass_check_deploy():
    env = {"PATH": "/usr/bin:/bin", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "eventhub.example.com"}
    result = run_manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr


def test_without_debug_a_secret_key_is_required():
    result = run_manage({"PATH": "/usr/bin:/bin"}, "check")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
