"""caption: the facts in the paragraph match independent measurements of the clip."""

from __future__ import annotations

import re

import pytest
from music_signals import chord_progression_midi, render_midi

pytestmark = pytest.mark.integration


def test_music_caption_states_the_measured_key_and_tempo(tmp_path, session, run_tool):
    mid, wav = tmp_path / "song.mid", session.workspace / "song.wav"
    chord_progression_midi(mid, "D", "major", 100, bars=8, drums=True)
    render_midi(mid, wav)
    result = run_tool("caption", file="song.wav")
    text = result.data["text"]
    print(text)
    assert "clip of mostly music" in text
    assert "D major" in text
    bpm = re.search(r"about (\d+) BPM", text)
    assert bpm and abs(int(bpm.group(1)) - 100) <= 2
    assert "No voice was detected" in text and "The words" not in text
    assert "drums/percussion" in text
    assert "not a learned captioning model" in text  # honest about what it is
    assert result.artifacts[0].path.read_text().strip() == text


def test_speech_caption_says_speech_and_gives_the_words(tmp_path, session, run_tool):
    from tests.conftest import espeak, require_models, word_error_rate

    require_models("whisper-tiny.en")
    sentence = "Please send the final mix to the label before Friday afternoon."
    espeak(sentence, session.workspace / "memo.wav")
    result = run_tool("caption", file="memo.wav")
    text = result.data["text"]
    print(text)
    assert "clip of mostly speech" in text and "There is speech in 1 stretch" in text
    assert "BPM" not in text and "major" not in text and "minor" not in text
    assert result.data["words"] and word_error_rate(sentence, result.data["words"]) <= 0.3
    assert "drums" not in text
    assert "who is speaking" in text  # says what it cannot know
