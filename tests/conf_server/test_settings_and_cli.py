"""Settings come from defaults < TOML < environment < flags; bad values are clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conf_server.errors import ConfigError
from conf_server.settings import Settings, load_settings


def test_defaults_match_the_contract():
    s = load_settings(environ={})
    assert (s.host, s.port, s.data_dir, s.redis_url) == ("127.0.0.1", 8080, Path("./data"), None)
    assert s.ice_servers == ()


def test_precedence_toml_then_environment_then_flags(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('port = 9000\nhost = "0.0.0.0"\nice_servers = ["stun:a:3478"]\n')
    env = {
        "CONF_PORT": "9100",
        "CONF_ICE_SERVERS": "stun:b:3478,turn:c:3478",
        "CONF_TURN_SECRET": "a-secret-shared-with-coturn",
    }
    s = load_settings(config, environ=env, overrides={"port": 9200})
    assert s.host == "0.0.0.0" and s.port == 9200
    assert s.ice_servers == ("stun:b:3478", "turn:c:3478")
    assert s.turn_secret == "a-secret-shared-with-coturn"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CONF_PORT": "eighty"}, "invalid value for 'port'"),
        ({"CONF_PORT": "70000"}, "port must be between"),
        ({"CONF_ICE_SERVERS": "http://x"}, "must look like stun:HOST"),
        ({"CONF_ICE_SERVERS": "turn:t.example:99999"}, "port must be between"),
        # Browsers refuse a TURN server without credentials (issue 16).
        ({"CONF_ICE_SERVERS": "turn:t.example:3478"}, "needs credentials"),
        ({"CONF_TURN_USERNAME": "u"}, "go together"),
        ({"CONF_TURN_SECRET": "short"}, "at least 16 characters"),
        ({"CONF_TURN_CREDENTIAL_SECONDS": "10"}, "between 60 and 604800"),
        ({"CONF_ANNOUNCED_ADDRESS": "media.example.com"}, "must be an IP address"),
        ({"CONF_RTC_PORTS": "40000"}, "LOW-HIGH"),
        ({"CONF_RTC_PORTS": "40100-40000"}, "LOW <= HIGH"),
        ({"CONF_RTC_PORTS": "80-90"}, "1024 <= LOW"),
        ({"CONF_INVITE_SECRET": "short"}, "at least 32 characters"),
        ({"CONF_EMPTY_MEETING_TTL_SECONDS": "-1"}, "must not be negative"),
        ({"CONF_SPARE_SLOTS": "-1"}, "spare_slots must be between 0 and 4"),
        ({"CONF_SPARE_SLOTS": "5"}, "spare_slots must be between 0 and 4"),
    ],
)
def test_bad_values_are_config_errors(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=env)


def test_connectivity_settings_from_toml_environment_and_flags(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(
        'ice_servers = ["turn:turn.example:3478?transport=tcp", "turns:turn.example:443"]\n'
        'announced_address = "203.0.113.7"\nrtc_ports = "40000-40100"\n'
    )
    s = load_settings(config, environ={"CONF_TURN_SECRET": "x" * 20})
    assert (s.announced_address, s.rtc_ports, s.turn_secret) == (
        "203.0.113.7",
        "40000-40100",
        "x" * 20,
    )
    s = load_settings(
        environ={"CONF_ICE_SERVERS": "turn:t:3478", "CONF_TURN_USERNAME": "u"},
        overrides={"turn_password": "p", "rtc_ports": "50000-50010"},
    )
    assert (s.turn_username, s.turn_password, s.rtc_ports) == ("u", "p", "50000-50010")


def test_unknown_key_in_config_file_is_an_error(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("prot = 1\n")
    with pytest.raises(ConfigError, match="unknown setting 'prot'"):
        load_settings(config, environ={})


def test_sample_config_file_loads():
    sample = Path(__file__).resolve().parents[2] / "conf-server.sample.toml"
    assert isinstance(load_settings(sample, environ={}), Settings)


def test_cli_reports_bad_configuration_without_a_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "conf_server", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "port must be between" in result.stderr and "Traceback" not in result.stderr


def test_cli_help_lists_contract_flags():
    result = subprocess.run(
        [sys.executable, "-m", "conf_server", "--help"], capture_output=True, text=True, timeout=30
    )
    for flag in (
        "--host",
        "--port",
        "--data-dir",
        "--redis-url",
        "--public-url",
        "--config",
        "--announced-address",
        "--rtc-ports",
    ):
        assert flag in result.stdout


def test_cli_refuses_a_turn_server_without_credentials():
    result = subprocess.run(
        [sys.executable, "-m", "conf_server", "--ice-server", "turn:turn.example:3478"],
        capture_output=True,
        text=True,
        timeout=30,
        env={k: v for k, v in os.environ.items() if not k.startswith("CONF_")},
    )
    assert result.returncode == 2
    assert "turn_secret" in result.stderr and "Traceback" not in result.stderr


def test_cli_refuses_an_ice_address_this_host_does_not_have():
    result = subprocess.run(
        [sys.executable, "-m", "conf_server", "--ice-address", "192.0.2.77"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "192.0.2.77" in result.stderr and "Traceback" not in result.stderr
