"""`ensure_admin` writes the first admin's password to a file only its owner can read, from the start."""

import os
import stat

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def permissive_umask():
    previous = os.umask(0)
    yield
    os.umask(previous)


def admin_logs_in_with(password: str) -> bool:
    return get_user_model().objects.get(username="admin").check_password(password)


def test_password_file_is_owner_only_whatever_the_umask(tmp_path, permissive_umask):
    path = tmp_path / "password"
    call_command("ensure_admin", password_file=str(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert admin_logs_in_with(path.read_text().strip())


def test_a_symlink_planted_at_the_path_is_not_followed(tmp_path):
    elsewhere = tmp_path / "readable-by-all"
    elsewhere.write_text("")
    path = tmp_path / "password"
    path.symlink_to(elsewhere)
    call_command("ensure_admin", password_file=str(path))
    assert elsewhere.read_text() == ""
    assert not path.is_symlink()
    assert admin_logs_in_with(path.read_text().strip())


def test_a_leftover_file_is_replaced(tmp_path):
    path = tmp_path / "password"
    path.write_text("stale\n")
    path.chmod(0o644)
    call_command("ensure_admin", password_file=str(path))
    assert path.read_text() != "stale\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_nothing_is_written_once_a_superuser_exists(tmp_path, django_user_model):
    django_user_model.objects.create_superuser(username="root", email="", password="x" * 20)
    path = tmp_path / "password"
    call_command("ensure_admin", password_file=str(path))
    assert not path.exists()
