"""First-run consent: what this policy collects, where it goes, and the answer.

Shown before anything is captured, and again when the policy starts
collecting something not yet accepted. The buttons say what each answer
does; declining never hides the timer unless policy requires capture, and
then the dialog says so.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agent.consent import Collection, ConsentState


class ConsentDialog(QDialog):
    """Accept or decline; :attr:`answer` holds the answer.

    ``answer`` stays None when the dialog is closed without a button (Esc,
    the window's close box, the app quitting): that is no answer, and the
    question comes back at the next start.
    """

    def __init__(
        self,
        collection: Collection,
        state: ConsentState = ConsentState.NEEDED,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Punchclock — what is collected")
        self.answer: bool | None = None
        self.collection = collection

        layout = QVBoxLayout(self)
        layout.addWidget(_heading(state))
        layout.addWidget(_wrapped(_collection_html(collection), self))
        layout.addWidget(_wrapped(f"<b>Where it goes.</b> {collection.destination}"))
        layout.addWidget(_wrapped(_decline_text(collection)))

        buttons = QDialogButtonBox(self)
        self.accept_button = QPushButton("Accept and start capture", self)
        self.decline_button = QPushButton(_decline_label(collection), self)
        buttons.addButton(self.accept_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.decline_button, QDialogButtonBox.ButtonRole.RejectRole)
        layout.addWidget(buttons)
        self.accept_button.setDefault(True)
        self.accept_button.clicked.connect(self._on_accept)
        self.decline_button.clicked.connect(self._on_decline)
        self.setMinimumWidth(560)
        self.adjustSize()

    def _on_accept(self) -> None:
        self.answer = True
        self.accept()

    def _on_decline(self) -> None:
        self.answer = False
        self.reject()


def _heading(state: ConsentState) -> QLabel:
    text = "Before Punchclock records anything"
    if state is ConsentState.STALE:
        text = "Your organisation's policy now collects more"
    label = QLabel(f"<h3>{text}</h3>")
    label.setTextFormat(Qt.TextFormat.RichText)
    return label


def _collection_html(collection: Collection) -> str:
    rows = []
    for _, collected, text in collection.lines():
        mark = "✔" if collected else "✘"
        colour = "#15803d" if collected else "#6b7280"
        status = "" if collected else " — <i>not collected</i>"
        rows.append(
            f"<tr><td style='color:{colour}; padding-right:8px'>{mark}</td>"
            f"<td>{_escape(text)}{status}</td></tr>"
        )
    html = "<b>While your timer runs, Punchclock records:</b><table>"
    html += "".join(rows) + "</table>"
    if collection.private_apps:
        names = ", ".join(_escape(app) for app in collection.private_apps)
        html += f"<p>Never recorded (only the time): {names}</p>"
    if collection.private_titles:
        patterns = ", ".join(_escape(p) for p in collection.private_titles)
        html += f"<p>Windows and pages never recorded (only the time): {patterns}</p>"
    html += "<p>Nothing is recorded while the timer is stopped.</p>"
    return html


def _decline_text(collection: Collection) -> str:
    if collection.requires_capture:
        return (
            "<b>If you decline:</b> your organisation's policy requires capture, "
            "so the timer cannot be used until you accept."
        )
    return (
        "<b>If you decline:</b> the timer still works; only the time you clock "
        "is recorded, nothing else. You can change your answer any time under "
        "“What is collected now” in the tray menu, or with "
        "<code>punchclock consent accept|revoke</code>."
    )


def _decline_label(collection: Collection) -> str:
    if collection.requires_capture:
        return "Decline (timer unavailable)"
    return "Decline — timer only"


def _wrapped(html: str, parent: QWidget | None = None) -> QLabel:
    label = QLabel(html, parent)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    return label


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
