"""convert_voice: f0 moves by the requested interval (cents, frame by frame with pYIN, an estimator
independent of the WORLD analysis the tool uses) and the words survive (faster-whisper WER: tiny.en on
hibari's voice, whisper-base with beam search on espeak-ng's, see test_espeak_voice_pitch_and_words)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from synth_signals import f0_track

from assistant.audio.files import resample
from assistant.audio_models.convert_voice import convert
from assistant.config import PathOptions
from assistant.runtime.asr import get_recognizer
from assistant.runtime.models import ModelStore
from tests.conftest import REAL_MODELS_DIR, add_input, espeak, require_models, word_error_rate

pytestmark = pytest.mark.integration

SENTENCE = "The quick brown fox jumps over the lazy dog near the old stone wall."
ESPEAK_SENTENCES = (
    "The weather will be sunny and warm for the rest of the week.",
    "Please send the final mix to the label before Friday afternoon.",
    "Our band will play three new songs at the concert tonight.",
    "The drummer tuned the snare before the second take.",
    "Turn the vocals down a little and add some reverb.",
    "We recorded the piano in a small room with two microphones.",
    "She sang the chorus twice and kept the better version.",
    "The engineer saved the session and went home early.",
    "Can you export the song as a high quality file for the radio?",
    "The bass guitar sounds muddy in the low end of the mix.",
    "Everyone in the studio agreed that the last song was the best.",
    "Move the guitar solo to the start of the bridge.",
)
ESPEAK_LISTENER = "whisper-base"
PITCH_SENTENCES = 3  # f0 is checked on the first three (a per-frame median: robust); WER pools all twelve


@pytest.fixture(scope="module")
def models():
    require_models("hibari-heart", "whisper-tiny.en")
    return ModelStore(PathOptions(models_dir=REAL_MODELS_DIR))


@pytest.fixture(scope="module")
def hibari_speech(models):
    from assistant.runtime.tts import get_tts

    tts = get_tts(models)
    x, rate = tts.synthesize(SENTENCE).astype(np.float64), tts.sample_rate_hz
    return x, rate, f0_track(x, rate)  # the source's pYIN track, measured once for every test


@pytest.fixture(scope="module")
def espeak_sentences(tmp_path_factory, models):
    """(text, samples, rate, pYIN f0 track or None, whisper-base transcript) of each sentence, measured once."""
    require_models(ESPEAK_LISTENER)
    folder = tmp_path_factory.mktemp("espeak")
    out = []
    for i, text in enumerate(ESPEAK_SENTENCES):
        x, rate = sf.read(espeak(text, folder / f"s{i}.wav", speed_wpm=140))
        x = x.astype(np.float64)
        f0 = f0_track(x, rate) if i < PITCH_SENTENCES else None
        out.append((text, x, rate, f0, transcript(models, x, rate, ESPEAK_LISTENER, beam_size=5)))
    return out


def transcript(models, x, rate, model: str = "whisper-tiny.en", beam_size: int = 1) -> str:
    return (
        get_recognizer(models, model).transcribe(resample(x.astype(np.float32), rate, 16_000), beam_size=beam_size).text
    )


def framewise_cents(a, y, rate) -> float:
    """Median over frames voiced in both of the f0 change in cents from the source's f0 track `a` to the
    converted `y` (timing is preserved, so frames align)."""
    b = f0_track(y, rate)
    both = (a > 0) & (b > 0)
    assert both.sum() > 50
    return float(np.median(1200 * np.log2(b[both] / a[both])))


@pytest.mark.parametrize(
    "style, semitones, expected_cents",
    [("deeper", None, -400), ("higher", None, 400), ("child", None, 800), ("deeper", 7, -700), ("higher", 2.5, 250)],
)
def test_pitch_moves_by_the_interval_and_words_survive(models, hibari_speech, style, semitones, expected_cents):
    x, rate, f0_x = hibari_speech
    y, _ = convert(x, rate, style, semitones)
    moved = framewise_cents(f0_x, y, rate)
    wer = word_error_rate(SENTENCE, transcript(models, y, rate))
    print(
        f"MEASURED convert_voice {style} {semitones}: f0 moved {moved:.0f} cents (asked {expected_cents}), "
        f"WER {wer:.2f}"
    )
    assert moved == pytest.approx(expected_cents, abs=30)
    assert wer <= 0.10


@pytest.mark.parametrize("style, expected_cents", [("deeper", -400), ("higher", 400)])
def test_espeak_voice_pitch_and_words(models, espeak_sentences, style, expected_cents):
    """espeak-ng's buzzy formant-synthesiser voice, which WORLD resynthesises less cleanly than hibari's:
    WER is pooled over twelve sentences (~120 words) and heard by whisper-base with beam search, against
    the text. Measured on an Intel Xeon (2026-12-05), over the undithered sentences and 8 copies dithered
    at -100 dBFS, int8 and float32, CTranslate2's MKL/AVX-512 and oneDNN/AVX2 paths:
        unconverted 0.000-0.053, deeper 0.023-0.038, higher 0.107-0.137;
    an articulation-destroying conversion (the envelope smoothed over 100 ms) measures 0.80.
    The bar 0.20 is the highest "higher" plus ~8 words.

    What this replaced: three sentences heard by tiny.en, greedy, with a bar of 0.10. That measure is at the
    edge for "higher" on every machine, not a CPU effect: on the same CPU and kernels the three sentences
    measured 0.057-0.200 for 3.5-4.5 semitones, and 0.086-0.286 (3 of 8 under 0.10) for the same 4
    semitones with inaudible -100 dBFS dither; float32 Whisper and the AVX2 path measured the same 0.17 as
    int8 here. Plain WORLD resynthesis (0 semitones) already takes tiny.en from 0.08 to 0.15 over the 12."""
    refs, before, after = [], [], []
    for text, x, rate, f0_x, heard in espeak_sentences:
        y, _ = convert(x, rate, style)
        if f0_x is not None:
            assert framewise_cents(f0_x, y, rate) == pytest.approx(expected_cents, abs=30)
        refs.append(text)
        before.append(heard)
        after.append(transcript(models, y, rate, ESPEAK_LISTENER, beam_size=5))
    wer_before, wer_after = (
        word_error_rate(" ".join(refs), " ".join(before)),
        word_error_rate(" ".join(refs), " ".join(after)),
    )
    print(
        f"MEASURED espeak {style}: WER vs text {wer_before:.3f} unconverted, {wer_after:.3f} converted "
        f"({ESPEAK_LISTENER}, beam 5, {len(refs)} sentences)"
    )
    assert wer_before <= 0.10  # the listener hears the unconverted voice: the bar measures the conversion
    assert wer_after <= 0.20


def test_robot_is_monotone(models, hibari_speech):
    x, rate, f_in = hibari_speech
    y, facts = convert(x, rate, "robot")
    f_out = f0_track(y, rate)
    spread = lambda f: float(np.std(1200 * np.log2(f[f > 0] / np.median(f[f > 0]))))
    print(f"MEASURED robot: f0 spread {spread(f_in):.0f} -> {spread(f_out):.0f} cents")
    assert spread(f_in) > 100 and spread(f_out) < 25
    assert word_error_rate(SENTENCE, transcript(models, y, rate)) <= 0.10


def test_whisper_has_no_pitch_but_the_same_words(models, hibari_speech):
    x, rate, f_in = hibari_speech
    y, _ = convert(x, rate, "whisper")
    voiced_in, voiced_out = np.mean(f_in > 0), np.mean(f0_track(y, rate) > 0)
    wer = word_error_rate(SENTENCE, transcript(models, y, rate))
    print(f"MEASURED whisper: voiced frames {voiced_in:.2f} -> {voiced_out:.2f}, WER {wer:.2f}")
    assert voiced_in > 0.4 and voiced_out < 0.1
    assert wer <= 0.10


def test_match_takes_the_reference_pitch_range(models, hibari_speech, espeak_sentences):
    x, rate, f_in = hibari_speech
    _, ref, ref_rate, f_ref, _ = espeak_sentences[0]
    y, _ = convert(x, rate, "match", reference=ref, reference_rate=ref_rate)
    f_out = f0_track(y, rate)
    med = lambda f: float(np.median(f[f > 0]))
    off = 1200 * np.log2(med(f_out) / med(f_ref))
    print(
        f"MEASURED match: source {med(f_in):.0f} Hz, reference {med(f_ref):.0f} Hz, result {med(f_out):.0f} Hz "
        f"({off:+.0f} cents off)"
    )
    assert abs(1200 * np.log2(med(f_in) / med(f_ref))) > 300  # the voices really differ
    assert abs(off) <= 50
    assert word_error_rate(SENTENCE, transcript(models, y, rate)) <= 0.10


def test_tool_run_and_reference_required(run_tool, session, hibari_speech):
    from assistant.errors import EarshotError

    x, rate, _ = hibari_speech
    add_input(session, x.astype(np.float32), rate, name="voice.wav")
    result = run_tool("convert_voice", file="voice.wav", style="deeper")
    y, r = sf.read(result.artifacts[0].path)
    assert r == rate and len(y) == len(x)
    assert "signal processing" in result.summary and "-4 semitones" in result.summary
    with pytest.raises(EarshotError, match="reference"):
        run_tool("convert_voice", file="voice.wav", style="match")
