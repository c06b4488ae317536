"""Settings come from defaults < TOML < environment < flags; bad values are clear errors."""

from __future__ import annotations

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
    env = {"CONF_PORT": "9100", "CONF_ICE_SERVERS": "stun:b:3478,turn:c:3478"}
    s = load_settings(config, environ=env, overrides={"port": 9200})
    assert s.host == "0.0.0.0" and s.port == 9200
    assert s.ice_servers == ("stun:b:3478", "turn:c:3478")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CONF_PORT": "eighty"}, "invalid value for 'port'"),
        ({"CONF_PORT": "70000"}, "port must be between"),
        ({"CONF_ICE_SERVERS": "http://x"}, "must start with stun:"),
        ({"CONF_INVITE_SECRET": "short"}, "at least 32 characters"),
        ({"CONF_EMPTY_MEETING_TTL_SECONDS": "-1"}, "must not be negative"),
    ],
)
def test_bad_values_are_config_errors(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=env)


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
    for flag in ("--host", "--port", "--data-dir", "--redis-url", "--public-url", "--config"):
        assert flag in result.stdout


def test_cli_refuses_an_ice_address_this_host_does_not_have():
    result = subprocess.run(
        [sys.executable, "-m", "conf_server", "--ice-address", "192.0.2.77"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "192.0.2.77" in result.stderr and "Traceback" not in result.stderr
