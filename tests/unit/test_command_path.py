"""The command path (llm/commands/): phrasings that must parse to an exact plan without the LLM, for every
tool, and phrasings that must not (a leftover word, an unknown file, two readings) and so go to the LLM.
None of these phrasings is a request of the routing set (bench/routing/*.json), which `earshot bench plan`
scores with the command path on."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import threading
from argparse import Namespace

import numpy as np
import pytest
import soundfile as sf

from assistant.audio_models.registry import Registry, default_registry, load_tool
from assistant.bench.plan_bench import load_labelled
from assistant.config import LlmOptions, PlannerOptions
from assistant.events import PlanReady, Reply
from assistant.llm.commands import command_path
from assistant.llm.commands.chat import abilities, answer
from assistant.llm.hints import asks_for_recording
from assistant.llm.planner import Planner
from assistant.llm.prompts import GROUPS
from assistant.pipeline import Assistant
from assistant.runtime.llm import Completion
from assistant.store.session import SessionStore

AUDIO = ("take.wav", "vox.wav", "bed.wav", "loop.flac")


@pytest.fixture(scope="module")
def path():
    return command_path(default_registry())


@pytest.fixture
def ws(session):
    """A workspace with a few audio files, a picture and a project file (none of them in the session yet)."""
    tone = (0.1 * np.sin(2 * np.pi * 220 * np.arange(1600) / 16000)).astype(np.float32)
    for name in AUDIO:
        sf.write(session.workspace / name, tone, 16000)
    (session.workspace / "cover.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (session.workspace / "old.dawproject").write_bytes(b"PK\x05\x06" + bytes(18))
    return session


def steps(*pairs) -> list[dict]:
    return [{"tool": tool, "args": args} for tool, args in pairs]


# (request, the exact steps). At least one for every tool of the registry (checked below).
MUST_FIRE = [
    ("find my drum loops", steps(("find", {"instrument": "drums", "kind": "loop"}))),
    ("find the bass lines", steps(("find", {"instrument": "bass", "kind": "loop"}))),
    ("show me the drum hits in my library", steps(("find", {"instrument": "drums", "kind": "one-shot"}))),
    ("list my one shots", steps(("find", {"kind": "one-shot"}))),
    ("find the drum samples", steps(("find", {"instrument": "drums"}))),
    ("which takes are clipping", steps(("find", {"clipping": "yes"}))),
    # the sample library's questions (not the phrasings `earshot bench library` asks)
    ("list my loops in E minor", steps(("find", {"key": "E minor"}))),
    ("which clips are in C sharp major?", steps(("find", {"key": "C# major"}))),
    ("show me the samples at 140 bpm", steps(("find", {"tempo_bpm": 140}))),
    ("give me the takes between 90 and 100 bpm", steps(("find", {"tempo_min_bpm": 90, "tempo_max_bpm": 100}))),
    ("find the takes in A minor at 100 bpm", steps(("find", {"key": "A minor", "tempo_bpm": 100}))),
    ("which clips mention the deadline", steps(("find", {"words": "deadline"}))),
    ("find recordings where people talk about the tour", steps(("find", {"words": "tour"}))),
    ("find all the ambient sounds", steps(("find", {"content": "ambience"}))),
    ("which recordings are silent?", steps(("find", {"content": "silence"}))),
    ("which takes have someone talking in them", steps(("find", {"content": "speech"}))),
    ("find the piano samples", steps(("find", {"instrument": "piano"}))),
    ("find me the files in the interviews folder", steps(("find", {"folder": "interviews"}))),
    ("denoise every file you found", steps(("batch", {"action": "denoise"}))),
    (
        "normalise all the files I found to -16 LUFS",
        steps(("batch", {"action": "normalize", "target_lufs": -16})),
    ),
    ("write down what is said in take.wav", steps(("transcribe", {"file": "take.wav"}))),
    ("transcribe vox.wav, the speaker talks Italian", steps(("transcribe", {"file": "vox.wav", "language": "it"}))),
    (
        "transcribe take.wav with word timestamps",
        steps(("transcribe", {"file": "take.wav", "word_timestamps": True})),
    ),
    ("record yourself saying the doors open at eight", steps(("speak", {"text": "the doors open at eight"}))),
    ("say see you tomorrow and keep it", steps(("speak", {"text": "see you tomorrow"}))),
    ("get rid of the hum in vox.wav", steps(("denoise", {"file": "vox.wav"}))),
    ("measure take.wav", steps(("describe", {"file": "take.wav"}))),
    ("Describe vox dot wav.", steps(("describe", {"file": "vox.wav"}))),  # as speech recognition writes it
    ("what's the sample rate of loop.flac", steps(("describe", {"file": "loop.flac"}))),
    ("shorten take.wav to 8 seconds", steps(("edit", {"op": "trim", "file": "take.wav", "start_s": 0, "end_s": 8}))),
    ("bring vox.wav down by 4.5 dB", steps(("edit", {"op": "gain", "file": "vox.wav", "gain_db": -4.5}))),
    ("normalise loop.flac to -23 LUFS", steps(("edit", {"op": "normalize", "file": "loop.flac", "target_lufs": -23}))),
    (
        "normalize bed.wav to minus twenty LUFS",
        steps(("edit", {"op": "normalize", "file": "bed.wav", "target_lufs": -20})),
    ),
    ("fade vox.wav out over 1.5 seconds", steps(("edit", {"op": "fade", "file": "vox.wav", "fade_out_s": 1.5}))),
    ("export take.wav as an mp3", steps(("edit", {"op": "convert", "file": "take.wav", "format": "mp3"}))),
    (
        "resample take.wav to 22.05 kHz",
        steps(("edit", {"op": "resample", "file": "take.wav", "sample_rate_hz": 22050})),
    ),
    (
        "append bed.wav to the end of take.wav",
        steps(("edit", {"op": "concatenate", "file": "take.wav", "others": ["bed.wav"]})),
    ),
    ("mix vox.wav underneath bed.wav", steps(("edit", {"op": "mix", "file": "bed.wav", "others": ["vox.wav"]}))),
    ("take the vocals out of loop.flac", steps(("separate", {"file": "loop.flac", "stem": "vocals"}))),
    ("make an instrumental version of loop.flac", steps(("separate", {"file": "loop.flac", "stem": "accompaniment"}))),
    ("split take.wav into its speakers", steps(("separate", {"file": "take.wav", "stem": "speakers"}))),
    ("split loop.flac into drums and harmony", steps(("separate", {"file": "loop.flac", "stem": "drums"}))),
    ("fadeout vox.wav over 2 seconds", steps(("edit", {"op": "fade", "file": "vox.wav", "fade_out_s": 2}))),
    ("keep only the singing in loop.flac", steps(("extract", {"file": "loop.flac", "query": "the singing"}))),
    (
        "cut out the part of take.wav where the phone rings",
        steps(("extract", {"file": "take.wav", "query": "the part where the phone rings"})),
    ),
    ("where are the pauses in take.wav", steps(("detect", {"file": "take.wav", "find": "silence"}))),
    ("check vox.wav for clipping", steps(("detect", {"file": "vox.wav", "find": "clipping"}))),
    ("what's the key of loop.flac", steps(("tag", {"file": "loop.flac"}))),
    ("turn the bass line in loop.flac into midi", steps(("to_midi", {"file": "loop.flac"}))),
    ("describe loop.flac in a paragraph", steps(("caption", {"file": "loop.flac"}))),
    (
        "compose a gentle lullaby in G major at 60 bpm",
        steps(("compose", {"description": "a gentle lullaby", "key": "G major", "tempo_bpm": 60})),
    ),
    ('sing "hel-lo there" to G4:2 E4:2 C4:4', steps(("sing", {"lyrics": "hel-lo there", "notes": "G4:2 E4:2 C4:4"}))),
    (
        "generate 30 seconds of rain and birdsong",
        steps(("generate_sound", {"layers": ["rain", "birds"], "duration_s": 30})),
    ),
    ("add some echo to vox.wav", steps(("effects", {"file": "vox.wav", "chain": "delay"}))),
    ("pitch vox.wav down 2 semitones", steps(("effects", {"file": "vox.wav", "chain": "pitch -2"}))),
    (
        "patch the click in take.wav between 2.5 and 2.6 seconds",
        steps(("inpaint", {"file": "take.wav", "start_s": 2.5, "end_s": 2.6})),
    ),
    ("put vox.wav behind me for headphones", steps(("binaural", {"file": "vox.wav", "azimuth_deg": 180}))),
    ("make vox.wav sound like a robot", steps(("convert_voice", {"file": "vox.wav", "style": "robot"}))),
    ("translate the German in vox.wav", steps(("translate_speech", {"file": "vox.wav", "language": "de"}))),
    ("what note is the flute holding in take.wav", steps(("pitch", {"file": "take.wav"}))),
    ("what would cover.png sound like", steps(("image_to_audio", {"file": "cover.png"}))),
    ("solo the bass", steps(("track", {"op": "solo", "track": "bass"}))),
    (
        "please add a midi track called strings, thanks",
        steps(("track", {"op": "add", "name": "strings", "kind": "midi"})),
    ),
    ("turn the piano down by 2 dB", steps(("track", {"op": "gain", "track": "piano", "gain_db": -2}))),
    ("pan the keys hard right", steps(("track", {"op": "pan", "track": "keys", "pan": 1}))),
    (
        "put bed.wav on a new track called pads at bar 3",
        steps(("clip", {"op": "place", "file": "bed.wav", "track": "pads", "at": 3, "unit": "bars"})),
    ),
    ("duplicate the third verse clip", steps(("clip", {"op": "duplicate", "clip": "the third verse clip"}))),
    ("add an echo to the vocals", steps(("track_effect", {"op": "add", "effect": "delay", "track": "vocals"}))),
    (
        "put a high-pass filter at 120 hz on the guitar",
        steps(("track_effect", {"op": "add", "effect": "highpass", "value": 120, "track": "guitar"})),
    ),
    ("make the whole mix sound lo-fi", steps(("vibe", {"descriptor": "lofi"}))),
    ("make the piano a bit darker", steps(("vibe", {"descriptor": "darker", "track": "piano"}))),
    ("change the tempo to 100", steps(("project_tempo", {"bpm": 100}))),
    ("set the time signature to 6/8", steps(("project_tempo", {"time_signature": "6/8"}))),
    ("take back the last 3 changes", steps(("project_undo", {"steps": 3}))),
    ("redo that", steps(("project_undo", {"op": "redo"}))),
    ("list the tracks", steps(("describe_project", {}))),
    ("export the mix as a flac file", steps(("render_project", {"op": "mixdown", "format": "flac"}))),
    ("open old.dawproject as my project", steps(("open_project", {"file": "old.dawproject"}))),
    # two steps: "it" after the first is that step's output
    (
        "denoise take.wav and then detect the silences in it",
        steps(("denoise", {"file": "take.wav"}), ("detect", {"file": "$1", "find": "silence"})),
    ),
    (
        "generate rain and put it under vox.wav",
        steps(("generate_sound", {"layers": ["rain"]}), ("edit", {"op": "mix", "file": "vox.wav", "others": ["$1"]})),
    ),
    (
        "transcribe take.wav and read the transcript aloud",
        steps(("transcribe", {"file": "take.wav"}), ("speak", {"text": "$1"})),
    ),
    (
        "compress loop.flac, then put a limiter on it at -2 dB",
        steps(("effects", {"file": "loop.flac", "chain": "compressor, limiter -2"})),
    ),
]

MUST_NOT_FIRE = [
    "transcribe take.wav quickly",  # a leftover word
    "transcribe missing.wav",  # a file the workspace does not have
    "make take.wav louder",  # no amount: the LLM decides (or asks)
    "make take.wav 90 dB louder",  # out of the registry's bounds: validation refuses it
    "what makes a mix sound muddy?",  # an open question
    "say hi",  # chat that asks for no recording: never a speak step
    "compose something nice",  # no piece of music named
    "mute the drums and the bass",  # two tracks: no template takes both
    "trim take.wav to the first 10 seconds and bed.wav too",
    "denoise the interview",  # not a file name
]


def normalised(plan: dict) -> list[dict]:
    return [{"tool": s["tool"], "args": s["args"]} for s in plan["steps"]]


@pytest.mark.parametrize(("request_text", "expected"), MUST_FIRE, ids=[r for r, _ in MUST_FIRE])
def test_the_command_path_parses_the_exact_plan(path, ws, request_text, expected):
    outcome = path.plan(request_text, ws)
    assert outcome is not None, f"declined {request_text!r}"
    assert outcome.planner == "fast" and outcome.plan.say is None
    assert normalised(outcome.plan.to_json()) == expected
    assert json.loads(outcome.attempts[0].raw) == outcome.plan.to_json()  # recorded as the planner's raw text


def test_every_tool_has_a_phrasing_that_fires():
    covered = {s["tool"] for _, plan in MUST_FIRE for s in plan}
    assert covered == set(default_registry().names())


@pytest.mark.parametrize("request_text", MUST_NOT_FIRE)
def test_the_command_path_declines(path, ws, request_text):
    assert path.plan(request_text, ws) is None


def test_a_file_named_in_another_case_is_the_workspaces_file_unless_two_match(path, ws):
    # Speech recognition writes "Describe Take.wav." for take.wav.
    assert path.plan("Describe Take dot WAV.", ws).plan.steps[0].args == {"file": "take.wav"}
    sf.write(ws.workspace / "TAKE.wav", np.zeros(160, np.float32), 16000)
    assert path.plan("Describe Take.wav.", ws) is None  # take.wav or TAKE.wav: the LLM asks
    assert path.plan("Describe TAKE.wav.", ws).plan.steps[0].args == {"file": "TAKE.wav"}  # as written


def test_two_readings_go_to_the_llm(path, ws):
    # With an audio file in the session, "it" may be that file (edit: convert) or the song (render_project).
    ws.add_artifact(ws.workspace / "vox.wav", "input", duration_s=0.1, sample_rate_hz=16000, channels=1)
    assert path.plan("export it as flac", ws) is None
    assert path.plan("export vox.wav as flac", ws) is not None  # one reading once the file is named


def test_it_is_the_newest_audio_file_and_an_artifact_id_resolves(path, ws):
    first = ws.add_artifact(ws.workspace / "vox.wav", "input", duration_s=0.1, sample_rate_hz=16000, channels=1)
    newest = ws.add_artifact(ws.workspace / "take.wav", "input", duration_s=0.1, sample_rate_hz=16000, channels=1)
    ws.add_artifact(ws.workspace / "cover.png", "file")  # newer, but not audio
    plan = path.plan("make it 3 dB louder", ws).plan
    assert plan.steps[0].args == {"file": newest.ref, "gain_db": 3, "op": "gain"}
    assert path.plan(f"denoise {first.ref}", ws).plan.steps[0].args == {"file": first.ref}
    assert path.plan("denoise @a9", ws) is None  # no such artifact


def test_with_a_project_it_may_be_the_song_so_a_file_edit_on_it_declines(path, ws):
    from assistant.project.store import Project

    ws.add_artifact(ws.workspace / "vox.wav", "input", duration_s=0.1, sample_rate_hz=16000, channels=1)
    with Project(ws).changes() as tx:
        tx.apply("add_track", name="Strings", kind="audio")
    assert path.plan("make it 3 dB louder", ws) is None
    # the project's own track names are words the templates know
    assert path.plan("mute the strings", ws).plan.steps[0].args == {"op": "mute", "track": "strings"}


def test_what_whisper_writes_for_a_track_or_a_unit_still_parses(path, ws):
    from assistant.project.store import Project

    with Project(ws).changes() as tx:
        tx.apply("add_track", name="Drums", kind="audio")
    # "the drums track" heard as "the drum's track"; "decibels" spelt "Decibles"
    assert path.plan("mute the drum's track.", ws).plan.steps[0].args == {"op": "mute", "track": "drums"}
    # "ninety BPM" written "90vpm"
    assert path.plan("Set the tempo to 90vpm.", ws).plan.steps[0].args == {"bpm": 90}
    assert path.plan("set the tempo to 90 VPM", ws).plan.steps[0].args == {"bpm": 90}
    assert path.plan("Make take.WAV 3 Decibles Louder.", ws).plan.steps[0].args == {
        "file": "take.wav",
        "gain_db": 3,
        "op": "gain",
    }


def test_a_first_word_misheard_by_a_letter_parses_only_when_one_mend_gives_a_plan(path, ws):
    from assistant.project.store import Project

    with Project(ws).changes() as tx:
        tx.apply("add_track", name="Drums", kind="audio")
    # `earshot bench latency`: "Mute the drums track." heard as "Nute the drums track."
    assert path.plan("Nute the drums track.", ws).plan.steps[0].args == {"op": "mute", "track": "drums"}
    assert path.plan("Fescribe take.wav", ws).plan.steps[0].args == {"file": "take.wav"}
    assert path.plan("Nute the drums trick.", ws) is None  # a word left over after the mend
    assert path.plan("Nuts the drums track.", ws) is None  # no template word a letter away gives a plan
    assert path.plan("Xyz the drums track.", ws) is None  # too short to mend


def test_a_misheard_suffix_or_a_two_heard_as_to_still_parses(path, ws):
    # `earshot bench latency` run G: the loop's recogniser wrote "loop.wev" and "up to semitones"
    assert path.plan("Describe take.wev.", ws).plan.steps[0].args == {"file": "take.wav"}
    assert path.plan("describe take.wave", ws).plan.steps[0].args == {"file": "take.wav"}
    assert path.plan("pitch vox.wav up to semitones", ws).plan.steps[0].args == {"file": "vox.wav", "chain": "pitch 2"}
    # the suffix run together with "in": "What key is loop dot wav in?" heard as "What Key is Loop.Weaven."
    for heard in ("What Key is Take.Weaven.", "what key is take.waven"):
        assert path.plan(heard, ws).plan.steps[0].args == {"file": "take.wav"}
    # not a letter away, or two files a letter away, or a number of its own: left to the LLM as before
    assert path.plan("describe loop.mp4", ws) is None
    assert path.plan("what key is take.wooden", ws) is None  # "wood" is no suffix a letter from "wav"
    (ws.workspace / "bed.wma").write_bytes(b"")
    assert path.plan("describe bed.wmv", ws) is None  # bed.wav and bed.wma are both a letter from "wmv"
    from assistant.llm.commands.tokens import tokenize

    assert list(tokenize("pitch it up to 3 semitones").numbers.values()) == [3]
    assert list(tokenize("trim it to 3 seconds").numbers.values()) == [3]
    assert list(tokenize("move the vocal clip to bar 5").numbers.values()) == [5]  # a place (the routing set)
    assert list(tokenize("move it to bars 5").numbers.values()) == [5]


def test_chat_is_answered_from_templates_and_what_it_can_do_comes_from_the_registry(path, ws):
    for text in ("hi there", "thank you so much", "bye for now"):
        outcome = path.plan(text, ws)
        assert outcome is not None and outcome.plan.steps == () and outcome.plan.say
    answer = path.plan("what are you capable of?", ws).plan.say
    registry = default_registry()
    assert answer == abilities(registry)
    for heading, names in GROUPS:  # every tool of the non-project families is named, in words
        for name in names if not heading.startswith("Studio project") else ():
            assert name.replace("_", " ") in answer
    assert "studio project" in answer
    # a registry without the project tools does not claim them
    assert "studio project" not in abilities(Registry([load_tool("describe")]))


@pytest.mark.parametrize(
    ("request_text", "key"),
    [
        ("hey earshot, are you still there?", "presence"),
        ("do you hear me now", "presence"),
        ("is anybody listening?", "presence"),
        ("how's it going", "how_are_you"),
        ("hello, how are you doing this morning?", "how_are_you"),
        ("great job, thank you so much", "thanks"),
        ("ok, thanks again", "thanks"),
        ("good night then", "bye"),
        ("okay then", "ack"),
        ("got it.", "ack"),
    ],
)
def test_small_talk_is_answered_from_templates(path, ws, request_text, key):
    outcome = path.plan(request_text, ws)
    assert outcome is not None, f"declined {request_text!r}"
    assert outcome.plan.steps == () and outcome.plan.say == answer(key, default_registry())


@pytest.mark.parametrize(
    "request_text",
    [
        "can you hear the hiss in take.wav?",  # a question about a file, not about the assistant
        "is anyone talking in take.wav?",
        "are you able to hear me and transcribe take.wav",
        "how are the levels in take.wav?",
        "how are you going to denoise it?",  # "how are you" begins an open question
        "nice, thanks, now transcribe it",  # thanks, then a request: not small talk alone
    ],
)
def test_small_talk_templates_leave_requests_alone(path, ws, request_text):
    outcome = path.plan(request_text, ws)
    assert outcome is None or outcome.plan.steps, f"{request_text!r} answered as small talk: {outcome.plan.say!r}"


def test_okay_after_a_question_is_the_llms_to_read(path, ws):
    """ "Okay" after "Shall I normalise it too?" may mean yes: only after a reply that asked nothing is it
    answered from a template."""
    turn = ws.begin_turn("denoise take.wav")
    ws.end_turn(turn, "ok", reply="Removed the noise from take.wav. Shall I normalise it too?")
    assert path.plan("okay", ws) is None
    turn = ws.begin_turn("no, transcribe it")
    ws.end_turn(turn, "ok", reply="Transcribed take.wav (en).")
    outcome = path.plan("okay", ws)
    assert outcome is not None and outcome.plan.steps == () and outcome.plan.say == answer("ack", default_registry())


def test_no_phrasing_here_is_a_routing_request():
    def norm(text: str) -> str:
        return re.sub(r"[^a-z0-9@.]+", " ", text.lower()).strip()

    routing = {norm(item["request"]) for item in load_labelled()}
    mine = [r for r, _ in MUST_FIRE] + MUST_NOT_FIRE
    assert not [r for r in mine if norm(r) in routing]


# -- speak is planned only when the user asks for a saved recording ------------------------------------------
@pytest.mark.parametrize(
    ("request_text", "asks"),
    [
        ("what's in the project?", False),
        ("tell me how long it is", False),
        ("how loud is take.wav?", False),
        ("say hi", False),
        ("what does the singer say in take.wav?", False),
        ("what can you say about take.wav?", False),
        ("say good morning and save it", True),
        ("record a voice saying the show starts now", True),
        ("make a recording of the transcript", True),
        ("transcribe take.wav and read it back to me", True),
    ],
)
def test_which_requests_ask_for_a_recording(request_text, asks):
    assert asks_for_recording(request_text) is asks


class ScriptedLlm:
    options = LlmOptions()

    def __init__(self, replies):
        self.replies = list(replies)
        self.prompts = []

    def compile_grammar(self, gbnf):
        return gbnf

    def render_chat(self, messages):
        return "\n".join(f"<{m['role']}>{m['content']}" for m in messages)

    def count_tokens(self, text):
        return len(text.split())

    def complete(self, prompt, grammar, max_tokens, sampling=None, *, cancel=None, on_text=None, opening=""):
        self.prompts.append(prompt)
        return Completion(self.replies.pop(0), 10, 5, 1.0, 0)


SPEAK_REGISTRY = Registry([load_tool("speak"), load_tool("describe"), load_tool("describe_project")])


@pytest.mark.parametrize(
    ("request_text", "work"),
    [
        ("what's in the project?", '{"tool":"describe_project","args":{}}'),
        ("tell me how long take.wav is", '{"tool":"describe","args":{"file":"take.wav"}}'),
    ],
)
def test_a_speak_step_nobody_asked_for_is_refused_and_repaired(ws, request_text, work):
    talkative = f'{{"say":null,"steps":[{work},{{"tool":"speak","args":{{"text":"Here it is."}}}}]}}'
    plain = f'{{"say":null,"steps":[{work}]}}'
    planner = Planner(ScriptedLlm([talkative, plain]), SPEAK_REGISTRY, PlannerOptions(repair_attempts=1))
    outcome = planner.plan(request_text, ws)
    assert len(outcome.attempts) == 2 and "speak" in outcome.attempts[0].error
    assert "speak" in planner.llm.prompts[1] and "invalid" in planner.llm.prompts[1]
    assert [s.tool for s in outcome.plan.steps] == [json.loads(work)["tool"]]


def test_a_speak_step_asked_for_is_kept(ws):
    plan = '{"say":null,"steps":[{"tool":"speak","args":{"text":"Good morning."}}]}'
    planner = Planner(ScriptedLlm([plan]), SPEAK_REGISTRY, PlannerOptions(repair_attempts=1))
    outcome = planner.plan("say good morning and save it", ws)
    assert len(outcome.attempts) == 1 and [s.tool for s in outcome.plan.steps] == ["speak"]


@pytest.mark.parametrize("request_text", ["what's in the project?", "tell me how long take.wav is"])
def test_the_command_path_answers_these_without_speak(path, ws, request_text):
    outcome = path.plan(request_text, ws)
    assert [s.tool for s in outcome.plan.steps] in (["describe_project"], ["describe"])


# -- where the planner is recorded: the turn, the voice loop's planning, the store, `earshot plan --json` -------
class NoLlm:
    """A planner that must never be asked: the command path took the request."""

    def plan(self, *args, **kwargs):
        raise AssertionError("the LLM was asked")


def _assistant(config, session, events):
    assistant = Assistant(config, session, registry=Registry([load_tool("describe")]), emit=events.append)
    assistant._planner = NoLlm()
    return assistant


def test_a_typed_turn_takes_the_command_path_without_loading_the_llm(config, session):
    events: list = []
    reply = asyncio.run(_assistant(config, session, events).ask("hello"))
    (ready,) = [e for e in events if isinstance(e, PlanReady)]
    assert ready.planner == "fast" and ready.to_json()["planner"] == "fast" and ready.tokens == 0
    assert reply.text.startswith("Hello") and isinstance(events[-1], Reply)
    (row,) = session.plans(session.turns()[-1]["id"])
    assert row["planner"] == "fast" and row["valid"] == 1


def test_the_voice_loops_planning_takes_it_too_and_speaks_the_answer_at_once(config, session):
    sentences: list[str] = []
    assistant = _assistant(config, session, [])
    outcome = asyncio.run(assistant.plan_streamed("hello there", threading.Event(), sentences.append))
    assert outcome.planner == "fast"
    assert " ".join(sentences) == outcome.plan.say and len(sentences) == 2


def test_a_database_from_before_gets_the_planner_column(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE plans (id INTEGER PRIMARY KEY AUTOINCREMENT, turn_id INTEGER NOT NULL, attempt INTEGER NOT NULL,"
        " raw TEXT NOT NULL, valid INTEGER NOT NULL, error TEXT, plan_ms REAL, tokens INTEGER);"
        "INSERT INTO plans(turn_id, attempt, raw, valid) VALUES (1, 1, '{}', 1);"
    )
    db.commit()
    db.close()
    store = SessionStore(path)
    session = store.create_session(tmp_path / "ws")
    turn = session.begin_turn("hello")
    session.record_plan(turn, 1, '{"say":"Hi.","steps":[]}', True, None, 0.4, 0, "fast")
    rows = store.db.execute("SELECT turn_id, planner FROM plans ORDER BY id").fetchall()
    assert [(r["turn_id"], r["planner"]) for r in rows] == [(1, "llm"), (turn, "fast")]
    store.close()
    SessionStore(path).close()  # opening it again migrates nothing twice


def test_earshot_plan_json_says_which_planner(earshot_home, tmp_path, capsys):
    from assistant.cli import plan as plan_cli

    workspace = tmp_path / "mix"
    workspace.mkdir()
    sf.write(workspace / "take.wav", np.zeros(1600, np.float32), 16000)
    args = Namespace(text="denoise take.wav", json=True, llm=None, session=None, workspace=workspace, new_session=True)
    assert plan_cli.run(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["planner"] == "fast" and printed["plan"]["steps"] == [
        {"tool": "denoise", "args": {"file": "take.wav"}}
    ]


def test_the_printed_plan_line_and_the_history_say_who_planned(config, session, capsys):
    from rich.console import Console

    from assistant.cli.common import human_printer
    from assistant.cli.history import print_history

    human_printer()(PlanReady(({"tool": "describe", "args": {"file": "take.wav"}},), None, 1, 2.6, 0, "fast"))
    assert "plan (3 ms, command path): describe" in capsys.readouterr().err
    asyncio.run(_assistant(config, session, []).ask("thanks"))
    console = Console(record=True, width=120)
    print_history(session, console)
    assert "planned by the command path" in console.export_text()


def test_fast_plans_fit_the_planners_schema_as_an_llm_plan_must(path, ws):
    """String lengths, enums and numeric bounds of the grammar hold for fast plans too ("what can you do" once
    ran past the 400 characters of "say")."""
    import jsonschema

    from assistant.llm.schema import plan_schema, strip_extensions

    options = PlannerOptions()
    validator = jsonschema.Draft202012Validator(
        strip_extensions(plan_schema(default_registry(), options.max_steps, options.max_say_chars))
    )
    chat = ["what can you do?", "which formats can you open?", "do you need the internet?", "who are you"]
    for text in [r for r, _ in MUST_FIRE] + chat:
        raw = json.loads(path.plan(text, ws).attempts[0].raw)
        errors = [e.message[:120] for e in validator.iter_errors(raw)]
        assert not errors, (text, errors)
