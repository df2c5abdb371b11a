"""The endpointing state machine, driven by synthetic VAD frames (no models, no clock).

Each frame's audio is filled with its own index, so the tests can check exactly which frames an
utterance contains (pre-roll, trailing silence)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.audio.segmenter import End, Onset, Pause, Segmenter, transcript_looks_complete
from assistant.audio.vad import FRAME_MS, FRAME_SAMPLES, VadFrame
from assistant.config import BargeInOptions, EndpointOptions, VadOptions


def frames(pattern: str, start: int = 0, speech: float = 0.9, quiet: float = 0.02):
    """'S' a speech frame, '.' silence, 'w' weak speech (0.55), 'h' hesitation (0.3)."""
    probs = {"S": speech, ".": quiet, "w": 0.55, "h": 0.3}
    for i, ch in enumerate(pattern):
        idx = start + i
        yield VadFrame(idx, np.full(FRAME_SAMPLES, idx, np.float32), idx * 0.032, -30.0, ch != ".", probs[ch])


def run(seg: Segmenter, pattern: str, start: int = 0):
    out = []
    for f in frames(pattern, start):
        for ev in seg.push(f):
            out.append((f.index, ev))
    return out


def kinds(events):
    return [type(e).__name__ for _, e in events]


def frame_ids(audio: np.ndarray) -> list[int]:
    return [int(v) for v in audio.reshape(-1, FRAME_SAMPLES)[:, 0]]


def test_a_short_burst_is_a_transient_not_an_onset():
    seg = Segmenter(EndpointOptions(onset_speech_ms=160, onset_window_ms=320))
    events = run(seg, "....." + "SSS" + "." * 20)  # 96 ms of "speech": a cough or a slam
    assert kinds(events) == ["Candidate", "Transient"]
    assert seg.state == "idle"


def test_onset_needs_enough_speech_within_the_window_and_keeps_the_pre_roll():
    opts = EndpointOptions(onset_speech_ms=160, onset_window_ms=320, pre_roll_ms=320)
    seg = Segmenter(opts)
    events = run(seg, "." * 20 + "SSSSS" + "SSSS")
    onsets = [(i, e) for i, e in events if isinstance(e, Onset)]
    assert len(onsets) == 1
    confirmed_at, onset = onsets[0]
    assert onset.trigger_index == 20
    assert confirmed_at == 20 + 4  # 5 frames × 32 ms = 160 ms
    # Pre-roll: 10 frames (320 ms) before the trigger are part of the utterance.
    assert onset.start_index == 20 - round(320 / FRAME_MS)
    assert frame_ids(seg.audio_so_far())[:11] == list(range(10, 21))


def test_first_silent_frame_pauses_and_speech_again_resumes():
    seg = Segmenter(EndpointOptions(onset_speech_ms=96, resume_speech_ms=64, min_silence_ms=224, max_silence_ms=800))
    seg.completion = lambda: None  # ASR never answers in this test
    events = run(seg, "...SSSSSS..SS....")
    assert kinds(events) == ["Candidate", "Onset", "Pause", "Resume", "Pause"]
    pause_frame = [i for i, e in events if isinstance(e, Pause)][0]
    assert pause_frame == 9  # the very first silent frame
    assert [e for _, e in events if isinstance(e, Pause)][0].last_voiced_index == 8


def test_a_one_frame_blip_does_not_resume():
    seg = Segmenter(EndpointOptions(onset_speech_ms=96, resume_speech_ms=64))
    seg.completion = lambda: None
    events = run(seg, "...SSSSSS..S.....")
    assert kinds(events) == ["Candidate", "Onset", "Pause"]


def test_short_silence_ends_a_turn_whose_transcript_looks_complete():
    opts = EndpointOptions(onset_speech_ms=96, min_silence_ms=224, max_silence_ms=800, trailing_keep_ms=96)
    seg = Segmenter(opts)
    seg.completion = lambda: True
    events = run(seg, "..SSSSSSSS" + "." * 30)
    ends = [(i, e) for i, e in events if isinstance(e, End)]
    assert len(ends) == 1
    at, end = ends[0]
    assert end.reason == "complete"
    assert at - end.last_voiced_index == int(np.ceil(224 / FRAME_MS))  # 7 frames of silence
    # The audio stops 3 frames (96 ms) after the last voiced frame.
    assert frame_ids(end.audio)[-1] == end.last_voiced_index + 3


def test_an_unfinished_transcript_waits_for_the_long_silence():
    opts = EndpointOptions(onset_speech_ms=96, min_silence_ms=224, max_silence_ms=800)
    seg = Segmenter(opts)
    seg.completion = lambda: False  # "remove the noise from the …"
    events = run(seg, "..SSSSSSSS" + "." * 40)
    ((at, end),) = [(i, e) for i, e in events if isinstance(e, End)]
    assert end.reason == "max_silence"
    assert at - end.last_voiced_index == int(np.ceil(800 / FRAME_MS))


def test_unknown_completion_is_asked_again_until_known():
    answers = iter([None, None, None, True])
    asked = []

    def completion():
        asked.append(1)
        return next(answers, True)

    seg = Segmenter(EndpointOptions(onset_speech_ms=96, min_silence_ms=224, max_silence_ms=800))
    seg.completion = completion
    events = run(seg, "..SSSSSS" + "." * 30)
    ((at, end),) = [(i, e) for i, e in events if isinstance(e, End)]
    assert end.reason == "complete" and len(asked) == 4
    assert at - end.last_voiced_index == int(np.ceil(224 / FRAME_MS)) + 3


def test_an_answer_between_frames_ends_the_turn_without_waiting_for_the_next_frame():
    """`poll()`: the loop asks again the moment the pause's transcript or turn-end answer comes; it ends the
    turn only in a pause with enough silence and a finished answer, and only once."""
    answer: list[bool | None] = [None]
    seg = Segmenter(EndpointOptions(onset_speech_ms=96, min_silence_ms=224, max_silence_ms=800))
    seg.completion = lambda: answer[0]
    assert seg.poll() == []  # idle
    run(seg, "..SSSSSS")
    answer[0] = True
    assert seg.poll() == []  # still speaking
    events = run(seg, "..", start=8)
    assert kinds(events) == ["Pause"] and seg.poll() == []  # 64 ms of silence: not enough yet
    answer[0] = None
    assert run(seg, "." * 6, start=10) == []  # enough silence, the answer not known yet
    assert seg.poll() == []
    answer[0] = True
    (end,) = seg.poll()
    assert isinstance(end, End) and end.reason == "complete" and end.silence_ms == 8 * FRAME_MS
    assert frame_ids(end.audio)[-1] == end.last_voiced_index + 3
    assert seg.poll() == [] and seg.state == "idle"


def test_max_length_cuts_a_monologue():
    seg = Segmenter(EndpointOptions(onset_speech_ms=96, max_utterance_s=1.0))
    events = run(seg, "S" * 60)
    ends = [e for _, e in events if isinstance(e, End)]
    assert ends and ends[0].reason == "max_length"
    assert len(ends[0].audio) <= 16000 + FRAME_SAMPLES


def test_playback_raises_the_onset_bar_for_barge_in():
    weak = "..." + "w" * 12 + "." * 5  # probability 0.55: enough normally
    normal = Segmenter(
        EndpointOptions(onset_speech_ms=96),
        VadOptions(speech_threshold=0.5),
        BargeInOptions(speech_threshold=0.6, speech_ms=96),
    )
    assert "Onset" in kinds(run(normal, weak))
    speaking = Segmenter(
        EndpointOptions(onset_speech_ms=96),
        VadOptions(speech_threshold=0.5),
        BargeInOptions(speech_threshold=0.6, speech_ms=96),
    )
    speaking.playback_active = True
    assert "Onset" not in kinds(run(speaking, weak))
    assert "Onset" in kinds(run(speaking, "SSSS", start=100))


def test_barge_in_onset_can_be_quicker_than_a_normal_onset():
    seg = Segmenter(EndpointOptions(onset_speech_ms=192), barge_in=BargeInOptions(speech_ms=96))
    seg.playback_active = True
    events = run(seg, "..SSS")
    assert kinds(events) == ["Candidate", "Onset"] and events[0][0] == 2 and events[1][0] == 4


def test_push_to_talk_ignores_the_vad():
    seg = Segmenter(EndpointOptions(pre_roll_ms=96, max_silence_ms=224))
    run(seg, "....")  # pre-roll: frames 1..3 kept
    assert kinds([(0, e) for e in seg.press()]) == ["Onset"]
    events = run(seg, "." * 20 + "SS" + "." * 20, start=4)  # long silences do not end it
    assert "End" not in kinds(events)
    (end,) = seg.release()
    assert end.reason == "manual"
    assert frame_ids(end.audio)[0] == 1 and frame_ids(end.audio)[-1] == 45


def test_frames_after_an_end_become_the_next_pre_roll():
    seg = Segmenter(EndpointOptions(onset_speech_ms=96, pre_roll_ms=128, min_silence_ms=96, trailing_keep_ms=32))
    seg.completion = lambda: True
    events = run(seg, "..SSSS...." + "SSSS....")
    onsets = [e for _, e in events if isinstance(e, Onset)]
    assert len(onsets) == 2
    assert onsets[1].start_index == 10 - 4


@pytest.mark.parametrize(
    "text, complete",
    [
        ("What can you do?", True),
        ("Remove the hiss from memo.wav.", True),
        ("Thanks.", True),
        ("thanks", True),
        ("stop", True),
        ("Remove the noise from the", False),
        ("Remove the noise from the.", False),  # Whisper's full stop after "the": still unfinished
        ("Denoise memo.wav and", False),
        ("Make it louder,", False),
        ("So...", False),
        ("um", False),
        ("", False),
        ("Transcribe the second file", False),  # no punctuation, several words: unknown → wait
    ],
)
def test_transcript_completion(text, complete):
    assert transcript_looks_complete(text) is complete
