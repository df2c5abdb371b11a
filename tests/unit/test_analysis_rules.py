"""Pure rules of the analysis tools: query reading (extract), clipping and key profiles."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.audio_models.extract import parse_time, read_query, time_range


@pytest.mark.parametrize(
    "text,seconds",
    [("1:02.5", 62.5), ("1:00:00", 3600), ("90 s", 90), ("2 min", 120), ("500 ms", 0.5), ("12", 12), ("0:07", 7)],
)
def test_parse_time(text, seconds):
    assert parse_time(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "query,span",
    [
        ("0:10 to 0:25", (10, 25)),
        ("from 12 s to 20 s", (12, 20)),
        ("between 1:00 and 1:30", (60, 90)),
        ("the first 30 seconds", (0, 30)),
        ("the last 5 s", (95, 100)),
        ("everything after 1:20", (80, 100)),
        ("up to 0:15", (0, 15)),
        ("the speech", None),
        ("the loudest bar", None),
    ],
)
def test_time_range(query, span):
    got = time_range(query, 100.0)
    assert (got is None) if span is None else got == pytest.approx(span)


@pytest.mark.parametrize(
    "query,kind,detail",
    [
        ("the speech", "class", "speech"),
        ("only the talking", "class", "speech"),
        ("the vocals", "stem", "vocals"),
        ("the song without the vocals", "stem", "accompaniment"),
        ("just the drums", "stem", "drums"),
        ("everything but the drums", "stem", "harmonic"),
        ("the music without drums", "stem", "harmonic"),
        ("the silences", "class", "silence"),
        ("the loudest bar", "extreme", ("loudest", "bar", None)),
        ("the quietest 3 seconds", "extreme", ("quietest", "second", 3.0)),
        ("the part where the dog barks", "sound", "the part where the dog barks"),
        ("where she says see you on friday", "says", "see you on friday"),
    ],
)
def test_read_query(query, kind, detail):
    assert read_query(query) == (kind, detail)


def test_clipping_finds_flat_tops_not_sine_peaks():
    from assistant.audio_models.detect import clipping_events

    rate = 44100
    t = np.arange(rate) / rate
    clean = 0.99 * np.sin(2 * np.pi * 30 * t)  # slow sine: many samples near its peak, none equal
    assert clipping_events(clean.astype(np.float32), rate) == []
    clipped = np.clip(1.6 * np.sin(2 * np.pi * 220 * t), -1, 1).astype(np.float32)
    clipped[: rate // 2] *= 0.5  # clean first half
    events = clipping_events(clipped, rate)
    assert len(events) == 1 and events[0].start_s == pytest.approx(0.5, abs=0.01)


def test_key_profiles_pick_the_rotated_key():
    from assistant.audio_models.tag import MAJOR_PROFILE, MINOR_PROFILE, key_profile_scores

    assert key_profile_scores(np.roll(MAJOR_PROFILE, 2))[0][1:] == ("D", "major")
    assert key_profile_scores(np.roll(MINOR_PROFILE, 9))[0][1:] == ("A", "minor")
