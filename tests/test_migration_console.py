"""The first start migrates the store without a screen of Alembic INFO lines
on the console; the log file keeps them."""

from __future__ import annotations

import logging

import pytest

from agent.logs import configure_logging
from agent.paths import Paths
from agent.store import Store


def test_migrating_prints_no_alembic_info_on_the_console(
    paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    # As `punchclock agent` sets it up: INFO on the console.
    configure_logging(paths, console=True, console_level=logging.INFO)
    try:
        store = Store.open(paths.database)
        store.close()
        alembic = logging.getLogger("alembic.runtime.migration")
        alembic.warning("a real alembic warning")
        for handler in logging.getLogger().handlers:
            handler.flush()
    finally:
        # Back to the file only (conftest's restore_logging removes one
        # handler it finds, not two in a row).
        configure_logging(paths, console=False)

    err = capsys.readouterr().err.splitlines()
    assert "INFO: migrating the store to schema head" in err
    assert [line for line in err if "alembic" in line or "upgrade" in line] == [
        "WARNING: a real alembic warning"
    ]
    logged = paths.log_file.read_text(encoding="utf-8")
    assert "alembic.runtime.migration: Running upgrade 0006 -> 0007" in logged
