"""The session's lock state from D-Bus signals, where a bus exists.

Lockers announce themselves on D-Bus:

- on the session bus, the desktops' screen saver services
  (``org.freedesktop.ScreenSaver``, ``org.gnome.ScreenSaver``, MATE's and
  Cinnamon's), each with a ``GetActive`` method and an ``ActiveChanged(b)``
  signal;
- on the system bus, systemd-logind's ``LockedHint`` property of the
  session, which lockers that integrate with logind set (GNOME, KDE,
  light-locker, xss-lock; ``loginctl lock-session`` asks them to lock).
  https://www.freedesktop.org/software/systemd/man/latest/org.freedesktop.login1.html

:class:`LockWatch` reads the state once and then follows the signals, on
one thread per bus that waits in the socket between signals: nothing runs
while nothing changes. Where neither bus answers, the state is unknown
(None) and the X screen saver's state is all there is (``x11``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

SAVERS = tuple(
    (f"org.{name}.ScreenSaver", f"/org/{name}/ScreenSaver", f"org.{name}.ScreenSaver")
    for name in ("freedesktop", "gnome", "mate", "cinnamon")
)
LOGIND = ("org.freedesktop.login1", "/org/freedesktop/login1")
LOGIND_MANAGER = "org.freedesktop.login1.Manager"
LOGIND_SESSION = "org.freedesktop.login1.Session"
PROPERTIES = "org.freedesktop.DBus.Properties"
SYSTEM_BUS = "unix:path=/var/run/dbus/system_bus_socket"
CALL_TIMEOUT = 1.0

SignalHandler = Callable[[Any], None]


class LockWatch:
    """Whether the session is locked, as its lockers say on D-Bus.

    ``start`` and ``stop`` are called by the idle source's owner (the agent's
    tick thread); ``locked`` may be read from any thread and never blocks.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._buses = {
            "session": env.get("DBUS_SESSION_BUS_ADDRESS"),
            "system": env.get("DBUS_SYSTEM_BUS_ADDRESS", SYSTEM_BUS),
        }
        self._session_id = env.get("XDG_SESSION_ID")
        self._states: dict[str, bool] = {}
        self._guard = threading.Lock()
        self._listening: list[tuple[Any, threading.Thread]] = []
        self._started = False

    @property
    def locked(self) -> bool | None:
        """True when any locker says locked; None when none has said anything."""
        with self._guard:
            if not self._states:
                return None
            return any(self._states.values())

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        setups = {"session": self._watch_savers, "system": self._watch_logind}
        for bus, setup in setups.items():
            address = self._buses[bus]
            if not address:
                continue
            try:
                conn = _connect(address)
            except (OSError, ValueError, TimeoutError) as exc:
                log.debug("no %s bus for the lock state: %s", bus, exc)
                continue
            handler = setup(conn)
            if handler is None:
                conn.close()
                continue
            thread = threading.Thread(
                target=self._listen,
                args=(conn, handler),
                name=f"lock-watch-{bus}",
                daemon=True,
            )
            thread.start()
            self._listening.append((conn, thread))

    def stop(self) -> None:
        listening, self._listening = self._listening, []
        for conn, thread in listening:
            try:
                # Wakes the thread out of its wait; close alone may not.
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError as exc:
                log.debug("lock watch connection already gone: %s", exc)
            thread.join(2)
            conn.close()
        self._started = False

    # the screen savers

    def _watch_savers(self, conn: Any) -> SignalHandler:
        for name, path, interface in SAVERS:
            _add_match(conn, interface=interface, member="ActiveChanged")
            try:
                (active,) = _call(conn, name, path, interface, "GetActive")
            except (_CallFailed, ValueError):
                continue
            self._set(interface, bool(active))

        def on_signal(msg: Any) -> None:
            fields = msg.header.fields
            interface, member = fields.get(2), fields.get(3)
            if member == "ActiveChanged" and msg.body:
                self._set(str(interface), bool(msg.body[0]))

        return on_signal

    # logind

    def _watch_logind(self, conn: Any) -> SignalHandler | None:
        try:
            if self._session_id:
                (path,) = _call(
                    conn, *LOGIND, LOGIND_MANAGER, "GetSession", "s", self._session_id
                )
            else:
                (path,) = _call(
                    conn, *LOGIND, LOGIND_MANAGER, "GetSessionByPID", "u", os.getpid()
                )
        except (_CallFailed, ValueError) as exc:
            log.debug("no logind session for the lock state: %s", exc)
            return None
        _add_match(conn, interface=PROPERTIES, member="PropertiesChanged", path=path)
        try:
            ((_, hint),) = _call(
                conn,
                LOGIND[0],
                path,
                PROPERTIES,
                "Get",
                "ss",
                LOGIND_SESSION,
                "LockedHint",
            )
            self._set("logind", bool(hint))
        except (_CallFailed, ValueError) as exc:
            log.debug("logind has no LockedHint: %s", exc)

        def on_signal(msg: Any) -> None:
            if msg.header.fields.get(3) != "PropertiesChanged" or len(msg.body) < 2:
                return
            interface, changed = msg.body[0], msg.body[1]
            if interface == LOGIND_SESSION and "LockedHint" in changed:
                self._set("logind", bool(changed["LockedHint"][1]))

        return on_signal

    # the listening thread

    def _listen(self, conn: Any, on_signal: SignalHandler) -> None:
        from jeepney import MessageType  # type: ignore[import-untyped,unused-ignore]

        while True:
            try:
                msg = conn.receive()
            except (OSError, ValueError) as exc:
                log.debug("lock watch stopped listening: %s", exc)
                return
            if msg.header.message_type is MessageType.signal:
                on_signal(msg)

    def _set(self, who: str, locked: bool) -> None:
        with self._guard:
            changed = self._states.get(who) != locked
            self._states[who] = locked
        if changed:
            log.info("session %s (from %s)", "locked" if locked else "unlocked", who)


class _CallFailed(Exception):
    """A method call on the bus failed or got an error back."""


def _connect(address: str) -> Any:
    from jeepney.io.blocking import (  # type: ignore[import-untyped,unused-ignore]
        open_dbus_connection,
    )

    return open_dbus_connection(bus=address)


def _call(
    conn: Any,
    name: str,
    path: str,
    interface: str,
    member: str,
    signature: str | None = None,
    *body: Any,
) -> tuple[Any, ...]:
    from jeepney import (  # type: ignore[import-untyped,unused-ignore]
        DBusAddress,
        MessageType,
        new_method_call,
    )

    address = DBusAddress(path, bus_name=name, interface=interface)
    message = new_method_call(address, member, signature, body)
    try:
        reply = conn.send_and_get_reply(message, timeout=CALL_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise _CallFailed(f"{name} {member}: {exc}") from exc
    if reply.header.message_type is MessageType.error:
        raise _CallFailed(f"{name} {member}: {reply.body}")
    return tuple(reply.body)


def _add_match(conn: Any, **rule: str) -> None:
    from jeepney.bus_messages import (  # type: ignore[import-untyped,unused-ignore]
        MatchRule,
        message_bus,
    )

    try:
        conn.send_and_get_reply(
            message_bus.AddMatch(MatchRule(type="signal", **rule)),
            timeout=CALL_TIMEOUT,
        )
    except (OSError, TimeoutError) as exc:
        log.debug("the bus refused a match rule: %s", exc)
