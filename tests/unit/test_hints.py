"""Tool words of a request become a hint line for the planner; conversation gets none."""

import re

import pytest

from assistant.audio_models.registry import default_registry
from assistant.llm.hints import NO_TOOL_WORDS, VOCABULARY, find_hints, hint_line, needs_steps


@pytest.mark.parametrize(
    "request_,tool",
    [
        ("turn mix.wav into a karaoke track", "separate"),
        ("say good evening and keep it as a wav", "speak"),
        ("what BPM is loop.wav?", "tag"),
        ("put some reverb on the vocal track", "track_effect"),
        ("put some reverb on vox.wav", "effects"),
        ("make the chorus feel more relaxed", "vibe"),
        ("write a paragraph about beat.wav", "caption"),
        ("the sound of heavy rain for 30 seconds", "generate_sound"),
        ("fix the click at 2.1 seconds in vox.wav", "inpaint"),
        ("bounce the song to a wav", "render_project"),
    ],
)
def test_tool_words_name_their_tool(request_, tool):
    assert any(tool in (t.split("|")[0].split(" ")[0] for t in h.tools) for h in find_hints(request_)), hint_line(
        request_
    )


@pytest.mark.parametrize("chat", ["hi!", "thanks a lot", "who made you?", "can you work offline?"])
def test_conversation_is_pointed_at_say(chat):
    assert hint_line(chat) == NO_TOOL_WORDS


def test_two_edits_in_one_request_are_both_hinted():
    line = hint_line("trim take.wav to 30 seconds and convert it to mp3")
    assert line.count("→ edit") == 2


def test_named_files_are_called_files_and_order_follows_the_request():
    line = hint_line("denoise take.wav and then transcribe it")
    assert line.index("denoise") < line.index("transcribe") and "take.wav is a file" in line


def test_every_hinted_tool_and_value_exists():
    """A hint names a registered tool, and an argument value it suggests is one of that argument's choices."""
    import typing

    registry = default_registry()
    for _, entries in VOCABULARY:
        for entry in entries:
            if entry.startswith("="):  # a value note ("2 kHz → 2000 Hz")
                continue
            tool, *args = entry.partition("|")[0].split(" ")
            assert tool in registry, entry
            hints = typing.get_type_hints(registry.get(tool).args_type)
            for arg in args:
                key, _, value = arg.partition("=")
                if value == "{lang}":  # a language name, read as its code
                    continue
                if value in ("{notes}", "{clip}", "{key}", "{w}"):  # the request's words (text)
                    assert hints[key] is str, entry
                    continue
                if value == "{f}":  # a file the request names
                    assert "Artifact" in str(hints[key]), entry
                    continue
                if value == "{voice}":  # "a male voice sing": the word is the choice
                    assert {"male", "female"} <= set(typing.get_args(hints[key])), entry
                    continue
                value = re.sub(r"\{\w\}", "1", value)  # a number taken from the request
                choices = typing.get_args(hints[key])
                if hints[key] is bool:
                    assert value in ("true", "false"), entry
                elif hints[key] in (int, float) or float in choices:
                    float(value)
                else:
                    assert value in choices, entry


def test_the_longest_overlapping_words_win():
    line = hint_line("remove the drums from song.wav but keep everything else")
    assert 'separate(stem="harmonic")' in line and line.count("separate") == 1


def test_a_word_with_two_readings_takes_the_one_another_word_names():
    line = hint_line("what tempo and key is demo.wav in?")
    assert "tempo → tag;" in line and "one tag step" in line


def test_a_time_range_beside_a_repair_word_is_the_repair_range():
    line = hint_line("repair the glitch in vox.wav between 4.5 and 4.6 s")
    assert 'inpaint(start_s=4.5, end_s=4.6)' in line and "edit" not in line
    assert 'edit(op="trim", start_s=1, end_s=9)' in hint_line("trim vox.wav from 1 to 9 seconds")


def test_kilohertz_beside_a_filter_is_a_cutoff_and_otherwise_a_sample_rate():
    assert "3 khz → 3000 Hz" in hint_line("add a high-pass filter at 3 kHz to vox.wav")
    assert 'edit(op="resample")' in hint_line("resample vox.wav to 48 kHz")


def test_tool_words_add_up_to_a_step_count():
    assert "2 steps: denoise, then transcribe" in hint_line("remove the hum from call.wav and then transcribe it")
    assert "one effects step" in hint_line("add an echo and a chorus to vox.wav")
    # two different edits are two steps of one tool
    assert "2 steps: edit(fade), then edit(convert)" in hint_line("fade out vox.wav and convert it to mp3")
    assert "one clip step" in hint_line("loop the bass clip for 4 bars")


def test_a_translation_is_not_also_a_transcription():
    line = hint_line("what is being said in talk.wav, in English please")
    assert "translate_speech" in line and "transcribe" not in line


def test_removing_an_effect_from_a_track_is_not_removing_the_track():
    line = hint_line("take off the reverb from the vocal track")
    assert 'track_effect(op="remove")' in line and 'track(op="remove")' not in line


def test_a_language_name_is_given_as_its_code():
    assert 'translate_speech(language="it")' in hint_line("translate the Italian in call.wav to English")


def test_a_numbered_change_is_that_change_not_a_count_of_steps():
    # "undo change number 11" was once planned as steps=11: eleven requests undone
    for said in ("please undo change number 7", "revert #7", "take back change no. 7"):
        assert "project_undo(change=7)" in hint_line(said), said


@pytest.mark.parametrize(
    "request_, work",
    [
        ("say hello world and save it", True),
        ("what's in the project?", True),
        ("read this aloud: the session starts at noon", True),
        ("hello there!", False),
        ("what can you do?", False),
        ("transcribe memo.wav", False),  # work, but the model needs no push to see it
        ("say something nice", False),
    ],
)
def test_needs_steps_only_for_words_whose_every_reading_is_work_not_an_answer(request_, work):
    assert needs_steps(request_) is work


def test_a_score_in_the_request_is_handed_to_sing_as_written():
    line = hint_line('sing "twin-kle twin-kle lit-tle star" to C4:1 C4:1 G4:1 G4:1 A4:1 A4:1 G4:2')
    assert 'sing(notes="C4:1 C4:1 G4:1 G4:1 A4:1 A4:1 G4:2")' in line and "one sing step" in line


def test_a_clip_named_in_words_is_handed_to_clip_with_the_op():
    # "duplicate the chorus clip" was planned with an invented file and track, and "chorus" read as the effect
    line = hint_line("duplicate the chorus clip")
    assert 'clip(op="duplicate")' in line and 'clip(clip="the chorus clip")' in line and "track_effect" not in line
    assert 'clip(clip="the last clip")' in hint_line("delete the last clip")
    assert "clip(clip=" not in hint_line("list the clips in my song")


def test_a_male_or_female_singer_is_sings_voice():
    assert 'sing(voice="male")' in hint_line("make a male voice sing twinkle twinkle little star")
    assert "sing(" not in hint_line("read this in a male voice")
