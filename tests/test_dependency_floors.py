"""The declared dependencies admit only versions the code works with, and
the pinned ones (constraints.txt) are among them."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def _declared() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = [Requirement(line) for line in project["project"]["dependencies"]]
    return {canonicalize_name(r.name): r for r in requirements}


def _pinned() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split(";", 1)[0].split("==", 1)
            pins[canonicalize_name(name.strip())] = Version(version.strip())
    return pins


def test_every_pin_satisfies_the_declared_range() -> None:
    declared, pinned = _declared(), _pinned()
    outside = {
        name: str(version)
        for name, version in pinned.items()
        if name in declared and version not in declared[name].specifier
    }
    assert outside == {}


def test_pynput_admits_only_versions_that_mark_injected_input() -> None:
    """capture/input/listener.py tells synthetic input (jigglers, xdotool)
    apart by the ``injected`` argument pynput passes its callbacks since 1.8;
    with 1.7 every event would count as a person's."""
    specifier = _declared()["pynput"].specifier
    assert Version("1.7.7") not in specifier
    assert Version("1.7.99") not in specifier
    assert Version("1.8") in specifier
