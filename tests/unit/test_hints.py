"""Tool words of a request become a hint line for the planner; conversation gets none."""
import pytest

from assistant.audio_models.registry import default_registry
from assistant.llm.hints import NO_TOOL_WORDS, VOCABULARY, find_hints, hint_line


@pytest.mark.parametrize("request_,tool", [
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
])
def test_tool_words_name_their_tool(request_, tool):
    assert any(tool in (t.split("|")[0].split(" ")[0] for t in h.tools) for h in find_hints(request_)), \
        hint_line(request_)


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
            tool, _, arg = entry.partition("|")[0].partition(" ")
            assert tool in registry, entry
            if arg:
                key, _, value = arg.partition("=")
                value = value.replace("{n}", "1")    # a number taken from the request
                hints = typing.get_type_hints(registry.get(tool).args_type)
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
