"""The reference sync server (``pip install punchclock[server]``).

FastAPI and SQLAlchemy; SQLite by default, PostgreSQL when given a database
URL. Start it with ``python -m sync.server --help``. It shares only
:mod:`sync.protocol` with the agent.
"""
