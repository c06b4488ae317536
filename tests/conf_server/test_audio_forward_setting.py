"""The ``audio_forward_speakers`` setting reaches the SFU (issue 17)."""

from __future__ import annotations

import pytest

from conf_server.errors import ConfigError
from conf_server.meeting.media_negotiation import sfu_settings
from conf_server.settings import load_settings


def test_three_speakers_by_default_and_the_environment_changes_it():
    assert sfu_settings(load_settings(environ={})).audio_forward_speakers == 3
    settings = load_settings(environ={"CONF_AUDIO_FORWARD_SPEAKERS": "0"})
    assert sfu_settings(settings).audio_forward_speakers == 0


def test_a_negative_number_of_speakers_is_refused():
    with pytest.raises(ConfigError, match="audio_forward_speakers"):
        load_settings(environ={"CONF_AUDIO_FORWARD_SPEAKERS": "-1"})
