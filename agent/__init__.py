"""Punchclock's hub: domain types, store, clocks, timer, policy and the CLI."""

__version__ = "0.1.0"
