"""Secrets at rest (issue 14 item 4): the pepper away from the database, files owner-only."""
import os
import stat
from pathlib import Path

import pytest

from confcall.rating import pepper, secrets_
from confcall.store import Store, upgrade


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_sqlite_database_and_its_wal_are_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        url = f"sqlite:///{tmp_path}/sub/confcall.db"
        upgrade(url)
        store = Store(url)
        with store.transaction() as s:
            s.connection().exec_driver_sql("SELECT 1")
            assert mode(tmp_path / "sub" / "confcall.db") == 0o600
            assert mode(tmp_path / "sub" / "confcall.db-wal") == 0o600
        store.dispose()
    finally:
        os.umask(old)


def test_default_pepper_path_is_not_beside_the_database(tmp_path):
    assert pepper.default_path(euid=0) == Path("/etc/confcall/pepper")
    user = pepper.default_path(euid=1000, home=str(tmp_path))
    assert user == tmp_path / ".config" / "confcall" / "pepper"
    assert "var" not in user.parts


def test_the_pepper_is_created_once_owner_only_in_a_private_directory(tmp_path):
    old = os.umask(0o022)
    try:
        path = pepper.write_new(tmp_path / "cfg" / "confcall" / "pepper")
    finally:
        os.umask(old)
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert len(path.read_text()) == 64
    with pytest.raises(FileExistsError):  # never overwritten (it would change every PIN)
        pepper.write_new(path)


def test_a_service_start_uses_the_default_file_and_pins_keep_verifying(tmp_path, monkeypatch):
    for name in ("CONFCALL_PEPPER", "CONFCALL_PEPPER_FILE"):
        monkeypatch.setenv(name, "")  # recorded, so restored after the test
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no legacy var/confcall.pepper here
    target = tmp_path / "home" / ".config" / "confcall" / "pepper"
    monkeypatch.setattr(pepper, "default_path", lambda: target)
    assert pepper.ensure() == str(target)
    assert os.environ["CONFCALL_PEPPER_FILE"] == str(target.resolve())
    secrets_.set_pepper(None)  # read it from the file as a new process would
    h = secrets_.hash_pin("482913")
    assert secrets_._get_pepper() == target.read_bytes().strip()
    assert pepper.ensure() == "environment"  # a second start: the same one
    secrets_.set_pepper(None)
    assert secrets_.verify_pin(h, "482913")


def test_a_pre_issue_14_pepper_in_var_keeps_working(tmp_path, monkeypatch, caplog):
    for name in ("CONFCALL_PEPPER", "CONFCALL_PEPPER_FILE"):
        monkeypatch.setenv(name, "")  # recorded, so restored after the test
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "confcall.pepper").write_text("old-pepper")
    os.chmod(tmp_path / "var" / "confcall.pepper", 0o644)
    target = tmp_path / "home" / "pepper"
    monkeypatch.setattr(pepper, "default_path", lambda: target)
    assert pepper.ensure() == str(Path("var") / "confcall.pepper")
    assert not target.exists()
    assert "move it to" in caplog.text and "readable by others" in caplog.text
