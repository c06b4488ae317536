"""The multi-node settings (workers, node URL and port, heartbeat, TTL, drain):
their defaults, their validation, and the node URL clients are sent to."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conf_server.cluster.node import node_url
from conf_server.errors import ConfigError
from conf_server.settings import Settings, load_settings

REDIS = "redis://127.0.0.1:6379/0"


def test_multinode_defaults():
    s = load_settings(environ={})
    assert s.redis_prefix == "conf:"
    assert (s.node_url, s.node_port, s.workers) == (None, None, None)
    assert (s.heartbeat_seconds, s.node_ttl_seconds, s.drain_seconds) == (1.0, 5.0, 30.0)
    assert s.node_name == socket.gethostname()


def test_multinode_settings_from_environment_and_flags_get_their_types():
    env = {
        "CONF_REDIS_URL": REDIS,
        "CONF_WORKERS": "3",
        "CONF_NODE_PORT": "9001",
        "CONF_HEARTBEAT_SECONDS": "0.5",
        "CONF_NODE_TTL_SECONDS": "2",
        "CONF_DRAIN_SECONDS": "0",
        "CONF_REDIS_PREFIX": "prod:",
    }
    s = load_settings(environ=env, overrides={"node_name": "n1", "node_url": "http://n1:9001"})
    assert (s.workers, s.node_port) == (3, 9001)
    assert (s.heartbeat_seconds, s.node_ttl_seconds, s.drain_seconds) == (0.5, 2.0, 0.0)
    assert (s.redis_prefix, s.node_name, s.node_url) == ("prod:", "n1", "http://n1:9001")


def test_settings_from_a_toml_file(tmp_path: Path):
    config = tmp_path / "conf.toml"
    config.write_text(
        f'redis_url = "{REDIS}"\nworkers = 4\nnode_port = 9100\ndrain_seconds = 12.5\n'
    )
    s = load_settings(config, environ={})
    assert (s.workers, s.node_port, s.drain_seconds) == (4, 9100, 12.5)


@pytest.mark.parametrize("workers", [2, 16])
def test_more_than_one_worker_needs_redis(workers):
    with pytest.raises(ConfigError) as info:
        load_settings(environ={}, overrides={"workers": workers})
    assert "worker" in info.value.message and "redis_url" in info.value.message
    assert load_settings(environ={}, overrides={"workers": workers, "redis_url": REDIS})


def test_one_worker_needs_no_redis_and_zero_workers_are_refused():
    assert load_settings(environ={}, overrides={"workers": 1}).workers == 1
    for bad in (0, -1):
        with pytest.raises(ConfigError, match="workers must be at least 1"):
            load_settings(environ={}, overrides={"workers": bad, "redis_url": REDIS})


def test_workers_must_be_a_number():
    with pytest.raises(ConfigError, match="workers"):
        load_settings(environ={"CONF_WORKERS": "many"})


@pytest.mark.parametrize(
    ("heartbeat", "ttl"),
    [(1.0, 1.99), (1.0, 1.0), (2.0, 3.0), (0.0, 5.0), (-1.0, 5.0)],
)
def test_node_ttl_must_be_at_least_twice_the_heartbeat(heartbeat, ttl):
    with pytest.raises(ConfigError, match="node_ttl_seconds must be at least twice"):
        load_settings(
            environ={}, overrides={"heartbeat_seconds": heartbeat, "node_ttl_seconds": ttl}
        )


@pytest.mark.parametrize(("heartbeat", "ttl"), [(1.0, 2.0), (0.5, 10.0), (3.0, 6.0)])
def test_node_ttl_of_twice_the_heartbeat_or_more_is_accepted(heartbeat, ttl):
    s = load_settings(
        environ={}, overrides={"heartbeat_seconds": heartbeat, "node_ttl_seconds": ttl}
    )
    assert (s.heartbeat_seconds, s.node_ttl_seconds) == (heartbeat, ttl)


def test_drain_seconds_must_not_be_negative():
    with pytest.raises(ConfigError, match="drain_seconds must not be negative"):
        load_settings(environ={}, overrides={"drain_seconds": -0.1})
    assert load_settings(environ={}, overrides={"drain_seconds": 0}).drain_seconds == 0.0


@pytest.mark.parametrize("port", [0, -1, 65536, 100000])
def test_node_port_out_of_range_is_refused(port):
    with pytest.raises(ConfigError, match=f"node_port must be between 1 and 65535, got {port}"):
        load_settings(environ={}, overrides={"node_port": port})


@pytest.mark.parametrize("port", [1, 9001, 65535])
def test_node_port_in_range_is_accepted(port):
    assert load_settings(environ={}, overrides={"node_port": port}).node_port == port


# -- node_url() ----------------------------------------------------------------------------


def test_node_url_is_the_public_url_when_there_is_no_node_port():
    s = Settings(public_url="https://meet.example.com/", port=8080)
    assert node_url(s) == "https://meet.example.com"


def test_node_url_is_host_and_port_without_a_public_url():
    assert node_url(Settings(host="10.0.0.5", port=8080)) == "http://10.0.0.5:8080"


def test_node_url_uses_the_node_port_even_with_a_public_url():
    # The public URL reaches any worker; a node's own clients need its own port.
    s = Settings(host="10.0.0.5", port=8080, node_port=9001, public_url="https://meet.example.com")
    assert node_url(s) == "http://10.0.0.5:9001"
    assert node_url(Settings(host="10.0.0.5", node_port=9002)) == "http://10.0.0.5:9002"


def test_the_node_url_setting_wins():
    s = Settings(
        host="10.0.0.5",
        node_port=9001,
        public_url="https://meet.example.com",
        node_url="https://node-1.meet.example.com/",
    )
    assert node_url(s) == "https://node-1.meet.example.com"


def test_node_url_of_a_wildcard_or_ipv6_host():
    assert node_url(Settings(host="0.0.0.0", port=8080)) == f"http://{socket.gethostname()}:8080"
    assert node_url(Settings(host="::", port=8080)) == f"http://{socket.gethostname()}:8080"
    assert node_url(Settings(host="::1", node_port=9001)) == "http://[::1]:9001"


# -- the command line ----------------------------------------------------------------------


def test_cli_refuses_workers_without_redis_in_one_line_without_a_traceback():
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONF_")}
    result = subprocess.run(
        [sys.executable, "-m", "conf_server", "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("conf-server: ")
    assert "worker" in lines[0] and "redis_url" in lines[0]
    assert result.stdout == ""


@pytest.mark.parametrize(
    "env",
    [
        {"CONF_HEARTBEAT_SECONDS": "nan"},
        {"CONF_NODE_TTL_SECONDS": "nan"},
        {"CONF_NODE_TTL_SECONDS": "inf"},
        {"CONF_HEARTBEAT_SECONDS": "inf", "CONF_NODE_TTL_SECONDS": "inf"},
        {"CONF_DRAIN_SECONDS": "nan"},
    ],
)
def test_non_finite_durations_are_refused(env):
    with pytest.raises(ConfigError):
        load_settings(environ=env)
