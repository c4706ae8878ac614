"""Settings as data: typed, documented in the README."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from inspector import settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


@pytest.mark.parametrize("setting", settings.SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented_in_the_readme(setting):
    assert f"`{setting.name}`" in README, f"README does not document {setting.name}"


def test_readme_documents_no_setting_that_does_not_exist():
    mentioned = set(re.findall(r"`(INSPECTOR_[A-Z_]+)`", README))
    assert mentioned <= set(settings.BY_NAME), mentioned - set(settings.BY_NAME)


def test_names_are_unique_and_prefixed():
    names = [s.name for s in settings.SETTINGS]
    assert len(names) == len(set(names))
    assert all(name.startswith("INSPECTOR_") and s.help for name, s in zip(names, settings.SETTINGS))


def test_defaults_have_their_declared_type():
    for setting in settings.SETTINGS:
        assert isinstance(setting.default, setting.type), setting.name


def test_values_are_typed_and_a_numeric_secret_stays_a_string():
    values = settings.load({"INSPECTOR_SECRET_KEY": "12345", "INSPECTOR_PORT": "9001",
                            "INSPECTOR_STREAM_KEEPALIVE": "2.5"})
    assert values["SECRET_KEY"] == "12345" and isinstance(values["SECRET_KEY"], str)
    assert values["PORT"] == 9001
    assert values["STREAM_KEEPALIVE"] == 2.5
    assert values["MAX_BODY_BYTES"] == 25 * 1024 * 1024


def test_bad_value_names_the_setting():
    with pytest.raises(settings.SettingError, match="INSPECTOR_PORT"):
        settings.load({"INSPECTOR_PORT": "eighty"})


def test_database_url_defaults_to_sqlite_in_data_dir(tmp_path):
    from inspector.storage import database_url

    assert database_url({"DATA_DIR": str(tmp_path), "DATABASE_URL": ""}) == \
        f"sqlite:///{tmp_path / 'inspector.db'}"
    assert database_url({"DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql://u@h/db"}) == \
        "postgresql+psycopg://u@h/db"
