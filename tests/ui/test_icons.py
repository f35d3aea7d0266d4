"""The tray's icons load from a regular package and from a namespace package."""

from __future__ import annotations

from importlib import resources
from importlib.readers import MultiplexedPath
from pathlib import Path

import pytest

from ui import icons
from ui.icons import TrayState

RESOURCES = Path(icons.__file__).resolve().parent.parent / "resources"


@pytest.mark.parametrize("state", list(TrayState))
def test_every_state_has_an_svg(state: TrayState) -> None:
    assert icons.icon_bytes(state).lstrip().startswith(b"<")


def test_icons_load_when_resources_is_a_namespace_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The frozen build sees ``resources`` as a namespace package, whose
    # Traversable on Python 3.11 takes one child per joinpath.
    namespace = MultiplexedPath(RESOURCES)
    monkeypatch.setattr(resources, "files", lambda _package: namespace)

    assert (
        icons.icon_bytes(TrayState.RUNNING)
        == (RESOURCES / "icons" / "running.svg").read_bytes()
    )
