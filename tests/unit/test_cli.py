"""The `parley` command's arguments for interpretation: interpreter invitations, channels, ducking,
and a summit created with them (on a real SQLite store in a temporary data directory)."""

from __future__ import annotations

import argparse
import json
import os
import socket
from pathlib import Path

import pytest

from parley.cli import _ducking, _invitation_spec, _language, main
from parley.protocol.base import ProtocolError
from parley.protocol.device_ops import Publish, parse_device_frame
from parley.server.data_dir import ServerFiles
from parley.store.database import Store
from parley.summit.course import Admission, AtEnd
from parley.summit.invitations import InvitationSigner
from parley.summit.model import MAX_LANGUAGES, Role
from parley.summit.organiser import Seat


@pytest.mark.parametrize(
    ("text", "seat"),
    [
        ("Delegation A:host", Seat("Delegation A", Role.HOST)),
        ("Delegation B:press", Seat("Delegation B", Role.PRESS)),
        ("Delegation A:interpreter:ru", Seat("Delegation A", Role.INTERPRETER, "ru")),
        ("Delegation A:interpreter:zh-Hans", Seat("Delegation A", Role.INTERPRETER, "zh-Hans")),
        ("UN:Geneva:delegate", Seat("UN:Geneva", Role.DELEGATE)),
        ("UN:Geneva:interpreter:en", Seat("UN:Geneva", Role.INTERPRETER, "en")),
        # No language: parsed, and refused by the organiser, which names the summit's languages.
        ("Delegation A:interpreter", Seat("Delegation A", Role.INTERPRETER)),
        # *N: a link that admits N devices at once.
        ("Delegation B:press*20", Seat("Delegation B", Role.PRESS, devices=20)),
        ("Delegation A:interpreter:ru*2", Seat("Delegation A", Role.INTERPRETER, "ru", 2)),
        ("Delegation A:host*1", Seat("Delegation A", Role.HOST)),
    ],
)
def test_an_invitation_is_delegation_and_role_or_an_interpreters_language(text: str, seat: Seat) -> None:
    assert _invitation_spec(text) == seat


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("host", "DELEGATION:ROLE"),
        (":host", "DELEGATION:ROLE"),
        (
            "Delegation A:emperor",
            "role must be one of: host, principal, delegate, observer, press, interpreter",
        ),
        ("interpreter:ru", "role must be one of"),
        ("Delegation A:ru", "role must be one of"),
        ("Delegation B:press*0", "admits N devices at once, 1 to 100"),
        ("Delegation B:press*101", "admits N devices at once, 1 to 100"),
        ("Delegation B:press*many", "admits N devices at once, 1 to 100"),
    ],
)
def test_a_malformed_invitation_says_what_an_invitation_is(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        _invitation_spec(text)


@pytest.mark.parametrize("text", ["en", "zh-Hans", "sr-Latn-RS"])
def test_a_language_tag_is_accepted_as_a_channel(text: str) -> None:
    assert _language(text) == text


@pytest.mark.parametrize("text", ["", "e", "English (UK)", "en_GB", "ru!"])
def test_anything_else_is_refused_as_a_channel_with_examples(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="'en', 'ru' or 'zh-Hans'"):
        _language(text)


@pytest.mark.parametrize(("text", "value"), [("0", 0.0), ("1", 1.0), ("0.35", 0.35), ("2e-1", 0.2)])
def test_ducking_is_a_level_from_0_to_1(text: str, value: float) -> None:
    assert _ducking(text) == value


@pytest.mark.parametrize("text", ["1.01", "-0.1", "nan", "inf"])
def test_a_ducking_level_outside_0_to_1_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="from 0 to 1"):
        _ducking(text)


def test_a_ducking_level_that_is_not_a_number_is_an_argparse_value_error() -> None:
    with pytest.raises(ValueError):
        _ducking("loud")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [n for n in os.environ if n.startswith("PARLEY_")]:
        monkeypatch.delenv(name)  # settings come from the arguments alone
    return tmp_path / "parley"


def test_summit_create_stores_channels_ducking_and_interpreter_invitations(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir.mkdir()
    code = main(
        [
            "--data-dir",
            str(data_dir),
            "summit",
            "create",
            "--title",
            "Water rights",
            "--delegation",
            "North:en",
            "--delegation",
            "South:ru",
            "--language",
            "en",
            "--language",
            "ru",
            "--ducking",
            "0.35",
            "--invite",
            "North:host",
            "--invite",
            "South:interpreter:en",
            "--admission",
            "open",
            "--at-end",
            "overrun",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "interpreter en" in printed
    links = [word for word in printed.split() if "/join/" in word]
    assert len(links) == 2
    store = Store(f"sqlite:///{data_dir / 'parley.db'}")
    try:
        (summit,) = store.list_summits()
        assert summit.languages == ("en", "ru") and summit.ducking == 0.35
        assert summit.admission is Admission.OPEN and summit.at_end is AtEnd.OVERRUN
        signer = InvitationSigner(ServerFiles(data_dir).invitation_secret())
        host, interpreter = (signer.verify(link.partition("#")[2]) for link in links)
        assert host.role is Role.HOST and host.language is None
        assert interpreter.role is Role.INTERPRETER and interpreter.language == "en"
        stored = store.get_invitation(interpreter.invitation_id)
        assert stored is not None and stored.language == "en"
    finally:
        store.close()


def test_summit_create_refuses_an_interpreter_into_a_language_the_summit_lacks(data_dir: Path) -> None:
    data_dir.mkdir()
    argv = ["--data-dir", str(data_dir), "summit", "create", "--title", "T", "--delegation", "North:en"]
    with pytest.raises(SystemExit, match=r"one of the summit's languages \(en\)"):
        main([*argv, "--language", "en", "--invite", "North:interpreter:fr"])


@pytest.mark.parametrize(
    "languages",
    [
        ["yue-Hant-HongKong"],  # a tag's shape, 17 characters: more than a publish may name
        ["en", "ru", "en"],  # one channel named twice
        [f"l{chr(ord('a') + i)}" for i in range(MAX_LANGUAGES + 1)],  # more channels than a summit has
    ],
)
def test_summit_create_holds_channels_to_the_rules_the_http_api_and_the_protocol_hold_them_to(
    data_dir: Path, languages: list[str]
) -> None:
    """Refused, or stored as channels an interpreter can publish into (each once, at most
    MAX_LANGUAGES), as `POST /api/summits` would have them."""
    data_dir.mkdir()
    argv = ["--data-dir", str(data_dir), "summit", "create", "--title", "T", "--delegation", "North:en"]
    for language in languages:
        argv += ["--language", language]
    try:
        main(argv)
    except SystemExit:
        return  # refused: fine
    store = Store(f"sqlite:///{data_dir / 'parley.db'}")
    try:
        (summit,) = store.list_summits()
    finally:
        store.close()
    assert len(set(summit.languages)) == len(summit.languages) <= MAX_LANGUAGES
    for channel in summit.languages:
        publish = {"op": "publish", "d": {"sdp": "v=0\r\n", "channel": channel}}
        try:
            assert isinstance(parse_device_frame(json.dumps(publish)), Publish)
        except ProtocolError as e:
            pytest.fail(f"the {channel!r} booth's interpreters could never publish: {e}")


def test_summit_create_stores_and_prints_how_many_devices_each_link_admits(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir.mkdir()
    argv = ["--data-dir", str(data_dir), "summit", "create", "--title", "T", "--delegation", "North:en"]
    assert main([*argv, "--invite", "North:host", "--invite", "North:press*20"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "/join/" in line]
    assert "1 device " in lines[0] and "20 devices" in lines[1]
    store = Store(f"sqlite:///{data_dir / 'parley.db'}")
    try:
        signer = InvitationSigner(ServerFiles(data_dir).invitation_secret())
        limits = []
        for line in lines:
            claims = signer.verify(line.split()[-1].partition("#")[2])
            invitation = store.get_invitation(claims.invitation_id)
            assert invitation is not None
            limits.append(invitation.max_devices)
        assert limits == [1, 20]
    finally:
        store.close()


def test_invitation_list_shows_each_links_id_and_revoke_without_a_running_server_revokes_in_the_store(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No server listens on the port the settings name (a free one): the store alone is changed,
    and the CLI says that no device could have been connected."""
    data_dir.mkdir()
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = data_dir / "parley.toml"
    config.write_text(f'[server]\nhost = "127.0.0.1"\nport = {port}\n')
    argv = ["--config", str(config), "--data-dir", str(data_dir)]
    create = ["summit", "create", "--title", "T", "--delegation", "North:en", "--delegation", "South:ru"]
    assert main([*argv, *create, "--invite", "North:host", "--invite", "South:delegate"]) == 0
    printed = capsys.readouterr().out
    summit_id = next(w for w in printed.split() if "/join/" in w).rpartition("/join/")[2].partition("#")[0]
    assert f"parley invitation list {summit_id}" in printed

    assert main([*argv, "invitation", "list", summit_id]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    assert [(row[1], row[2], row[-1]) for row in rows] == [
        ("North", "host", "valid"),
        ("South", "delegate", "valid"),
    ]
    delegate = rows[1][0]

    assert main([*argv, "invitation", "revoke", delegate]) == 0
    assert "in the store. No server answered" in capsys.readouterr().out
    assert main([*argv, "invitation", "list", summit_id]) == 0
    assert [line.split()[-1] for line in capsys.readouterr().out.splitlines()[1:]] == ["valid", "revoked"]
    with pytest.raises(SystemExit, match="no invitation 'nonesuch'"):
        main([*argv, "invitation", "revoke", "nonesuch"])
    with pytest.raises(SystemExit, match="no summit"):
        main([*argv, "invitation", "list", "nonesuch"])
