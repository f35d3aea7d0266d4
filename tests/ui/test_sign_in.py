"""Sign-in from the Settings dialog, against the real reference server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from agent.cli import main
from agent.paths import Paths
from agent.settings import load_settings
from sync.tokens import TokenStore
from tests.sync import servers
from ui.services import Services
from ui.settings_dialog import SettingsDialog
from ui.shell import Shell


@pytest.fixture
def server(tmp_path: Path) -> Iterator[servers.RunningServer]:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    with servers.reference_server(url, tmp_path / "server-files") as running:
        yield running


def _settings(shell: Shell, url: str) -> SettingsDialog:
    shell.open_settings()
    dialog = shell.settings_dialog
    assert dialog is not None
    dialog.server_url.setText(url)
    return dialog


def _give_key(qtbot: QtBot, dialog: SettingsDialog, key: str) -> None:
    row = dialog.sign_in
    assert row.button.isEnabled()
    row.button.click()
    ask = row.key_dialog
    assert ask is not None
    qtbot.waitUntil(ask.isVisible)
    ask.setTextValue(key)
    ask.accept()


def test_signing_in_from_settings_keeps_the_token_and_the_server(
    qtbot: QtBot,
    shell: Shell,
    services: Services,
    paths: Paths,
    server: servers.RunningServer,
) -> None:
    services.add_project("Acme", "Design")
    dialog = _settings(shell, server.url)

    _give_key(qtbot, dialog, servers.ENROLLMENT_KEY)
    status = dialog.sign_in.status
    qtbot.waitUntil(lambda: status.text().startswith("Signed in"), timeout=20_000)

    assert server.url in status.text()
    assert "2 record(s) from before are queued" in status.text()
    assert dialog.sign_in.button.isEnabled()
    assert TokenStore(paths.config_dir).load(server.url)
    assert load_settings(paths).settings.sync.server_url == server.url
    assert services.settings.sync.server_url == server.url
    # The token works: what waited reaches the server.
    assert main(["sync", "--once"]) == 0


def test_a_refused_key_is_shown_and_nothing_is_kept(
    qtbot: QtBot,
    shell: Shell,
    services: Services,
    paths: Paths,
    server: servers.RunningServer,
) -> None:
    dialog = _settings(shell, server.url)

    _give_key(qtbot, dialog, "not-the-key")
    status = dialog.sign_in.status
    qtbot.waitUntil(lambda: "sign-in failed" in status.text(), timeout=20_000)

    assert dialog.sign_in.button.isEnabled()
    assert TokenStore(paths.config_dir).load(server.url) is None
    assert load_settings(paths).settings.sync.server_url == ""
    assert services.settings.sync.server_url == ""


def test_without_an_address_the_key_is_not_asked(qtbot: QtBot, shell: Shell) -> None:
    dialog = _settings(shell, "  ")

    dialog.sign_in.button.click()

    assert dialog.sign_in.key_dialog is None
    assert "server address first" in dialog.sign_in.status.text()
