"""The consent record: states, staleness, the store round trip and the CLI."""

from __future__ import annotations

import dataclasses
import json

import pytest

from agent.cli import main
from agent.clock import ManualClock
from agent.consent import (
    META_KEY,
    Collection,
    Consent,
    ConsentState,
    capture_consented,
    destination,
)
from agent.errors import UserError
from agent.settings import Settings, default_settings
from agent.store import Store
from agent.store.models import Meta


def _settings(**capture: object) -> Settings:
    defaults = default_settings()
    return dataclasses.replace(
        defaults, capture=dataclasses.replace(defaults.capture, **capture)
    )


@pytest.fixture
def consent(store: Store) -> Consent:
    return Consent(store, ManualClock())


def test_what_the_default_policy_collects() -> None:
    collection = Collection.from_settings(default_settings())

    assert collection.kinds == ("activity", "apps", "titles", "urls")
    assert not collection.requires_capture
    assert "stays on this computer" in collection.destination


@pytest.mark.parametrize(
    ("capture", "kinds"),
    [
        ({"title_level": "app-only"}, ("activity", "apps")),
        ({"title_level": "domain-only"}, ("activity", "apps", "domains")),
        ({"focus_enabled": False, "input_enabled": False}, ()),
        (
            {"screenshots_enabled": True},
            ("activity", "apps", "titles", "urls", "screenshots"),
        ),
    ],
)
def test_collection_follows_the_capture_settings(
    capture: dict[str, object], kinds: tuple[str, ...]
) -> None:
    assert Collection.from_settings(_settings(**capture)).kinds == kinds


def test_screenshots_count_per_slot_and_blur_are_said() -> None:
    defaults = default_settings()
    settings = dataclasses.replace(
        _settings(screenshots_enabled=True),
        screenshots=dataclasses.replace(defaults.screenshots, per_slot=2, blur=True),
    )

    collection = Collection.from_settings(settings)

    [text] = [text for kind, _, text in collection.lines() if kind == "screenshots"]
    assert "2 at random moments in every 10-minute slot" in text
    assert "blurred" in text


def test_the_slot_length_and_private_titles_are_said() -> None:
    defaults = default_settings()
    settings = dataclasses.replace(
        _settings(screenshots_enabled=True, private_titles=("*payslip*",)),
        activity=dataclasses.replace(defaults.activity, slot_minutes=15),
    )

    collection = Collection.from_settings(settings)

    [text] = [text for kind, _, text in collection.lines() if kind == "screenshots"]
    assert "in every 15-minute slot" in text
    assert collection.private_titles == ("*payslip*",)


def test_no_screenshots_when_the_policy_takes_none_per_slot() -> None:
    defaults = default_settings()
    settings = dataclasses.replace(
        _settings(screenshots_enabled=True),
        screenshots=dataclasses.replace(defaults.screenshots, per_slot=0),
    )

    assert "screenshots" not in Collection.from_settings(settings).kinds


def test_lines_name_every_kind_once_collected_first() -> None:
    lines = Collection.from_settings(_settings(title_level="domain-only")).lines()

    kinds = [kind for kind, _, _ in lines]
    assert kinds[:3] == ["activity", "apps", "domains"]
    assert "urls" not in kinds
    assert [collected for _, collected, _ in lines] == [True] * 3 + [False] * 2


def test_destination_names_the_server() -> None:
    assert "https://time.example.com" in destination("https://time.example.com")


def test_nothing_is_allowed_before_an_answer(consent: Consent) -> None:
    collection = Collection.from_settings(default_settings())

    assert consent.state(collection) is ConsentState.NEEDED
    assert not consent.capture_allowed(collection)
    assert consent.timer_allowed(collection)


def test_accept_then_revoke(consent: Consent) -> None:
    collection = Collection.from_settings(default_settings())

    record = consent.accept(collection)
    assert consent.state(collection) is ConsentState.GIVEN
    assert consent.record() == record

    consent.decline()
    assert consent.state(collection) is ConsentState.DECLINED
    assert not consent.capture_allowed(collection)


def test_collecting_more_than_accepted_asks_again(consent: Consent) -> None:
    consent.accept(Collection.from_settings(default_settings()))

    more = Collection.from_settings(_settings(screenshots_enabled=True))
    less = Collection.from_settings(_settings(title_level="app-only"))

    assert consent.state(more) is ConsentState.STALE
    assert not consent.capture_allowed(more)
    assert consent.state(less) is ConsentState.GIVEN


def test_policy_that_requires_capture_blocks_the_timer_without_consent(
    consent: Consent,
) -> None:
    required = dataclasses.replace(
        Collection.from_settings(default_settings()), requires_capture=True
    )
    consent.decline()

    assert not consent.timer_allowed(required)
    with pytest.raises(UserError, match="consent accept"):
        consent.check_timer(required)
    consent.accept(required)
    consent.check_timer(required)


@pytest.mark.parametrize(
    "stored", ["not json", "[]", '{"accepted": "yes", "at": "x", "kinds": []}', "{}"]
)
def test_an_unreadable_record_means_asking_again(
    store: Store, consent: Consent, stored: str
) -> None:
    with store.write() as session:
        session.merge(Meta(key=META_KEY, value=stored))

    assert consent.state(Collection.from_settings(default_settings())) is (
        ConsentState.NEEDED
    )


def test_the_headless_agent_asks_the_same_record(store: Store) -> None:
    clock = ManualClock()
    settings = default_settings()
    assert not capture_consented(store, clock, settings)

    Consent(store, clock).accept(Collection.from_settings(settings))

    assert capture_consented(store, clock, settings)


def test_cli_show_accept_revoke(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["consent", "show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == "needed"
    assert shown["collects"] == ["activity", "apps", "titles", "urls"]

    assert main(["consent", "accept"]) == 0
    assert "activity, apps, titles, urls" in capsys.readouterr().out
    assert main(["consent", "show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == "given"
    assert shown["answered_at"] is not None

    assert main(["consent", "revoke"]) == 0
    assert "the timer still works" in capsys.readouterr().out
    assert main(["consent"]) == 0
    out = capsys.readouterr().out
    assert "Your consent: declined" in out
    assert "[x] Window titles of the application in front" in out
