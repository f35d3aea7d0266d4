"""The reference sync server (``pip install punchclock[server]``).

FastAPI and SQLAlchemy; SQLite by default, PostgreSQL when given a database
URL. Start it with ``punchclock-server --help`` (or ``python -m sync.server``).
It shares only :mod:`sync.protocol` with the agent.
"""
