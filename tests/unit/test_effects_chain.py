"""The effect-chain grammar of `effects`: what it accepts, how it reads units, and its refusals."""

import pytest

from assistant.audio_models.effects import EFFECTS, parse_chain
from assistant.errors import EarshotError


@pytest.mark.parametrize(
    "chain, expected",
    [
        (
            "highpass 120, compressor -18 3, eq 3000 +2, reverb 0.4, limiter -1",
            ["highpass 120", "compressor -18 3", "eq 3000 2 1", "reverb 0.4 0.33", "limiter -1"],
        ),
        ("pitch shift by +3 semitones", ["pitch 3"]),
        ("time stretch 1.5x", ["stretch 1.5"]),
        ("lowpass 3 kHz then reverb", ["lowpass 3000", "reverb 0.5 0.33"]),
        ("delay 250 ms 0.5", ["delay 0.25 0.5"]),
        ("reverb 40%", ["reverb 0.4 0.33"]),
        ("gain -6dB; distortion", ["gain -6", "distortion 20"]),
        ("Low-Pass 500Hz -> echo", ["lowpass 500", "delay 0.25 0.35"]),
        ("compress and limit", ["compressor -20 4", "limiter -1"]),
        ("pitch_shift -2", ["pitch -2"]),
    ],
)
def test_accepted_chains(chain, expected):
    assert [s.describe() for s in parse_chain(chain)] == expected


@pytest.mark.parametrize(
    "chain, message",
    [
        ("", "empty"),
        ("flanger", "unknown effect"),
        ("reverb 3 kHz", "not in khz"),
        ("pitch", "needs semitones"),
        ("gain 100", "between -60 and 24"),
        ("eq 1000 3 1 2", "at most 3 value"),
        ("reverb big", "not a number"),
        ("stretch 10", "between 0.25 and 4"),
        (", ".join(["gain 1"] * 13), "at most 12"),
    ],
)
def test_refused_chains(chain, message):
    with pytest.raises(EarshotError, match=message) as info:
        parse_chain(chain)
    assert info.value.hint


def test_every_effect_has_a_usage_line():
    assert all(e.doc.startswith(e.name) for e in EFFECTS.values())
