"""The slot lists of the templates, generated from the tool registry where it knows the words.

Every `Literal` argument of every tool becomes a list named `TOOL_ARG` (`separate_stem`,
`track_effect_effect`, `vibe_descriptor` …) whose values are the enum values themselves, spoken
("sea_waves" → "sea waves"), plus the other words people use for them (SPOKEN below: what the
registry cannot know). Languages come from Whisper's table (languages.py), effect names and their
aliases from the studio project's effect table (project/effects.py). Numbers, files, notes and time
signatures are per-request lists (tokens.py).
"""

from __future__ import annotations

import typing
from dataclasses import fields
from typing import Literal, get_args, get_origin

from ...languages import WHISPER_LANGUAGES, language_code

# Other words for an enum value: (tool, argument) → value → hassil templates. A value not named here
# is still matched by its own name.
SPOKEN: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    ("find", "instrument"): {
        "drums": ("drum", "percussion"),
        "voice": ("vocal", "vocals", "voice"),
        "strings": ("string",),
        "pad": ("pads",),
    },
    ("generate_sound", "layers"): {
        "rain": ("rainfall", "raining", "rain storm"),
        "wind": ("howling wind", "windy weather", "a windy day"),
        "thunder": ("thunderstorm", "a thunderstorm", "thunderclap", "thunder claps"),
        "sea_waves": ("sea", "ocean", "ocean waves", "waves", "surf", "the sea", "the ocean", "waves on a beach"),
        "fire": ("campfire", "a campfire", "crackling fire", "a crackling fire", "fireplace", "a fireplace"),
        "birds": ("birdsong", "bird song", "birds singing", "chirping birds", "birds chirping"),
        "crowd": ("crowd noise", "a crowd", "people talking", "chatter", "a busy crowd"),
        "applause": ("clapping", "an applause", "people clapping", "a round of applause"),
        "engine": ("an engine", "a car engine", "engine noise", "motor", "a motor"),
        "race_car": ("a race car", "racing car", "a racing car", "race cars", "a car race"),
        "footsteps": ("steps", "walking", "someone walking", "foot steps"),
        "heartbeat": ("a heartbeat", "heart beat", "a heart beat", "heartbeats", "a beating heart"),
        "clock": ("a clock", "ticking clock", "a ticking clock", "clock ticking", "ticking"),
        "beeps": ("beep", "a beep", "beeping", "bleeps"),
        "siren": ("a siren", "sirens", "an ambulance siren", "a police siren"),
        "riser": ("a riser",),
        "whoosh": ("a whoosh", "whooshes", "swoosh", "a swoosh"),
        "lion_roar": (
            "lion",
            "a lion",
            "a lion roaring",
            "a lion's roar",
            "lion roaring",
            "roaring lion",
            "lions roar",
        ),
        "dog_bark": ("dog", "a dog", "a dog barking", "dog barking", "barking", "a barking dog", "dogs barking"),
    },
    ("detect", "find"): {
        "speech": ("talking", "someone talking", "someone speaking", "speaking", "voices", "the speech"),
        "singing": ("the singing", "someone singing"),
        "music": ("the music",),
        "noise": ("the noise", "noises"),
        "silence": ("silences", "the silences", "the silence", "the quiet parts", "the pauses", "pauses", "gaps"),
        "hits": ("drum hits", "the drum hits", "the hits", "the beats", "transients"),
        "clipping": ("the clipping", "distortion from clipping"),
    },
    ("edit", "format"): {"mp3": ("an mp3",), "wav": ("a wav", "wave"), "flac": ("a flac",), "ogg": ("an ogg",)},
    ("render_project", "format"): {"flac": ("a flac",), "wav": ("a wav", "wave")},
    ("speak", "voice"): {"heart": ("hibari",), "piper": ("my piper",)},
    ("sing", "voice"): {"male": ("man's", "a man's", "men's"), "female": ("woman's", "a woman's", "women's")},
    ("convert_voice", "style"): {
        "deeper": ("lower", "deep", "lower pitched", "more masculine"),
        "higher": ("high", "higher pitched", "more feminine"),
        "child": ("like a child", "like a kid", "childlike", "a child", "a kid", "a chipmunk", "like a chipmunk"),
        "robot": ("robotic", "like a robot", "a robot"),
        "whisper": ("whispered", "whispery", "like a whisper", "like whispering", "whispering"),
    },
    ("vibe", "descriptor"): {
        "relaxed": (
            "more relaxed",
            "calm",
            "calmer",
            "more calm",
            "chill",
            "more chilled",
            "mellow",
            "mellower",
            "laid back",
            "more laid back",
            "softer and calmer",
        ),
        "energetic": ("more energetic", "livelier", "more lively", "more energy", "more exciting"),
        "warmer": ("warm", "more warm"),
        "brighter": ("bright", "more bright", "more sparkly", "crisper"),
        "darker": ("dark", "more dark", "duller", "moodier"),
        "punchier": ("punchy", "more punchy", "more punch", "hit harder"),
        "further": (
            "further away",
            "farther away",
            "far away",
            "distant",
            "more distant",
            "further back",
            "in the distance",
        ),
        "closer": ("more up front", "more present", "nearer", "in your face"),
        "phone": (
            "like a phone call",
            "like a phone",
            "like a telephone",
            "like it's on the phone",
            "like it is on the phone",
            "like a telephone call",
        ),
        "radio": ("like a radio", "like it's on the radio", "like it is on the radio", "like an old radio"),
        "underwater": ("like it's underwater", "like it is underwater", "like it's under water", "under water"),
        "spacious": ("more spacious", "roomier", "wider", "bigger", "more open"),
        "dry": ("drier", "dryer", "less roomy", "less reverby"),
        "lofi": ("lo-fi", "lo fi", "more lo-fi", "more lofi", "low-fi", "low fi"),
    },
    ("render_project", "op"): {},
    ("track_effect", "effect"): {
        "reverb": ("a reverb", "some reverb", "room reverb", "hall reverb", "a hall reverb"),
        "delay": ("echo", "an echo", "some echo", "a delay", "some delay"),
        "compressor": ("compression", "some compression", "a compressor", "comp"),
        "limiter": ("a limiter",),
        "noise_gate": ("gate", "a gate", "a noise gate"),
        "lowpass": (
            "low-pass",
            "low pass",
            "low-pass filter",
            "low pass filter",
            "lowpass filter",
            "a low-pass",
            "a low-pass filter",
            "a low pass filter",
            "a lowpass filter",
            "high cut",
            "a high cut",
        ),
        "highpass": (
            "high-pass",
            "high pass",
            "high-pass filter",
            "high pass filter",
            "highpass filter",
            "a high-pass",
            "a high-pass filter",
            "a high pass filter",
            "a highpass filter",
            "low cut",
            "a low cut",
        ),
        "low_shelf": ("a low shelf", "bass shelf"),
        "high_shelf": ("a high shelf", "treble shelf"),
        "peak_eq": ("eq", "an eq", "equaliser", "equalizer", "an equaliser", "an equalizer"),
        "chorus": ("a chorus", "some chorus"),
        "phaser": ("a phaser", "some phaser"),
        "distortion": ("some distortion", "saturation", "some saturation", "overdrive", "some overdrive", "drive"),
        "bitcrush": ("bitcrusher", "a bitcrusher", "bit crusher", "a bit crusher"),
        "pitch_shift": ("a pitch shift", "pitch shifter", "a pitch shifter"),
    },
}

# Tracks of a studio project, by the words people use for them (refs.py resolves them; a project's
# own track names are added per request).
TRACK_WORDS = (
    "vocals", "vocal", "voice", "vox", "lead vocal", "lead vocals", "backing vocals", "drums", "drum", "bass",
    "guitar", "guitars", "piano", "keys", "synth", "synths", "strings", "pad", "pads", "lead", "kick", "snare",
    "hats", "percussion", "horns", "brass", "organ", "choir", "melody", "beat", "loop", "rain", "ambience",
    "fx", "sfx", "rhythm guitar", "lead guitar", "bass guitar", "electric piano", "acoustic guitar",
)  # fmt: skip

# Track effects whose name works as the effects tool's chain (a file): chain name per effect value.
FILE_CHAIN = {
    "reverb": "reverb",
    "delay": "delay",
    "chorus": "chorus",
    "distortion": "distortion",
    "compressor": "compressor",
    "limiter": "limiter",
    "lowpass": "lowpass",
    "highpass": "highpass",
    "noise_gate": "gate",
}


def spoken(value: str) -> str:
    return value.replace("_", " ")


def enum_lists(registry) -> dict[str, list[tuple[str, object]]]:
    """`TOOL_ARG` → [(template, value)] for every Literal argument of every registered tool (list
    arguments of Literals too: generate_sound's layers)."""
    out: dict[str, list[tuple[str, object]]] = {}
    for tool in registry:
        hints = typing.get_type_hints(tool.args_type)
        for f in fields(tool.args_type):
            choices = _literal_choices(hints[f.name])
            if not choices:
                continue
            extra = SPOKEN.get((tool.name, f.name), {})
            values: list[tuple[str, object]] = []
            for choice in choices:
                values.append((spoken(choice), choice))
                values += [(word, choice) for word in extra.get(choice, ())]
            out[f"{tool.name}_{f.name}"] = values
    return out


def language_values() -> list[tuple[str, str]]:
    names = {name: code for code, name in WHISPER_LANGUAGES.items()}
    for alias in ("mandarin", "castilian", "flemish", "farsi", "brazilian"):
        names[alias] = language_code(alias)
    return sorted(names.items())


def _literal_choices(tp) -> tuple[str, ...]:
    origin = get_origin(tp)
    if origin in (typing.Union, __import__("types").UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        return _literal_choices(args[0]) if len(args) == 1 else ()
    if origin is list:
        return _literal_choices(get_args(tp)[0])
    if origin is Literal:
        return tuple(str(c) for c in get_args(tp))
    return ()
