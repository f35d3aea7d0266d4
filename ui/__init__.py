"""The tray app: Qt widgets over the agent's services.

``ui`` reaches data only through :class:`ui.services.Services` (the timer,
projects, reporting and consent services of :mod:`agent`) and through the
signals of :class:`ui.bridge.AgentBridge`; no widget queries the store.
"""
