"""separate: stems measured against the sources the test mixed (SI-SDR, dB)."""

from __future__ import annotations

import numpy as np
import pytest
from music_signals import drum_track, equal_rms, harmonic_track, read_mono, room_mixture, trimmed

from tests.conftest import espeak, si_sdr

pytestmark = pytest.mark.integration

RATE = 22050


def test_hpss_stems_beat_the_mixture_by_6_db(session, run_tool):
    from tests.conftest import add_input

    harmonic, drums = equal_rms(harmonic_track(RATE, 8.0), drum_track(RATE, 8.0, tempo_bpm=120))
    mix = harmonic + drums
    add_input(session, mix, RATE, "groove.wav")
    result = run_tool("separate", file="groove.wav", stem="drums")
    assert [a.meta["stem"] for a in result.artifacts] == ["drums", "harmonic"]  # the asked stem first
    assert "signal processing" in result.summary and "HPSS" in result.summary
    est_drums = read_mono(result.artifacts[0].path, RATE)
    est_harm = read_mono(result.artifacts[1].path, RATE)
    gain_drums = si_sdr(drums, est_drums) - si_sdr(drums, mix)
    gain_harm = si_sdr(harmonic, est_harm) - si_sdr(harmonic, mix)
    print(f"HPSS SI-SDR improvement: drums {gain_drums:+.1f} dB, harmonic {gain_harm:+.1f} dB")
    assert gain_drums >= 6.0
    assert gain_harm >= 6.0
    # Soft masks that sum to one: the stems add back up to the input.
    assert np.max(np.abs(est_drums + est_harm - mix)) < 1e-3


def test_auxiva_separates_two_speakers_in_a_room_by_8_db(tmp_path, session, run_tool):
    from tests.conftest import add_input

    rate = 16000
    a = trimmed(
        read_mono(
            espeak(
                "The quick brown fox jumps over the lazy dog near the river bank today. A large crowd gathered to "
                "watch the parade move slowly down the main street. Please remember to close the windows before "
                "you leave the house tonight.",
                tmp_path / "a.wav",
                voice="en-us",
            ),
            rate,
        )
    )
    b = trimmed(
        read_mono(
            espeak(
                "Seven silver spoons were placed on the wooden table before dinner began. The train to the coast "
                "leaves every hour from the central station. Nobody expected the storm to arrive so early in the "
                "morning.",
                tmp_path / "b.wav",
                voice="en-gb+f3",
                speed_wpm=140,
            ),
            rate,
        )
    )
    n = min(len(a), len(b))
    a, b = equal_rms(a[:n], b[:n])
    mixture, images = room_mixture([a, b], rate, rt60_s=0.15)
    add_input(session, mixture, rate, "meeting.wav")
    result = run_tool("separate", file="meeting.wav", stem="speakers")
    assert len(result.artifacts) == 2 and "AuxIVA" in result.summary
    outs = [read_mono(art.path, rate) for art in result.artifacts]
    gains = []
    for k in range(2):
        base = si_sdr(images[k], mixture[:, 0])
        best = max(si_sdr(images[k], y) for y in outs)  # the order of the outputs is arbitrary
        gains.append(best - base)
    print(f"AuxIVA SI-SDR improvement: {gains[0]:+.1f} dB, {gains[1]:+.1f} dB")
    assert min(gains) >= 8.0


def test_vocals_from_repeating_accompaniment(tmp_path, session, run_tool):
    """REPET-SIM: a voice over a loop that repeats every 2 s comes out clearer than in the mix."""
    from music_signals import harmonic_tone, midi_to_hz

    from tests.conftest import add_input

    loop = np.concatenate([harmonic_tone(midi_to_hz(p), 0.5, RATE) for p in (48, 55, 52, 55)])
    accompaniment = np.tile(loop, 6)
    voice = trimmed(
        read_mono(
            espeak(
                "Somewhere over the hills the morning light is rising slowly again", tmp_path / "v.wav", speed_wpm=120
            ),
            RATE,
        )
    )
    vocal = np.zeros_like(accompaniment)
    vocal[RATE : RATE + len(voice)] = voice[: len(vocal) - RATE]
    vocal, accompaniment = equal_rms(vocal, accompaniment)
    mix = vocal + accompaniment
    add_input(session, mix, RATE, "song.wav")
    result = run_tool("separate", file="song.wav", stem="vocals")
    assert result.data["method"] == "REPET-SIM"
    est_vocal = read_mono(result.artifacts[0].path, RATE)
    est_acc = read_mono(result.artifacts[1].path, RATE)
    gain_v = si_sdr(vocal, est_vocal) - si_sdr(vocal, mix)
    gain_a = si_sdr(accompaniment, est_acc) - si_sdr(accompaniment, mix)
    print(f"REPET-SIM SI-SDR improvement: vocals {gain_v:+.1f} dB, accompaniment {gain_a:+.1f} dB")
    assert gain_v >= 3.0 and gain_a >= 3.0


def test_speakers_of_a_mono_file_is_refused(session, run_tool):
    from assistant.errors import EarshotError
    from tests.conftest import add_input

    add_input(session, np.zeros(RATE, np.float32) + 0.01, RATE, "mono.wav")
    with pytest.raises(EarshotError, match="two"):
        run_tool("separate", file="mono.wav", stem="speakers")


def test_vocals_of_a_stereo_mix_use_the_centre_channel(tmp_path, session, run_tool):
    """A centred voice over an accompaniment panned left and right: centre extraction + REPET-SIM."""
    from music_signals import harmonic_tone, midi_to_hz

    from tests.conftest import add_input

    left = np.tile(np.concatenate([harmonic_tone(midi_to_hz(p), 0.5, RATE) for p in (48, 55, 52, 55)]), 6)
    right = np.tile(np.concatenate([harmonic_tone(midi_to_hz(p), 1.0, RATE) for p in (64, 67)]), 6)
    voice = trimmed(
        read_mono(
            espeak(
                "Somewhere over the hills the morning light is rising slowly again", tmp_path / "v.wav", speed_wpm=120
            ),
            RATE,
        )
    )
    vocal = np.zeros_like(left)
    vocal[RATE : RATE + len(voice)] = voice[: len(vocal) - RATE]
    vocal, left, right = equal_rms(vocal, left, right)
    accompaniment = np.stack([left, 0.3 * left + right], axis=1)
    mix = accompaniment + vocal[:, None]
    add_input(session, mix, RATE, "stereo-song.wav")
    result = run_tool("separate", file="stereo-song.wav", stem="vocals")
    assert result.data["method"].startswith("centre-channel")
    est_vocal = read_mono(result.artifacts[0].path, RATE)
    gain = si_sdr(vocal, est_vocal) - si_sdr(vocal, mix.mean(axis=1))
    print(f"centre + REPET-SIM SI-SDR improvement: vocals {gain:+.1f} dB")
    assert gain >= 3.0
