"""Server settings: defaults, then the TOML file, then PARLEY_* variables, then explicit overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from parley.server.config import Settings, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "parley.toml"
    path.write_text(text)
    return path


FILE = """
[server]
host = "0.0.0.0"
port = 9000
public_url = "https://parley.example.org/"
data_dir = "/srv/parley"
database_url = "postgresql+psycopg://parley@db/parley"

[media]
janus_ws_port = 9188
rtp_port_range = [30000, 30100]
ice_enforce_list = "eth0"
nat_1_1_mapping = "203.0.113.7"
stun_server = "stun.example.org:3478"
turn_servers = ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"]
ipv6 = true
"""


def test_defaults_without_file_or_environment() -> None:
    settings = load_settings(environ={})
    assert settings == Settings()
    assert settings.host == "127.0.0.1" and settings.port == 8470
    assert settings.public_url == "" and settings.database_url == ""
    assert settings.data_dir == Path("~/.local/share/parley").expanduser()
    assert settings.janus_ws_port == 8188
    assert settings.rtp_port_range == (20000, 20999)
    assert settings.ice_enforce_list == settings.nat_1_1_mapping == settings.stun_server == ""
    assert settings.turn_servers == ()
    assert settings.ipv6 is False


def test_the_file_sets_server_and_media_values(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, FILE), environ={})
    assert settings == Settings(
        host="0.0.0.0",
        port=9000,
        public_url="https://parley.example.org/",
        data_dir=Path("/srv/parley"),
        database_url="postgresql+psycopg://parley@db/parley",
        janus_ws_port=9188,
        rtp_port_range=(30000, 30100),
        ice_enforce_list="eth0",
        nat_1_1_mapping="203.0.113.7",
        stun_server="stun.example.org:3478",
        turn_servers=("turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"),
        ipv6=True,
    )


def test_a_file_may_set_only_some_values_and_other_tables_are_ignored(tmp_path: Path) -> None:
    settings = load_settings(
        write(tmp_path, '[server]\nport = 8471\n[logging]\nlevel = "debug"\n'), environ={}
    )
    assert settings == Settings(port=8471)


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, ""), environ={}) == Settings()


def test_a_home_relative_data_dir_in_the_file_is_expanded(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, '[server]\ndata_dir = "~/parley"\n'), environ={})
    assert settings.data_dir == Path("~/parley").expanduser() and "~" not in str(settings.data_dir)


@pytest.mark.parametrize("section", ["server", "media"])
def test_an_unknown_key_in_the_file_is_refused_by_name(tmp_path: Path, section: str) -> None:
    path = write(tmp_path, f"[{section}]\nport = 1\nprot = 2\nhots = 3\n")
    with pytest.raises(ValueError, match=rf"unknown setting\(s\) in \[{section}\]: hots, prot") as caught:
        load_settings(path, environ={})
    assert str(path) in str(caught.value)


def test_environment_variables_override_the_file(tmp_path: Path) -> None:
    environ = {
        "PARLEY_HOST": "10.0.0.2",
        "PARLEY_PORT": "9001",
        "PARLEY_PUBLIC_URL": "https://env.example.org",
        "PARLEY_DATA_DIR": str(tmp_path / "env-data"),
        "PARLEY_JANUS_WS_PORT": "9189",
        "PARLEY_ICE_ENFORCE_LIST": "10.0.0.",
        "PARLEY_NAT_1_1_MAPPING": "198.51.100.1",
        "PARLEY_IPV6": "false",
    }
    settings = load_settings(write(tmp_path, FILE), environ=environ)
    assert settings.host == "10.0.0.2"
    assert settings.port == 9001
    assert settings.public_url == "https://env.example.org"
    assert settings.data_dir == tmp_path / "env-data"
    assert settings.janus_ws_port == 9189
    assert settings.ice_enforce_list == "10.0.0."
    assert settings.nat_1_1_mapping == "198.51.100.1"
    assert settings.ipv6 is False
    # What the environment leaves alone still comes from the file.
    assert settings.rtp_port_range == (30000, 30100)
    assert settings.stun_server == "stun.example.org:3478"


def test_variables_without_the_parley_prefix_or_for_no_setting_are_ignored() -> None:
    assert load_settings(environ={"PORT": "1", "PARLEY_COLOUR": "blue", "parley_port": "2"}) == Settings()


def test_explicit_overrides_beat_the_environment_and_none_means_not_given(tmp_path: Path) -> None:
    environ = {"PARLEY_PORT": "9001", "PARLEY_DATA_DIR": "/env"}
    settings = load_settings(write(tmp_path, FILE), environ=environ, port=9002, data_dir=tmp_path, host=None)
    assert settings.port == 9002
    assert settings.data_dir == tmp_path
    assert settings.host == "0.0.0.0"


def test_the_rtp_port_range_is_read_from_a_dash_separated_string() -> None:
    settings = load_settings(environ={"PARLEY_RTP_PORT_RANGE": "20000-20100"})
    assert settings.rtp_port_range == (20000, 20100)


def test_turn_servers_are_read_from_a_comma_separated_string() -> None:
    environ = {"PARLEY_TURN_SERVERS": "turn:a.example.org:3478,turns:b.example.org:5349?transport=tcp"}
    settings = load_settings(environ=environ)
    assert settings.turn_servers == ("turn:a.example.org:3478", "turns:b.example.org:5349?transport=tcp")


def test_turn_servers_from_a_string_ignore_spaces_and_empty_entries() -> None:
    # An empty variable must mean "no TURN server", not one with an empty URL that browsers reject.
    assert load_settings(environ={"PARLEY_TURN_SERVERS": ""}).turn_servers == ()
    environ = {"PARLEY_TURN_SERVERS": " turn:a:3478 , ,turn:b:3478, "}
    assert load_settings(environ=environ).turn_servers == ("turn:a:3478", "turn:b:3478")


def test_the_turn_secret_comes_from_the_environment_and_never_shows_in_the_settings_repr() -> None:
    environ = {"PARLEY_TURN_SECRET": "north-wind", "PARLEY_TURN_TTL": "3600"}
    settings = load_settings(environ=environ)
    assert (settings.turn_secret, settings.turn_ttl) == ("north-wind", 3600)
    assert "north-wind" not in repr(settings)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), ("TRUE", True), ("yes", True), ("0", False), ("false", False), ("", False)],
)
def test_ipv6_is_read_from_a_string(value: str, expected: bool) -> None:
    assert load_settings(environ={"PARLEY_IPV6": value}).ipv6 is expected


def test_a_port_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(ValueError):
        load_settings(environ={"PARLEY_PORT": "http"})


def test_the_database_defaults_to_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).database == f"sqlite:///{tmp_path}/parley.db"
    assert (
        load_settings(environ={"PARLEY_DATA_DIR": str(tmp_path)}).database
        == f"sqlite:///{tmp_path}/parley.db"
    )


def test_a_database_url_replaces_the_sqlite_default(tmp_path: Path) -> None:
    url = "postgresql+psycopg://parley@db/parley"
    assert Settings(data_dir=tmp_path, database_url=url).database == url


def test_the_base_url_comes_from_host_and_port_without_a_public_url() -> None:
    assert Settings().base_url == "http://127.0.0.1:8470"
    assert load_settings(environ={"PARLEY_HOST": "10.0.0.2", "PARLEY_PORT": "9000"}).base_url == (
        "http://10.0.0.2:9000"
    )


def test_the_base_url_is_the_public_url_without_a_trailing_slash() -> None:
    assert Settings(public_url="https://parley.example.org/").base_url == "https://parley.example.org"
    assert (
        Settings(public_url="https://parley.example.org/calls").base_url == "https://parley.example.org/calls"
    )


def test_an_empty_web_dir_means_the_default_not_the_current_directory() -> None:
    assert load_settings(None, environ={"PARLEY_WEB_DIR": ""}).web_dir is None
    assert load_settings(None, environ={"PARLEY_WEB_DIR": "/srv/parley-web"}).web_dir == Path(
        "/srv/parley-web"
    )
