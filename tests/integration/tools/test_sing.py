"""sing: the sung pitch of every note within 50 cents of the score (pYIN), and the words still
intelligible (Whisper WER)."""

from __future__ import annotations

import numpy as np
import pytest
from music_signals import midi_to_hz, read_mono

pytestmark = pytest.mark.integration

TWINKLE = "C4:1 C4:1 G4:1 G4:1 A4:1 A4:1 G4:2 F4:1 F4:1 E4:1 E4:1 D4:1 D4:1 C4:2"
TWINKLE_WORDS = "twin-kle twin-kle lit-tle star how I won-der what you are"


def note_errors_cents(audio: np.ndarray, rate: int, score: str, tempo_bpm: float) -> list[float]:
    """Median pYIN pitch over the middle half of each sung note, in cents from the score's note."""
    import librosa

    from assistant.audio_models.sing import parse_notes

    f0, voiced, _ = librosa.pyin(audio, fmin=70, fmax=900, sr=rate, frame_length=2048, hop_length=256)
    times = librosa.times_like(f0, sr=rate, hop_length=256)
    beat, t, errors = 60.0 / tempo_bpm, 0.0, []
    for note in parse_notes(score):
        d = note.beats * beat
        if note.midi is not None:
            sel = (times >= t + 0.25 * d) & (times <= t + 0.75 * d) & voiced
            assert sel.sum() >= 3, f"note at {t:.2f} s is not voiced"
            errors.append(float(1200 * np.log2(np.median(f0[sel]) / midi_to_hz(note.midi))))
        t += d
    return errors


@pytest.mark.parametrize(
    "voice,score,tempo",
    [
        ("female", TWINKLE, 100),
        ("male", TWINKLE.replace("4:", "3:"), 100),  # an octave lower
        (
            "female",
            "E4:0.5 F#4:0.5 G#4:1 B4:1.5 r:0.5 C#5:1 B4:1 G#4:2 E4:2 F#4:2 E4:2",
            132,
        ),  # E major, fast notes, a rest
    ],
)
def test_sung_pitch_within_50_cents(session, run_tool, voice, score, tempo):
    words = TWINKLE_WORDS if score.startswith(("C4", "C3")) else "oh the sun is ri-sing o-ver the hills"
    result = run_tool("sing", notes=score, lyrics=words, tempo_bpm=tempo, voice=voice)
    audio = read_mono(result.artifacts[0].path, 22050)
    errors = note_errors_cents(audio, 22050, score, tempo)
    print(f"{voice} @ {tempo} BPM: pitch errors (cents) {[round(e) for e in errors]}")
    assert max(abs(e) for e in errors) <= 50
    assert "signal processing" in result.summary


def test_sung_words_stay_intelligible(session, run_tool):
    from assistant.config import PathOptions
    from assistant.runtime.asr import transcribe_any
    from assistant.runtime.models import ModelStore
    from tests.conftest import require_models, word_error_rate

    require_models("whisper-tiny.en")
    result = run_tool("sing", notes=TWINKLE, lyrics=TWINKLE_WORDS, tempo_bpm=100)
    audio = read_mono(result.artifacts[0].path, 16000)
    text = transcribe_any(ModelStore(PathOptions()), "whisper-tiny.en", audio).text
    wer = word_error_rate("twinkle twinkle little star how I wonder what you are", text)
    print(f"Whisper heard: {text!r} (WER {wer:.0%})")
    assert wer <= 0.2


def test_more_syllables_than_notes_is_refused(run_tool):
    from assistant.errors import EarshotError

    with pytest.raises(EarshotError, match="syllables"):
        run_tool("sing", notes="C4:1 D4:1", lyrics="one two three")
