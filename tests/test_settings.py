"""Settings: shipped defaults, the worker's overrides, and bad files."""

from __future__ import annotations

import dataclasses
import itertools
import os
import stat
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from agent.paths import Paths
from agent.settings import (
    SCHEMA_VERSION,
    Settings,
    SettingsError,
    default_settings,
    load_settings,
    save_settings,
    settings_to_toml,
)


@pytest.fixture
def paths() -> Paths:
    paths = Paths.from_env()
    paths.ensure()
    return paths


def write(paths: Paths, text: str) -> bytes:
    paths.settings_file.write_text(text, encoding="utf-8")
    return paths.settings_file.read_bytes()


def defaults_text() -> str:
    return resources.files("resources").joinpath("defaults.toml").read_text("utf-8")


# -- the shipped defaults -----------------------------------------------------


def test_defaults_file_has_exactly_the_settings_fields() -> None:
    raw = tomllib.loads(defaults_text())
    defaults = default_settings()

    assert raw.pop("version") == SCHEMA_VERSION
    assert set(raw) == {f.name for f in dataclasses.fields(Settings)}
    for name, table in raw.items():
        section = getattr(defaults, name)
        assert set(table) == {f.name for f in dataclasses.fields(section)}


def test_every_default_key_is_documented_by_a_comment_above_it() -> None:
    lines = defaults_text().splitlines()

    undocumented = [
        line
        for before, line in itertools.pairwise(lines)
        if "=" in line and not line.startswith("#") and not before.startswith("#")
    ]

    assert undocumented == []


def test_documented_default_values() -> None:
    settings = default_settings()

    assert settings.general.time_zone == ""
    assert settings.timer.flush_seconds == 5
    assert settings.idle.threshold_minutes == 5
    assert settings.capture.title_level == "full"
    assert settings.capture.private_apps == ()
    assert settings.capture.browser_receiver_port == 5600
    assert settings.capture.private_titles == ()
    assert settings.capture.private_app_name == "keep"
    assert settings.capture.browser_receiver_key == ""
    assert settings.sync.server_url == ""
    assert settings.logging.level == "INFO"


def test_no_file_means_defaults_without_problems(paths: Paths) -> None:
    result = load_settings(paths)

    assert result.settings == default_settings()
    assert result.problems == []
    assert not paths.settings_file.exists()


# -- the worker's file --------------------------------------------------------


def test_user_file_overrides_key_by_key(paths: Paths) -> None:
    write(
        paths,
        "version = 1\n[idle]\nthreshold_minutes = 10\n"
        '[capture]\nprivate_apps = ["KeePassXC"]\n',
    )

    result = load_settings(paths)

    assert result.problems == []
    assert result.settings.idle.threshold_minutes == 10
    assert result.settings.capture.private_apps == ("KeePassXC",)
    assert result.settings.capture.title_level == "full"
    assert result.settings.timer == default_settings().timer


def test_file_under_punchclock_home(punchclock_home: Path) -> None:
    settings_file = punchclock_home / "config" / "settings.toml"
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text("[timer]\nflush_seconds = 2\n")

    result = load_settings(Paths.from_env())

    assert result.settings.timer.flush_seconds == 2


def test_malformed_file_one_message_with_path_and_line_and_untouched(
    paths: Paths,
) -> None:
    before = write(paths, "version = 1\n[timer]\nflush_seconds = = 4\n")
    mtime = paths.settings_file.stat().st_mtime_ns

    result = load_settings(paths)

    assert result.settings == default_settings()
    assert len(result.problems) == 1
    assert str(paths.settings_file) in result.problems[0]
    assert "line 3" in result.problems[0]
    assert "flush_seconds = = 4" in result.problems[0]
    assert paths.settings_file.read_bytes() == before
    assert paths.settings_file.stat().st_mtime_ns == mtime


def test_file_that_is_not_utf8_names_the_line(paths: Paths) -> None:
    paths.settings_file.write_bytes(b"version = 1\n[general]\ntime_zone = '\xff'\n")

    result = load_settings(paths)

    assert result.settings == default_settings()
    assert "line 3" in result.problems[0]
    assert "UTF-8" in result.problems[0]


def test_notepad_byte_order_mark_is_accepted(paths: Paths) -> None:
    paths.settings_file.write_bytes(b"\xef\xbb\xbf[timer]\nflush_seconds = 3\n")

    result = load_settings(paths)

    assert result.problems == []
    assert result.settings.timer.flush_seconds == 3


def test_unreadable_settings_path_gives_defaults(paths: Paths) -> None:
    paths.settings_file.mkdir()

    result = load_settings(paths)

    assert result.settings == default_settings()
    assert len(result.problems) == 1
    assert str(paths.settings_file) in result.problems[0]


def test_wrong_type_names_key_value_and_default_and_others_apply(
    paths: Paths,
) -> None:
    write(paths, '[timer]\nflush_seconds = "10"\n[idle]\nthreshold_minutes = 7\n')

    result = load_settings(paths)

    assert result.settings.timer.flush_seconds == 5
    assert result.settings.idle.threshold_minutes == 7
    [problem] = result.problems
    assert str(paths.settings_file) in problem
    assert 'timer.flush_seconds = "10"' in problem
    assert "whole number" in problem
    assert "default 5" in problem


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[timer]\nflush_seconds = 0\n", "timer.flush_seconds"),
        ("[timer]\nflush_seconds = 6\n", "timer.flush_seconds"),
        ('[capture]\nprivate_titles = ["*bank*", " "]\n', "capture.private_titles"),
        ('[capture]\nprivate_titles = "*bank*"\n', "capture.private_titles"),
        ('[capture]\nbrowser_receiver_key = "short"\n', "capture.browser_receiver_key"),
        ("[timer]\nflush_seconds = true\n", "timer.flush_seconds"),
        ("[capture]\nbrowser_receiver_port = 80\n", "capture.browser_receiver_port"),
        ("[capture]\nprivate_apps = [1, 2]\n", "capture.private_apps"),
        ('[capture]\nfocus_enabled = "yes"\n', "capture.focus_enabled"),
        ('[general]\ntime_zone = "Mars/Olympus"\n', "general.time_zone"),
        ('[general]\ntime_zone = "../../etc/passwd"\n', "general.time_zone"),
        ('[general]\nweek_start = "funday"\n', "general.week_start"),
        ('[sync]\nserver_url = "ftp://example.com"\n', "sync.server_url"),
        ('[logging]\nlevel = "LOUD"\n', "logging.level"),
    ],
)
def test_bad_value_falls_back_to_default(paths: Paths, text: str, key: str) -> None:
    write(paths, text)

    result = load_settings(paths)

    assert result.settings == default_settings()
    [problem] = result.problems
    assert f"{key} = " in problem
    assert "using the default" in problem


def test_flush_seconds_beyond_five_is_refused_with_the_range(paths: Paths) -> None:
    write(paths, "[timer]\nflush_seconds = 60\n[idle]\nthreshold_minutes = 7\n")

    result = load_settings(paths)

    assert result.settings.timer.flush_seconds == 5
    assert result.settings.idle.threshold_minutes == 7
    [problem] = result.problems
    assert "timer.flush_seconds = 60 is not between 1 and 5" in problem


@pytest.mark.parametrize("seconds", [1, 5])
def test_flush_seconds_from_one_to_five_apply(paths: Paths, seconds: int) -> None:
    write(paths, f"[timer]\nflush_seconds = {seconds}\n")

    result = load_settings(paths)

    assert result.problems == []
    assert result.settings.timer.flush_seconds == seconds


def test_private_titles_key_and_app_name_apply(paths: Paths) -> None:
    key = "0123456789abcdef0123456789abcdef"
    write(
        paths,
        '[capture]\nprivate_titles = ["*bank*", "https://intranet.example/*"]\n'
        f'private_app_name = "Hide"\nbrowser_receiver_key = "{key}"\n',
    )

    result = load_settings(paths)

    assert result.problems == []
    capture = result.settings.capture
    assert capture.private_titles == ("*bank*", "https://intranet.example/*")
    assert capture.private_app_name == "hide"
    assert capture.browser_receiver_key == key


def test_an_empty_title_pattern_names_the_setting_and_the_rest_loads(
    paths: Paths,
) -> None:
    write(
        paths,
        '[capture]\nprivate_titles = ["*bank*", ""]\nprivate_apps = ["Signal"]\n'
        "[idle]\nthreshold_minutes = 7\n",
    )

    result = load_settings(paths)

    [problem] = result.problems
    assert 'capture.private_titles = ["*bank*", ""] has an empty pattern' in problem
    assert "using the default []" in problem
    assert result.settings.capture.private_titles == ()
    assert result.settings.capture.private_apps == ("Signal",)
    assert result.settings.idle.threshold_minutes == 7


def test_a_wrong_private_app_name_falls_back_to_hide(paths: Paths) -> None:
    write(paths, '[capture]\nprivate_app_name = "show"\n')

    result = load_settings(paths)

    assert result.settings.capture.private_app_name == "hide"
    [problem] = result.problems
    assert 'capture.private_app_name = "show" is not one of' in problem
    assert 'using "hide"' in problem


def test_choices_ignore_case_and_take_the_canonical_spelling(paths: Paths) -> None:
    write(paths, '[capture]\ntitle_level = "App-Only"\n[logging]\nlevel = "debug"\n')

    result = load_settings(paths)

    assert result.problems == []
    assert result.settings.capture.title_level == "app-only"
    assert result.settings.logging.level == "DEBUG"


def test_valid_time_zone_is_applied(paths: Paths) -> None:
    write(paths, '[general]\ntime_zone = "Asia/Kolkata"\nweek_start = "sunday"\n')

    settings = load_settings(paths).settings

    assert settings.general.time_zone == "Asia/Kolkata"
    assert settings.general.week_start == "sunday"


def test_unknown_keys_are_named_with_a_suggestion(paths: Paths) -> None:
    write(
        paths,
        "[capture]\nscreenshot_enabled = true\ninput_enabled = false\n"
        "[tmer]\nflush_seconds = 1\n",
    )

    result = load_settings(paths)

    assert result.settings.capture.input_enabled is False
    assert result.settings.capture.screenshots_enabled is False
    assert len(result.problems) == 2
    assert "capture.screenshot_enabled" in result.problems[0]
    assert "did you mean capture.screenshots_enabled?" in result.problems[0]
    assert "[tmer]" in result.problems[1]
    assert "did you mean timer?" in result.problems[1]


def test_section_given_as_a_value(paths: Paths) -> None:
    write(paths, "timer = 5\n")

    result = load_settings(paths)

    assert result.settings == default_settings()
    assert "[timer]" in result.problems[0]


def test_newer_version_keeps_known_keys_with_one_message(paths: Paths) -> None:
    write(
        paths,
        "version = 7\n[idle]\nthreshold_minutes = 9\nrule = 'ask'\n[breaks]\nx = 1\n",
    )

    result = load_settings(paths)

    assert result.settings.idle.threshold_minutes == 9
    [problem] = result.problems
    assert "newer" in problem
    assert "version 7" in problem
    assert "idle.rule" in problem


@pytest.mark.parametrize("version", ['"1"', "0", "true"])
def test_invalid_version_is_reported_and_read_as_current(
    paths: Paths, version: str
) -> None:
    write(paths, f"version = {version}\n[timer]\nflush_seconds = 3\n")

    result = load_settings(paths)

    assert result.settings.timer.flush_seconds == 3
    [problem] = result.problems
    assert "version" in problem


def test_hostile_long_value_is_cut_short_in_the_message(paths: Paths) -> None:
    write(paths, f'[timer]\nflush_seconds = "{"x" * 10_000}"\n')

    [problem] = load_settings(paths).problems

    assert len(problem) < 400


# -- saving -------------------------------------------------------------------


def changed_settings() -> Settings:
    defaults = default_settings()
    return dataclasses.replace(
        defaults,
        idle=dataclasses.replace(defaults.idle, threshold_minutes=12),
        capture=dataclasses.replace(
            defaults.capture,
            title_level="domain-only",
            private_apps=(
                'Quote " and \\ back',
                "new\nline",
                "Ünïcødé 名前",
                "del\x7f",
            ),
        ),
        sync=dataclasses.replace(defaults.sync, server_url="https://time.example.com"),
    )


def test_save_and_load_round_trip(paths: Paths) -> None:
    settings = changed_settings()

    kept = save_settings(paths, settings)
    result = load_settings(paths)

    assert kept is None
    assert result.problems == []
    assert result.settings == settings


def test_save_writes_only_changed_keys_and_the_version(paths: Paths) -> None:
    save_settings(paths, changed_settings())

    raw = tomllib.loads(paths.settings_file.read_text("utf-8"))

    assert raw["version"] == SCHEMA_VERSION
    assert set(raw) == {"version", "idle", "capture", "sync"}
    assert set(raw["capture"]) == {"title_level", "private_apps"}


def test_saving_defaults_leaves_only_the_version(paths: Paths) -> None:
    save_settings(paths, default_settings())

    raw = tomllib.loads(paths.settings_file.read_text("utf-8"))

    assert raw == {"version": SCHEMA_VERSION}


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.posix
def test_saved_file_is_0600_and_no_temp_file_is_left(paths: Paths) -> None:
    save_settings(paths, changed_settings())

    assert stat.S_IMODE(paths.settings_file.stat().st_mode) == 0o600
    assert [p.name for p in paths.config_dir.iterdir()] == ["settings.toml"]


def test_save_creates_the_config_dir(punchclock_home: Path) -> None:
    paths = Paths.from_env()

    save_settings(paths, changed_settings())

    assert paths.settings_file.parent == punchclock_home / "config"
    assert load_settings(paths).settings == changed_settings()


def test_save_keeps_a_malformed_file_aside(paths: Paths) -> None:
    before = write(paths, "[timer\nflush_seconds = 4\n")

    kept = save_settings(paths, changed_settings())

    assert kept is not None
    assert kept.parent == paths.config_dir
    assert kept.read_bytes() == before
    assert load_settings(paths).settings == changed_settings()


def test_save_keeps_aside_a_file_with_keys_it_does_not_know(paths: Paths) -> None:
    before = write(paths, "version = 2\n[idle]\nrule = 'ask'\n")

    kept = save_settings(paths, changed_settings())

    assert kept is not None
    assert kept.read_bytes() == before


def test_save_over_a_clean_file_keeps_nothing_aside(paths: Paths) -> None:
    write(paths, "version = 1\n[timer]\nflush_seconds = 3\n")

    assert save_settings(paths, changed_settings()) is None
    assert [p.name for p in paths.config_dir.iterdir()] == ["settings.toml"]


def test_save_refuses_an_invalid_value(paths: Paths) -> None:
    defaults = default_settings()
    bad = dataclasses.replace(
        defaults, timer=dataclasses.replace(defaults.timer, flush_seconds=0)
    )

    with pytest.raises(SettingsError, match="flush_seconds"):
        save_settings(paths, bad)
    assert not paths.settings_file.exists()


def test_settings_to_toml_is_valid_toml_for_odd_strings() -> None:
    text = settings_to_toml(changed_settings())

    raw = tomllib.loads(text)

    assert raw["capture"]["private_apps"][3] == "del\x7f"
