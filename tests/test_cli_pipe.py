"""A reader that stops early (``| head -1``) is not an error: quiet exit 141."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PUNCHCLOCK = str(Path(sys.executable).with_name("punchclock"))


def _into_closed_pipe(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run with stdout a pipe whose reader is already gone: every write fails."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [PUNCHCLOCK, *argv],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=120,
        )
    finally:
        os.close(write)


@pytest.mark.parametrize(
    "argv",
    [["doctor", "--json"], ["entries", "list"], ["projects", "list"]],
)
def test_a_closed_pipe_exits_quietly(argv: list[str]) -> None:
    done = _into_closed_pipe(*argv)
    assert done.stderr == ""
    assert done.returncode == 141


def test_a_reader_that_stops_after_one_line() -> None:
    """The shell pipeline the user typed: quiet whether or not head left
    before the list was written."""
    tasks = " ".join(f"--task t{n}" for n in range(300))
    script = (
        f'"{PUNCHCLOCK}" projects add P1 {tasks} >/dev/null || exit 9; '
        f'"{PUNCHCLOCK}" projects list | head -1; '
        'echo "status ${PIPESTATUS[0]}" >&2'
    )
    done = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.stdout == "P1\n"
    lines = done.stderr.splitlines()
    assert lines[-1] in ("status 0", "status 141")
    assert lines[:-1] == []
