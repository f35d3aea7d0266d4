"""Real servers on loopback for the sync tests and benchmarks.

- :func:`reference_server`: the FastAPI reference server under uvicorn in a
  thread, on SQLite or PostgreSQL;
- :func:`aw_server`: aw-server 0.12.0 in testing mode, as a subprocess of
  the separate virtual environment ``.ci/run`` makes (it pins flask and
  peewee versions the project itself must not be tied to);
- :func:`postgres_url`: a fresh PostgreSQL database, or the reason there is
  none.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

PG_URL_ENV = "PUNCHCLOCK_TEST_PG_URL"
DEFAULT_PG_URL = "postgresql+psycopg://punchclock:punchclock@127.0.0.1:5432/postgres"
AW_PYTHON_ENV = "PUNCHCLOCK_AW_PYTHON"
DEFAULT_AW_PYTHON = Path.home() / ".cache" / "punchclock" / "aw-venv" / "bin" / "python"

ENROLLMENT_KEY = "test-enrollment-key"
LEAD_TOKEN = "test-lead-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(predicate: object, timeout: float = 30.0) -> None:
    """Poll ``predicate`` (a callable) until true; raise after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise TimeoutError(f"condition not met within {timeout} s")


@dataclass
class RunningServer:
    url: str
    database_url: str
    files_dir: Path

    def lead(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {LEAD_TOKEN}"},
            timeout=30,
        )


@contextlib.contextmanager
def reference_server(database_url: str, files_dir: Path) -> Iterator[RunningServer]:
    import uvicorn

    from sync.server.app import ServerConfig, create_app

    config = ServerConfig(database_url, files_dir, ENROLLMENT_KEY, LEAD_TOKEN)
    app = create_app(config)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
    )
    thread = threading.Thread(target=server.run, name="reference-server", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started)
        yield RunningServer(f"http://127.0.0.1:{port}", database_url, files_dir)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        app.state.engine.dispose()


def postgres_available(url: str) -> str | None:
    """None when PostgreSQL answers at ``url``, else why not."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as error:
        return f"no PostgreSQL at {url.split('@')[-1]}: {str(error.orig)[:120]}"
    finally:
        engine.dispose()
    return None


@contextlib.contextmanager
def postgres_database(base_url: str) -> Iterator[str]:
    """A new, empty database on the server of ``base_url``; dropped after."""
    from sqlalchemy import create_engine, text

    name = f"punchclock_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def pg_base_url() -> str:
    return os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)


def aw_python() -> Path | None:
    path = Path(os.environ.get(AW_PYTHON_ENV, str(DEFAULT_AW_PYTHON)))
    return path if path.exists() else None


@contextlib.contextmanager
def aw_server(home: Path) -> Iterator[str]:
    """aw-server in testing mode on a free loopback port; its data under home."""
    python = aw_python()
    if python is None:
        raise FileNotFoundError("aw-server's virtual environment is missing")
    port = free_port()
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_STATE_HOME": str(home / "state"),
    }
    home.mkdir(parents=True, exist_ok=True)
    log = (home / "aw-server.log").open("wb")
    process = subprocess.Popen(
        [
            *(str(python), "-m", "aw_server", "--testing"),
            *("--host", "127.0.0.1", "--port", str(port)),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(url + "/api/0/info") or process.poll() is not None)
        if process.poll() is not None:
            output = (home / "aw-server.log").read_text()
            raise RuntimeError(f"aw-server exited: {output}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    sys.stdout.write(str(aw_python()) + "\n")
