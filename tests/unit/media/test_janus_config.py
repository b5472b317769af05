"""The generated Janus config folder: only what Parley uses, the secret kept private."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from parley.media.janus_config import JanusConfig, TurnServer, render_jcfg


def config(tmp_path: Path, **overrides: object) -> JanusConfig:
    lib = tmp_path / "lib"
    for folder, names in {
        "plugins": [
            "libjanus_videoroom.so",
            "libjanus_echotest.so",
            "libjanus_newthing.so",
            "libjanus_sip.so.1",
        ],
        "transports": ["libjanus_websockets.so", "libjanus_http.so"],
        "loggers": ["libjanus_jsonlog.so"],
    }.items():
        (lib / folder).mkdir(parents=True)
        for name in names:
            (lib / folder / name).touch()
    settings: dict[str, object] = {"ws_port": 8188, "api_secret": 'se"cret\\', "lib_dir": lib}
    return JanusConfig(**(settings | overrides))  # type: ignore[arg-type]


def test_only_videoroom_and_websockets_stay_enabled(tmp_path: Path) -> None:
    text = (config(tmp_path).write(tmp_path / "conf")).read_text()

    disabled_plugins = next(line for line in text.splitlines() if "disable" in line and "videocall" in line)
    assert "libjanus_videoroom.so" not in disabled_plugins
    # What the folder holds beyond Debian's list is disabled too; only files Janus would load (.so) count.
    assert "libjanus_newthing.so" in disabled_plugins and "libjanus_echotest.so" in disabled_plugins
    assert ".so.1" not in disabled_plugins
    assert 'disable = "libjanus_http.so,libjanus_mqtt.so,libjanus_nanomsg.so,' in text
    assert "libjanus_websockets.so" not in text
    assert "broadcast = false" in text


def test_the_api_listens_on_loopback_without_admin(tmp_path: Path) -> None:
    directory = tmp_path / "conf"
    config(tmp_path, ws_port=18188).write(directory)
    websockets = (directory / "janus.transport.websockets.jcfg").read_text()
    assert 'ws_ip = "127.0.0.1"' in websockets and "ws_port = 18188" in websockets
    assert "admin_ws = false" in websockets and "wss = false" in websockets
    assert "room-" not in (directory / "janus.plugin.videoroom.jcfg").read_text()


def test_the_secret_is_escaped_private_and_not_in_repr(tmp_path: Path) -> None:
    turn = TurnServer("turn.example.org", username="parley", password="turn-pass")
    janus_config = config(tmp_path, turn_server=turn)
    path = janus_config.write(tmp_path / "conf")

    assert 'api_secret = "se\\"cret\\\\"' in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert 'se"cret' not in repr(janus_config) and "turn-pass" not in repr(janus_config)


def test_network_settings_are_written_as_given(tmp_path: Path) -> None:
    janus_config = config(
        tmp_path,
        rtp_port_range=(40000, 40199),
        event_loops=2,
        ice_enforce_list="127.",
        ignore_mdns=True,
        nat_1_1_mapping="203.0.113.7",
        stun_server=("stun.example.org", 3478),
    )
    text = janus_config.write(tmp_path / "conf").read_text()
    for line in (
        'rtp_port_range = "40000-40199"',
        "ipv6 = false",
        "min_nack_queue = 1000",
        "slowlink_threshold = 5",
        "event_loops = 2",
        'ice_enforce_list = "127."',
        "ignore_mdns = true",
        'nat_1_1_mapping = "203.0.113.7"',
        'stun_server = "stun.example.org"',
        "stun_port = 3478",
    ):
        assert f"\t{line}\n" in text


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({"api_secret": ""}, "api_secret must not be empty"),
        ({"rtp_port_range": (40000, 39999)}, "low <= high"),
        ({"event_loops": 0}, "at least 1"),
        ({"ws_port": 70000}, "TCP port"),
    ],
)
def test_settings_that_cannot_work_are_refused(
    tmp_path: Path, overrides: dict[str, object], rule: str
) -> None:
    with pytest.raises(ValueError, match=rule):
        config(tmp_path, **overrides)


def test_render_jcfg_refuses_control_characters() -> None:
    assert (
        render_jcfg({"general": {"a": 1, "b": True, "c": "x"}})
        == 'general: {\n\ta = 1\n\tb = true\n\tc = "x"\n}\n'
    )
    with pytest.raises(ValueError, match="control characters"):
        render_jcfg({"general": {"secret": "line\nbreak"}})
