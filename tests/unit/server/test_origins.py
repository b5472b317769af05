"""Client origins: how they are written in the settings, which WebSocket origins pass, and the link
a delegation's copy of the browser client opens; the served bundle's manifest as a parser sees it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

import pytest

from parley.server.config import load_settings
from parley.server.origins import BrowserOrigins, client_link, origin_of
from parley.server.web_bundle import parse_manifest


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Client.Example.org/", "https://client.example.org"),
        ("https://client.example.org:443", "https://client.example.org"),
        ("http://127.0.0.1:8480", "http://127.0.0.1:8480"),
        ("http://[::1]:80", "http://[::1]"),
    ],
)
def test_an_origin_is_written_as_browsers_write_it(url: str, origin: str) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize(
    "url",
    ["client.example.org", "ftp://client.example.org", "https://client.example.org/app", "https://u@x.org"],
)
def test_anything_but_an_http_origin_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="origin"):
        origin_of(url)


def test_client_origins_come_from_the_file_or_a_comma_separated_variable(tmp_path: Path) -> None:
    path = tmp_path / "parley.toml"
    path.write_text('[server]\nclient_origins = ["https://a.example/"]\n')
    assert load_settings(path, environ={}).client_origins == ("https://a.example",)
    environ = {"PARLEY_CLIENT_ORIGINS": "https://a.example, http://b.example:8480"}
    assert load_settings(environ=environ).client_origins == ("https://a.example", "http://b.example:8480")
    assert load_settings(environ={"PARLEY_CLIENT_ORIGINS": ""}).client_origins == ()
    with pytest.raises(ValueError, match="not an origin"):
        load_settings(environ={"PARLEY_CLIENT_ORIGINS": "https://a.example/client"})


def test_a_websocket_may_come_from_the_servers_own_origin_a_client_origin_or_no_page() -> None:
    origins = BrowserOrigins.of("https://parley.example/", ["https://client.b.example"])
    assert origins.may_connect("https://parley.example")
    assert origins.may_connect("https://client.b.example")
    assert origins.may_connect(None)  # not a web page: the SDK
    for stranger in (
        "https://evil.example",
        "http://parley.example",
        "null",
        "https://client.b.example:8443",
    ):
        assert not origins.may_connect(stranger), stranger


def test_a_link_rewritten_for_a_delegations_client_names_the_server_in_its_fragment() -> None:
    link = client_link("https://parley.example/join/S1#abc.def", "https://client.b.example")
    page, _, fragment = link.partition("#")
    assert page == "https://client.b.example/join/S1"
    assert parse_qs(fragment) == {"server": ["https://parley.example"], "token": ["abc.def"]}
    with pytest.raises(ValueError, match="invite link"):
        client_link(link, "https://client.b.example")  # already rewritten


@pytest.mark.parametrize(
    "text",
    [
        "",
        "nothing like a manifest\n",
        f"{'0' * 64}  ../etc/passwd\n",
        f"{'0' * 64}  /abs\n",
        f"{'0' * 64} one-space\n",
    ],
)
def test_a_served_manifest_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="manifest"):
        parse_manifest(text)
