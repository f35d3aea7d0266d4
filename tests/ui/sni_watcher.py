"""A StatusNotifierWatcher with a host, on a given D-Bus bus, for the tests.

Run: python tests/ui/sni_watcher.py BUS_ADDRESS

It owns ``org.kde.StatusNotifierWatcher`` as KDE's and GNOME's
AppIndicator extension do, says a host is registered (Qt shows its icon
over D-Bus only then), prints ``ready`` once it owns the name, and prints
``item SERVICE PATH`` for each item an app registers. It answers the
watcher's properties and methods (the StatusNotifierItem specification,
freedesktop.org) and nothing else; it stops on SIGTERM or when the bus
goes away.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

from jeepney import (
    DBus,
    HeaderFields,
    Message,
    MessageType,
    new_error,
    new_method_return,
    new_signal,
)
from jeepney.bus_messages import DBusNameFlags
from jeepney.io.blocking import DBusConnection, open_dbus_connection

NAME = "org.kde.StatusNotifierWatcher"
PATH = "/StatusNotifierWatcher"
INTERFACE = "org.kde.StatusNotifierWatcher"
PROPERTIES = "org.freedesktop.DBus.Properties"


class Watcher:
    def __init__(self, connection: DBusConnection) -> None:
        self.connection = connection
        self.items: list[str] = []

    def properties(self) -> dict[str, tuple[str, Any]]:
        return {
            "RegisteredStatusNotifierItems": ("as", list(self.items)),
            "IsStatusNotifierHostRegistered": ("b", True),
            "ProtocolVersion": ("i", 0),
        }

    def handle(self, message: Message) -> None:
        header = message.header
        if header.message_type is not MessageType.method_call:
            return
        fields = header.fields
        if fields.get(HeaderFields.path) != PATH:
            self.reply_error(message, "org.freedesktop.DBus.Error.UnknownObject")
            return
        member = fields.get(HeaderFields.member)
        interface = fields.get(HeaderFields.interface)
        if interface == PROPERTIES and member == "Get":
            _, name = message.body
            value = self.properties().get(name)
            if value is None:
                self.reply_error(message, "org.freedesktop.DBus.Error.UnknownProperty")
            else:
                self.reply(message, "v", (value,))
        elif interface == PROPERTIES and member == "GetAll":
            self.reply(message, "a{sv}", (self.properties(),))
        elif member == "RegisterStatusNotifierItem":
            self.register_item(message)
        elif member == "RegisterStatusNotifierHost":
            self.reply(message, "", ())
        else:
            self.reply_error(message, "org.freedesktop.DBus.Error.UnknownMethod")

    def register_item(self, message: Message) -> None:
        (given,) = message.body
        sender = message.header.fields[HeaderFields.sender]
        # An item names its bus name, or only its object path on the sender.
        service, path = (sender, given) if given.startswith("/") else (given, "")
        self.items.append(f"{service}{path}")
        self.reply(message, "", ())
        signal_message = new_signal(
            _emitter(), "StatusNotifierItemRegistered", "s", (f"{service}{path}",)
        )
        self.connection.send(signal_message)
        print(f"item {service} {path or '/StatusNotifierItem'}", flush=True)

    def reply(self, message: Message, signature: str, body: tuple[Any, ...]) -> None:
        self.connection.send(new_method_return(message, signature, body))

    def reply_error(self, message: Message, name: str) -> None:
        self.connection.send(new_error(message, name))


def _emitter() -> Any:
    from jeepney import DBusAddress

    return DBusAddress(PATH, interface=INTERFACE)


def main() -> int:
    connection = open_dbus_connection(sys.argv[1])
    reply = connection.send_and_get_reply(
        DBus().RequestName(NAME, DBusNameFlags.do_not_queue)
    )
    if reply.body != (1,):
        print(f"could not own {NAME}: {reply.body}", flush=True)
        return 1
    print("ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    watcher = Watcher(connection)
    while True:
        watcher.handle(connection.receive())


if __name__ == "__main__":
    sys.exit(main())
