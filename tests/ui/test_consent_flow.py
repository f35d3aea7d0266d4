"""First-run consent in the tray app: what the dialog lists, and each answer."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pytestqt.qtbot import QtBot

from agent.consent import Collection, ConsentState
from agent.settings import default_settings
from tests.ui.conftest import FakeCapture, settle
from ui.consent_dialog import ConsentDialog
from ui.services import Services
from ui.shell import Shell


def _collection(**capture: object) -> Collection:
    defaults = default_settings()
    settings = dataclasses.replace(
        defaults, capture=dataclasses.replace(defaults.capture, **capture)
    )
    return Collection.from_settings(settings)


def _text(dialog: ConsentDialog) -> str:
    from PySide6.QtWidgets import QLabel

    return "\n".join(label.text() for label in dialog.findChildren(QLabel))


def test_dialog_lists_what_this_policy_collects(qtbot: QtBot) -> None:
    dialog = ConsentDialog(
        _collection(
            screenshots_enabled=True,
            private_apps=("KeePassXC",),
            private_titles=("*payslip*",),
        )
    )
    qtbot.addWidget(dialog)
    text = _text(dialog)

    assert "Screenshots of your screens" in text
    assert "not collected" not in text.split("Screenshots")[1].split("</tr>")[0]
    assert "Never recorded (only the time): KeePassXC" in text
    assert "Windows and pages never recorded (only the time): *payslip*" in text
    assert "Everything stays on this computer" in text
    assert "the timer still works" in text


def test_dialog_says_what_is_not_collected(qtbot: QtBot) -> None:
    dialog = ConsentDialog(_collection(title_level="app-only", input_enabled=False))
    qtbot.addWidget(dialog)
    text = _text(dialog)

    assert "Window titles of the application in front — <i>not collected" in text
    assert "never which keys) — <i>not collected" in text


def test_dialog_says_when_declining_leaves_no_timer(qtbot: QtBot) -> None:
    collection = dataclasses.replace(_collection(), requires_capture=True)
    dialog = ConsentDialog(collection)
    qtbot.addWidget(dialog)

    assert "the timer cannot be used until you accept" in _text(dialog)
    assert dialog.decline_button.text() == "Decline (timer unavailable)"


def test_closing_the_dialog_is_no_answer(qtbot: QtBot) -> None:
    dialog = ConsentDialog(_collection())
    qtbot.addWidget(dialog)
    dialog.show()

    dialog.close()

    assert dialog.answer is None


def test_first_run_asks_and_accepting_starts_capture(
    qtbot: QtBot,
    shell: Shell,
    services: Services,
    capture: FakeCapture,
    artifacts_dir: Path,
) -> None:
    shell.ask_consent()
    dialog = shell.consent_dialog
    assert dialog is not None
    assert dialog.isVisible()
    dialog.grab().save(str(artifacts_dir / "tray-consent-dialog.png"))

    dialog.accept_button.click()
    settle(qtbot, shell)

    assert services.consent_state() is ConsentState.GIVEN
    assert capture.calls == ["on"]
    assert shell.model.consent is ConsentState.GIVEN


def test_declining_keeps_the_timer_usable_without_capture(
    qtbot: QtBot, shell: Shell, services: Services, capture: FakeCapture
) -> None:
    services.add_project("Acme", None)
    shell.ask_consent()
    assert shell.consent_dialog is not None
    shell.consent_dialog.decline_button.click()
    settle(qtbot, shell)

    assert services.consent_state() is ConsentState.DECLINED
    assert capture.calls == ["off"]
    services.start(services.choices()[0])
    assert services.current() is not None


def test_consent_is_asked_once_the_first_snapshot_says_so(
    qtbot: QtBot, services: Services, runner: object, capture: FakeCapture
) -> None:
    from tests.ui.conftest import FakeAutostart

    shell = Shell(services, runner, capture, FakeAutostart())  # type: ignore[arg-type]
    qtbot.addWidget(shell.window)
    with qtbot.waitSignal(shell.model.changed):
        shell.model.refresh()

    assert shell.consent_dialog is not None
    assert shell.consent_dialog.isVisible()
    shell.consent_dialog.close()
    shell.runner.wait()


def test_revoked_from_the_terminal_stops_capture_within_the_poll(
    qtbot: QtBot, shell: Shell, services: Services, capture: FakeCapture
) -> None:
    services.consent.accept(services.collection())
    capture.on = True

    services.consent.decline()  # what `punchclock consent revoke` writes
    shell._poll_consent()
    qtbot.waitUntil(lambda: shell.model.consent is ConsentState.DECLINED)

    assert capture.calls == ["off"]


def test_consent_given_elsewhere_closes_the_open_dialog(
    qtbot: QtBot, shell: Shell, services: Services
) -> None:
    shell.ask_consent()
    dialog = shell.consent_dialog
    assert dialog is not None

    services.consent.accept(services.collection())  # `punchclock consent accept`
    settle(qtbot, shell)

    assert not dialog.isVisible()


def test_reviewing_a_declined_consent_is_not_interrupted(
    qtbot: QtBot, shell: Shell, services: Services
) -> None:
    services.consent.decline()
    settle(qtbot, shell)
    shell.ask_consent()
    dialog = shell.consent_dialog
    assert dialog is not None

    settle(qtbot, shell)  # the periodic refresh

    assert dialog.isVisible()
    dialog.close()
