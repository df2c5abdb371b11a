"""edit: each operation measured — loudness after normalise within 0.5 LU, gain in dB, trim length,
fades reach silence, resample rate, concatenate/mix lengths; inputs are never overwritten."""

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from tests.conftest import add_input

pytestmark = pytest.mark.integration
RATE = 48000


def tone(seconds=3.0, freq=440.0, amp=0.1, rate=RATE):
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def read(artifact):
    audio, rate = sf.read(artifact.path, dtype="float32")
    return audio, rate


@pytest.mark.parametrize("target", [-23.0, -16.0, -14.0])
def test_normalize_hits_the_lufs_target_within_half_an_lu(run_tool, session, target):
    x = tone() * np.linspace(0.2, 1.0, 3 * RATE, dtype=np.float32)  # not a flat level
    add_input(session, x, RATE, "quiet.wav")
    out = run_tool("edit", op="normalize", file="quiet.wav", target_lufs=target).artifacts[0]
    y, rate = read(out)
    measured = pyloudnorm.Meter(rate).integrated_loudness(y)
    assert abs(measured - target) <= 0.5, measured


def test_gain_changes_level_by_the_asked_db(run_tool, session):
    x = tone()
    add_input(session, x, RATE, "a.wav")
    y, _ = read(run_tool("edit", op="gain", file="a.wav", gain_db=-6.0).artifacts[0])
    change = 20 * np.log10(np.sqrt(np.mean(y**2)) / np.sqrt(np.mean(x**2)))
    assert abs(change - (-6.0)) < 0.01


def test_trim_keeps_exactly_the_asked_span(run_tool, session):
    x = tone(5.0)
    add_input(session, x, RATE, "long.wav")
    y, _ = read(run_tool("edit", op="trim", file="long.wav", start_s=1.0, end_s=3.5).artifacts[0])
    assert len(y) == int(2.5 * RATE)
    np.testing.assert_allclose(y, x[RATE : int(3.5 * RATE)], atol=1e-7)


def test_fades_start_and_end_in_silence(run_tool, session):
    add_input(session, tone(2.0, amp=0.5), RATE, "f.wav")
    y, _ = read(run_tool("edit", op="fade", file="f.wav", fade_in_s=0.5, fade_out_s=0.5).artifacts[0])
    assert abs(y[0]) < 1e-6 and abs(y[-1]) < 1e-3
    mid = np.max(np.abs(y[RATE - 1000 : RATE + 1000]))
    assert mid > 0.49  # untouched between the fades


def test_resample_changes_rate_and_keeps_duration_and_pitch(run_tool, session):
    add_input(session, tone(2.0, freq=1000.0), RATE, "r.wav")
    out = run_tool("edit", op="resample", file="r.wav", sample_rate_hz=16000).artifacts[0]
    y, rate = read(out)
    assert rate == 16000 and abs(len(y) / rate - 2.0) < 1e-3
    spectrum = np.abs(np.fft.rfft(y))
    peak_hz = np.argmax(spectrum) * rate / len(y)
    assert abs(peak_hz - 1000.0) < 2.0


def test_concatenate_and_mix(run_tool, session):
    a, b = tone(1.0, 440), tone(2.0, 660)
    add_input(session, a, RATE, "a.wav")
    add_input(session, b, RATE, "b.wav")
    joined, _ = read(run_tool("edit", op="concatenate", file="a.wav", others=["b.wav"]).artifacts[0])
    assert len(joined) == len(a) + len(b)
    np.testing.assert_allclose(joined[len(a) :], b, atol=1e-7)
    mixed, _ = read(run_tool("edit", op="mix", file="a.wav", others=["b.wav"]).artifacts[0])
    assert len(mixed) == len(b)
    np.testing.assert_allclose(mixed[: len(a)], a + b[: len(a)], atol=1e-6)


def test_convert_to_flac_and_inputs_are_never_overwritten(run_tool, session):
    x = tone()
    original = add_input(session, x, RATE, "keep.wav")
    before = original.path.read_bytes()
    out = run_tool("edit", op="convert", file="keep.wav", format="flac").artifacts[0]
    assert out.path.suffix == ".flac" and out.path != original.path
    y, _ = read(out)
    assert np.max(np.abs(y - x)) < 1e-4  # 24-bit FLAC
    run_tool("edit", op="gain", file="keep.wav", gain_db=3.0)
    assert original.path.read_bytes() == before
