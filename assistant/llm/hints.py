"""Words of a request that usually point to a tool, told to the planner right after the request.

A 1.5B planner reading a 3,000-token tool list misses rare vocabulary ("karaoke" is `separate`, not
`compose`; "say … and save it" is `speak`, not a spoken answer). The fix the field uses for small
models is a retrieval step in front of the LLM; this is the cheapest one: domain words matched
against the request, each naming the tools it usually means, given to the model as a hint line
(~10–20 tokens a turn). The hint never decides: the model still writes the plan, the grammar still
constrains it, validation still checks it. A word can name several tools (reverb: `effects` on a
file, `track_effect` on a project track); the model chooses with the rest of the request.

The vocabulary is how people talk about audio work, written per tool; it is not a copy of the
routing set (bench/routing/*.json), which measures whether the hints generalise.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ..languages import language_code

_EFFECT_WORDS = (
    r"reverb|echo|delay|compressor|limiter|eq|equali[sz]er|filter|low-?pass|high-?pass|chorus|"
    r"distortion|saturation"
)

# `speak` records a WAV: its words are the ones that ask for a saved recording (asks_for_recording).
RECORDING = "speak|a saved recording, not your reply"

# (pattern, tools). Patterns are case-insensitive regular expressions matched on word boundaries.
VOCABULARY: tuple[tuple[str, tuple[str, ...]], ...] = (
    # speech
    (
        r"transcri\w*|what (is|was) (being )?said|what does .{1,40} say|write down the words|subtitles?|"
        r"words? (spoken|said)",
        ("transcribe",),
    ),
    (
        r"(each|every) word|word-level|word timestamps|timestamps? (of|for) (each|every) word",
        ("transcribe word_timestamps=true",),
    ),
    (r"translat\w*|in(to)? english", ("translate_speech",)),
    (
        r"(with|in) (my|the|a) piper( voice)?|piper voice",
        (f"{RECORDING.split('|')[0]} voice=piper|{RECORDING.split('|')[1]}",),
    ),
    (
        r"(?P<lang>spanish|french|german|italian|portuguese|dutch|russian|japanese|chinese|mandarin|korean|arabic|"
        r"hindi|polish|swedish|turkish|greek|czech|ukrainian)",
        ("translate_speech language={lang}", "transcribe language={lang}"),
    ),
    (
        r"(say|saying|says)\b.{0,60}\b(save|record|recording|file|(?<!\.)wav)|^(please )?say\b.{1,60}?\b(and|then)\b|"
        r"read\b.{0,60}\b(aloud|out loud|out)|"
        r"read (it|this|that) back|voice recording|text to speech|tts|in (a|the) (\w+ )?(man's|woman's|male|female) voice|"  # noqa: E501
        r"(in|with) (a|the|my) (\w+ )?voice|record (a|an|my|the) (voice|recording|audio|wav)|"
        r"(make|create|save) (a|an) (voice |audio )?(recording|wav)|(record|save) (yourself|it|this|that) (saying|as)",
        (RECORDING,),
    ),
    (r"noise|noisy|hiss|hum|denois\w*|clean (it |this |that )?up", ("denoise", "batch action=denoise")),
    (r"deeper", ("convert_voice style=deeper",)),
    (r"higher voice|voice higher|higher pitched voice", ("convert_voice style=higher",)),
    (r"robot\w*", ("convert_voice style=robot",)),
    (r"child|kid|chipmunk", ("convert_voice style=child",)),
    (r"whisper\w*", ("convert_voice style=whisper",)),
    (r"match the (pitch|voice)", ("convert_voice style=match",)),
    (r"sound like (a|an) (man|woman|girl|boy|monster|giant|alien|old man)|voice changer", ("convert_voice",)),
    # measuring and analysing
    (
        r"describe|measure|how (loud|long)|loudness|true peak|peaks?|duration|sample rate|bit depth|channels",
        ("describe",),
    ),
    (r"lufs", ("describe", "edit")),
    (r"key|instruments?|genre|speech or music|music or speech|what kind of (sound|audio|music)", ("tag", "find")),
    (r"in (?P<key>[A-G][#b]?( sharp| flat)? (major|minor))", ("find key={key}", "compose key={key}")),
    (r"((at|to) )?(?P<n>\d+) ?bpm", ("compose tempo_bpm={n}", "project_tempo bpm={n}", "find tempo_bpm={n}")),
    (r"between (?P<a>\d+) and (?P<b>\d+) ?bpm", ("find tempo_min_bpm={a} tempo_max_bpm={b}",)),
    (r"(?P<a>\d+) ?(-|to) ?(?P<b>\d+) ?bpm", ("find tempo_min_bpm={a} tempo_max_bpm={b}",)),
    (r"bpm|tempo", ("tag", "describe", "project_tempo")),
    (r"caption|paragraph|description", ("caption",)),
    (r"silences?|silent parts?", ("detect find=silence",)),
    (r"clipping|clipped", ("detect find=clipping", "find clipping=yes")),
    (r"(recordings?|files?|takes?|ones?|samples?) (that |which )?clip", ("find clipping=yes",)),
    (r"silent (files?|recordings?|takes?)", ("find content=silence",)),
    (r"\bloops\b", ("find kind=loop",)),
    (r"one[- ]shots?", ("find kind=one-shot",)),
    (r"drum hits|onsets?", ("detect find=hits",)),
    (
        r"where (someone|somebody|people|he|she|they) (speaks?|talks?|is talking|is speaking)|someone (speaks|talks)",
        ("detect find=speech",),
    ),
    (r"when (does|do|is|did)|where (does|do|is)|events?", ("detect",)),
    (r"pitch(ed)? (it |\S+ )?(up|down)|pitch[- ]shift\w*|shift the pitch|semitones?", ("effects", "track_effect")),
    (r"pitch|f0|what notes?|which notes?|in tune", ("pitch",)),
    (r"midi", ("to_midi", "render_project op=midi")),
    # changing files
    (r"trim|shorten|first \d+ seconds", ("edit op=trim",)),
    (
        r"from (?P<a>\d+(?:\.\d+)?) ?(s|sec|secs|seconds)? to (?P<b>\d+(?:\.\d+)?) ?(s|sec|secs|seconds)",
        ("edit op=trim start_s={a} end_s={b}", "inpaint start_s={a} end_s={b}", "extract"),
    ),
    (
        r"between (?P<a>\d+(?:\.\d+)?) ?(s|sec|secs|seconds)? and (?P<b>\d+(?:\.\d+)?) ?(s|sec|secs|seconds)",
        ("inpaint start_s={a} end_s={b}", "edit op=trim start_s={a} end_s={b}", "extract"),
    ),
    (
        r"(?P<n>\d+(?:\.\d+)?) ?(seconds?|secs?) (of|long)",
        ("generate_sound duration_s={n}", "image_to_audio duration_s={n}"),
    ),
    (r"louder|quieter|turn \S+ (up|down)|gain|\d+ ?db (louder|quieter|up|down)", ("edit op=gain", "track op=gain")),
    (r"normali[sz]e", ("edit op=normalize", "batch action=normalize")),
    (r"fade[sd]?( in| out)?", ("edit op=fade",)),
    (r"resample|(?P<n>\d+(?:\.\d+)?) ?khz", ("edit op=resample", "track_effect value={n}000", "={n}000 Hz")),
    (
        r"convert\b.{0,30}\b(to|into) (wav|flac|mp3|ogg)|(as|to|into) (an? )?(wav|flac|mp3|ogg)( file)?",
        ("edit op=convert",),
    ),
    (r"join|concatenate|append|one after (the )?other|back to back", ("edit op=concatenate",)),
    (r"mix\b.{0,40}\b(over|under|with|into)|behind|underneath", ("edit op=mix",)),
    (r"\d+ ?db", ("edit",)),
    (
        r"reverb|echo|delay|compress\w*|limiter|eq|equali[sz]\w*|low-?pass|high-?pass|filter|chorus|distort\w*|"
        r"saturat\w*|semitones?|vst3?|plugin",
        ("effects", "track_effect"),
    ),
    (
        r"time-?stretch|stretch|slow \S+ down|speed \S+ up|without changing the pitch|keep the pitch",
        ("effects|chain stretch FACTOR",),
    ),
    (r"twice as fast|half speed|faster|slower", ("speak speed=2", "effects")),
    (r"clicks?|dropouts?|gap|glitch\w*|cough\w*|crackle|repair|fill (in )?the", ("inpaint",)),
    (r"on my left|to my left|on the left", ("binaural azimuth_deg=-90",)),
    (r"on my right|to my right|on the right", ("binaural azimuth_deg=90",)),
    (r"behind me|behind my head", ("binaural azimuth_deg=180",)),
    (
        r"headphones|binaural|3d|around (my|your|the listener's) head|spatiali[sz]\w*|azimuth|"
        r"left to right|right to left",
        ("binaural",),
    ),
    (
        r"karaoke|instrumental|backing track|(remove|take out|drop|without) the (vocals?|voice|singing|singer)",
        ("separate stem=accompaniment",),
    ),
    (
        r"a ?cappella|acapella|(isolate|separate|split out|pull out) the (vocals?|voice|singing)|vocals? only|"
        r"just the vocals?",
        ("separate stem=vocals",),
    ),
    (r"(remove|take out|drop|without) the drums|no drums|drumless", ("separate stem=harmonic",)),
    (r"(isolate|separate|split|pull) (out )?the drums|drums out|drums only|just the drums", ("separate stem=drums",)),
    (r"speakers|(two|2|three|3) voices|voices apart", ("separate stem=speakers",)),
    (r"isolate|separate|split \w+( \w+)? out", ("separate",)),
    (r"stems?", ("separate", "render_project op=stems")),
    (r"keep only|the part (of|where)|extract|cut out|loudest|quietest", ("extract",)),
    # making sound and music
    (
        r"sound of|sound effects?|sfx|ambien\w+|rain|wind|thunder|storm|ocean|sea|waves|fire|birds?|crowd|applause|"
        r"engine|race car|footsteps|heartbeat|clock|beeps?|siren|riser|whoosh|roar\w*|lion|barking",
        ("generate_sound",),
    ),
    (r"compos\w*|tune|piece|jingle|chords|song about|(background|some|new) music|music for|loop in", ("compose",)),
    (r"sing|sung|singing voice|la la", ("sing",)),
    (r"(a|the) (?P<voice>male|female) (voice|singer)( to)? sings?", ("sing voice={voice}",)),
    (r"(?P<notes>[A-G][#b]?\d:\d+(\.\d+)?([ ,]+([A-G][#b]?\d|r):\d+(\.\d+)?)+)", ("sing notes={notes}",)),
    (r"picture|photo\w*|image|\.jpe?g|\.png|\.webp", ("image_to_audio",)),
    # the sample library
    (
        r"(find|search( for)?|look for|show me|list|which|get me|pull up)(?= .{0,30}?\b(files|recordings|takes|"
        r"samples|sounds|loops|interviews)\b)|in (my|the) (sample )?library|from (my|the) library",
        ("find",),
    ),
    (r"(sounds?|sounding) like (?P<f>[\w.-]+\.(wav|flac|mp3|ogg|aiff?))", ("find similar_to={f}",)),
    (
        r"(says?|said|saying|mentions?|mentioned|talks? about|talking about|talked about) "
        r"(the )?['\"]?(?P<w>[a-z]{4,})",
        ("find words={w}",),
    ),
    (
        r"(every|each|all( of)?( the| my)?) (files?|recordings?|takes?|samples?|clips?|sounds?|vocal takes|"
        r"interviews|loops)|everything (i|you) found|the whole folder|batch",
        ("batch",),
    ),
    # the studio project
    (r"unmute", ("track op=unmute",)),
    (r"mute", ("track op=mute",)),
    (r"unsolo", ("track op=unsolo",)),
    (r"solo", ("track op=solo",)),
    (r"pan(ned)?", ("track op=pan",)),
    (r"rename", ("track op=rename",)),
    (rf"(remove|take off|delete) the ({_EFFECT_WORDS})\b", ("track_effect op=remove", "effects")),
    (rf"bypass( the)? ({_EFFECT_WORDS})\b|bypass", ("track_effect op=bypass",)),
    (rf"(remove|delete) the (?!(?:{_EFFECT_WORDS})\b)\S+( \S+)? track|(remove|delete) track \d+", ("track op=remove",)),
    (r"(add|create|make) (a )?new (audio |midi )?track|new (audio|midi) track", ("track op=add",)),
    (r"track\b.{0,30}\b(up|down|louder|quieter)|volume", ("track op=gain",)),
    (
        r"clips?|on (a|the) (new )?track|to the project|at bar|bar \d+|move\b.{0,30}\bto|split\b.{0,30}\bat|"
        r"loop the",
        ("clip",),
    ),
    (r"duplicate", ("clip op=duplicate",)),
    # "the chorus clip", "the second vocal clip": the clip argument in the user's words, which the
    # project resolves (without it the model invented a file and a track for "duplicate the chorus clip").
    (r"(?P<clip>the (\w+ ){1,2}clip)", ("clip clip={clip}",)),
    (r"loop (the|it|this)\b.{0,30}\bfor|loop (the|it|this)", ("clip op=loop",)),
    (r"master|bus", ("track_effect",)),
    (r"relax\w*|calm\w*|chill\w*|mellow|laid-back", ("vibe descriptor=relaxed",)),
    (r"energetic|more energy|livelier", ("vibe descriptor=energetic",)),
    (r"warm(er|th)?", ("vibe descriptor=warmer",)),
    (r"bright(er)?", ("vibe descriptor=brighter",)),
    (r"dark(er)?", ("vibe descriptor=darker",)),
    (r"punch(y|ier)", ("vibe descriptor=punchier",)),
    (r"further away|far away|distant|in the distance", ("vibe descriptor=further",)),
    (r"closer|more up front|in your face", ("vibe descriptor=closer",)),
    (r"phone( call)?|telephone", ("vibe descriptor=phone",)),
    (r"radio", ("vibe descriptor=radio",)),
    (r"underwater", ("vibe descriptor=underwater",)),
    (r"spacious|roomier|wider", ("vibe descriptor=spacious",)),
    (r"lo-?fi", ("vibe descriptor=lofi",)),
    (r"vibe|feel", ("vibe",)),
    (r"time signature|\d/\d time|speed the (song|project) up|slow the (song|project) down", ("project_tempo",)),
    (
        r"(undo|revert|take back) (the )?(change )?(number |no\.? ?|#)?(?P<n>\d+)",
        ("project_undo change={n}|that change only, not a number of steps",),
    ),
    (r"(?P<n>\d+)[- ]bars?( long)?", ("compose bars={n}", "clip unit=bars")),
    (r"undo|redo|take back|revert", ("project_undo",)),
    (
        r"what'?s in the project|(list|show)( me)? the (tracks|clips|project)|clips in|tracks and",
        ("describe_project|a step that reads the project; not a say answer",),
    ),
    (r"dawproject|bitwig|cubase|studio one|reaper", ("render_project op=dawproject",)),
    (r"render|bounce|mixdown|mix down|export", ("render_project",)),
    (r"open|import|load", ("open_project",)),
)


# Whole words only, and never part of a file name ("mix" in "mix.wav" is not the edit verb).
@functools.cache
def _compiled() -> list[tuple[re.Pattern, tuple[str, ...]]]:
    """Compiled on first use (~100 patterns; a one-shot command the command path plans never needs them)."""
    return [
        (re.compile(rf"(?<![\w.-])(?:{pattern})(?![\w-]|\.\w)", re.IGNORECASE), tools) for pattern, tools in VOCABULARY
    ]


_FILE = re.compile(
    r"(?<![\w/])(@a\d+|@last|[\w.-]+\.(?:wav|flac|mp3|ogg|opus|m4a|aiff?|mid|midi|dawproject|"
    r"jpe?g|png|webp))(?![\w])",
    re.IGNORECASE,
)


PROJECT_TOOLS = {
    "track",
    "clip",
    "track_effect",
    "vibe",
    "project_tempo",
    "project_undo",
    "describe_project",
    "render_project",
    "open_project",
}
# The sample library's tools: their readings of a word count only when a library word is in the request.
LIBRARY_TOOLS = {"find", "batch"}
# Tools that change a given file into a new one.
FILE_TRANSFORMS = {"edit", "effects", "inpaint", "binaural", "separate", "extract", "denoise", "convert_voice"}
# Words that name the studio project or one of its tracks rather than a file.
_PROJECT_WORDS = re.compile(
    r"(?<![\w.-])(tracks?|clips?|project|song|mix|master|bus|the tempo|time signature|"
    r"the (drums|vocals?|bass|guitar|piano|keys|synth|strings|voice))(?![\w-]|\.\w)",
    re.IGNORECASE,
)

# "… and/then … it": a later step works on what the step before it made.
_LATER_IT = re.compile(r"\b(and|then)\b.*\b(it|its|them)\b", re.IGNORECASE)

NO_TOOL_WORDS = "Hints: no tool words; if this is conversation or unclear, answer in say"
# Stands for a space inside an argument value of an entry ("sing notes=C4:1 D4:2"), whose parts
# _parse splits at spaces; rendered back as a space.
_SPACE_IN_VALUE = "\u00a0"
# Notes that say a word's tool is work a spoken answer cannot do (needs_steps).
NOT_SAY = ("not your reply", "not a say answer")


@dataclass(frozen=True)
class Hint:
    words: str  # the words of the request, as written
    # the tools they usually mean, most likely first: "separate", "separate stem=vocals" (a value for an
    # argument) or "speak|a note for the model"
    tools: tuple[str, ...]

    def render(self) -> str:
        def one(entry: str) -> str:
            if entry.startswith("="):  # a value, not a tool: "2 khz → 2000 Hz"
                return entry[1:]
            tool, args, note = _parse(entry)
            if args:
                shown = []
                for arg in args:
                    key, _, value = arg.partition("=")
                    value = value.replace(_SPACE_IN_VALUE, " ")
                    literal = value in ("true", "false") or value.lstrip("-").replace(".", "", 1).isdigit()
                    shown.append(f"{key}={value}" if literal else f'{key}="{value}"')
                tool = f"{tool}({', '.join(shown)})"
            return f"{tool} ({note})" if note else tool

        return f"{self.words.lower()} → {' or '.join(one(t) for t in self.tools)}"


def find_hints(request: str, registered: set[str] | None = None, limit: int = 6) -> list[Hint]:
    """The request's tool words in the order they appear (at most `limit`), each with its tools.
    Where matches overlap, the longer one wins ("remove the drums" over "drums")."""
    spans: list[tuple[int, int, Hint]] = []
    for pattern, tools in _compiled():
        tools = tuple(t for t in tools if registered is None or t.startswith("=") or _tool(t) in registered)
        if all(t.startswith("=") for t in tools):
            continue
        for m in pattern.finditer(request):  # every match: "trim … and convert it to mp3" is two edits
            filled = tuple(f for f in (_fill(t, m.groupdict()) for t in tools) if f)
            spans.append((m.start(), m.end(), Hint(m.group(0), filled)))
    spans.sort(key=lambda x: (x[0], -(x[1] - x[0])))
    kept: list[tuple[int, int, Hint]] = []
    for start, end, hint in sorted(spans, key=lambda x: -(x[1] - x[0])):
        if all(end <= s or start >= e for s, e, _ in kept):
            kept.append((start, end, hint))
    kept.sort(key=lambda x: x[0])
    return [h for _, _, h in kept[:limit]]


def hint_line(request: str, registered: set[str] | None = None) -> str | None:
    """One line for the prompt, e.g. `Hints: karaoke → separate(stem="accompaniment"); song.wav is a
    file`, or NO_TOOL_WORDS for conversation; None when a file is named but no tool word (the model
    reads the request alone)."""
    found, hints, files = _resolved(request, registered)
    if not found:
        # No tool word at all: conversation, or a request too vague to act on; both are answered in "say".
        return None if files else NO_TOOL_WORDS
    if not hints:
        return None
    parts = [h.render() for h in hints]
    steps = _steps_note(request, hints)
    if steps:
        parts.append(steps)
    if len(hints) >= 2 and _LATER_IT.search(request) and not (steps or "").startswith("one "):
        if _tool(hints[0].tools[0]) in PROJECT_TOOLS:  # "make it more relaxed and render it": the song
            parts.append('"it" is the song: no track or file needed')
        else:
            parts.append('"it" after the first step is "$1", the output of step 1')
    if files:  # a named file, not a project track: effects rather than track_effect, and so on
        parts.append(f"{', '.join(files)} {'is a file' if len(files) == 1 else 'are files'}")
    return "Hints: " + "; ".join(parts)


def needs_steps(request: str, registered: set[str] | None = None) -> bool:
    """Do the request's words name work that a spoken answer cannot do ("say … and save it", "what's
    in the project?": every reading of some word has a NOT_SAY note)? The planner then opens the plan
    as work (`"say": null`), so the model picks the step instead of answering in words; it did
    answer these in "say" in long sessions despite the hint."""
    _, hints, _ = _resolved(request, registered)
    return any(all(any(n in _parse(t)[2] for n in NOT_SAY) for t in h.tools) for h in hints if h.tools)


def asks_for_recording(request: str) -> bool:
    """Does the request ask for a saved recording of a voice ("say X and save it", "record a voice
    saying …", "read it back")? Only then may a plan have a `speak` step: it writes a WAV file, and
    is never the way to answer ("what's in the project?", "tell me how long it is" are answered in
    words, by the reply)."""
    return any(
        any(t.split("|")[1:] == RECORDING.split("|")[1:] for t in tools) and pattern.search(request)
        for pattern, tools in _compiled()
    )


def _resolved(request: str, registered: set[str] | None) -> tuple[list[Hint], list[Hint], list[str]]:
    """(the words found, the hints kept after choosing between readings, the files named)."""
    found = find_hints(request, registered)
    files = list(dict.fromkeys(m.group(1) for m in _FILE.finditer(request)))
    if not found:
        return found, [], files
    hints = _library(found)
    # A word like "reverb" or "bpm" means a file tool when a file is named, a project tool when the
    # request talks about tracks or the song and names no file; otherwise both stay.
    if files:
        hints = [_prefer(h, lambda t: t not in PROJECT_TOOLS) for h in hints]
    elif _PROJECT_WORDS.search(request):
        # About the project and no file named: a word that only means changing a file ("fade" of
        # edit, "to flac") is about a clip or the mix here, so it is dropped. Tools that make a new
        # file (speak, compose…) or measure one (describe…) stay: "say welcome and add it to the
        # project", "render the song and tell me how loud it is".
        hints = [
            _prefer(h, lambda t: t in PROJECT_TOOLS)
            for h in hints
            if not all(_tool(t) in FILE_TRANSFORMS for t in h.tools)
        ]
    return found, _agree(hints), files


def _library(hints: list[Hint]) -> list[Hint]:
    """find/batch readings stay only when a word names the library ("find … takes", "every file");
    then they are the reading: "D minor" and "120 bpm" are find's arguments, "denoise" is batch's action."""
    named = {_tool(t) for h in hints for t in h.tools if len(h.tools) == 1} & LIBRARY_TOOLS
    out = []
    for h in hints:
        if not named:
            kept = tuple(t for t in h.tools if _tool(t) not in LIBRARY_TOOLS)
            if kept:
                out.append(Hint(h.words, kept))
            continue
        chosen = tuple(t for t in h.tools if _tool(t) in named)
        if chosen:
            out.append(Hint(h.words, chosen))
        elif not any(_tool(t) in ("tag", "detect", "describe", "compose", "project_tempo", "clip") for t in h.tools):
            out.append(h)  # other words stay ("every file … to flac"); analysis words become find's arguments
    return out


def _fill(entry: str, groups: dict) -> str | None:
    """Numbers from the request into the entry: "{n}", "{a}", "{b}"; "{n}000" is kHz in Hz. A value
    note whose number the request did not give is dropped (None)."""
    if entry.startswith("=") and any(f"{{{k}}}" in entry and not v for k, v in groups.items()):
        return None
    for name, value in groups.items():
        if name == "lang" and value:
            value = language_code(value)
        if value:  # a value of several words ("C4:1 D4:2") stays one for _parse
            value = _SPACE_IN_VALUE.join(value.split())
        if f"{{{name}}}000" in entry and value:
            entry = entry.replace(f"{{{name}}}000", f"{float(value) * 1000:g}")
        entry = entry.replace(f"{{{name}}}", value or "N")
    return entry


def _agree(hints: list[Hint]) -> list[Hint]:
    """A word with several readings takes the one another word of the request names alone: "bpm"
    (tag or describe) beside "key" (tag) is tag; a time range beside "dropout" is inpaint's range;
    "2 kHz" beside "low-pass" is a cutoff, not a sample rate."""
    single = [
        (i, _tool(h.tools[0])) for i, h in enumerate(hints) if len(h.tools) == 1 and not h.tools[0].startswith("=")
    ]
    alone = {tool for _, tool in single}
    out = []
    for i, h in enumerate(hints):
        if len(h.tools) > 1:
            if "edit op=resample" in h.tools:  # kHz: a track effect's value, a cutoff in a chain, a rate
                keep = "track_effect" if "track_effect" in alone else "=" if "effects" in alone else "edit"
                h = Hint(h.words, tuple(t for t in h.tools if _tool(t).startswith(keep)) or h.tools)
            h = _prefer(h, lambda t: t in alone)
            named = {_tool(t) for t in h.tools}
            near = [(abs(j - i), j > i, tool) for j, tool in single if tool in named]
            if len(named) > 1 and near:  # still two readings: the nearest word's
                nearest = min(near)[2]
                h = _prefer(h, lambda t, nearest=nearest: t == nearest)
        out.append(h)
    if "translate_speech" in alone:  # "what does the Spanish say in English" is one translation,
        out = [h for h in out if {_tool(t) for t in h.tools} not in ({"transcribe"}, {"speak"})]  # spoken too
    if alone & {"compose", "generate_sound", "sing"}:  # "a calm piano loop": words about the new piece
        out = [h for h in out if {_tool(t) for t in h.tools} != {"vibe"}]
    return [h for h in out if not (len(h.tools) > 1 and all(t.startswith("=") for t in h.tools))]


def _steps_note(request: str, hints: list[Hint]) -> str | None:
    """How many steps the words add up to: "2 steps: transcribe, then speak" (two edits with
    different ops are two steps too), or "one effects step" when several words all name one step
    (a chain of effects, layers of one sound, a tempo and a key)."""
    steps: dict[str, list[str]] = {}  # tool → its ops, in order of appearance
    for h in hints:
        if h.tools[0].startswith("="):
            continue
        tool, args, _ = _parse(h.tools[0])
        ops = steps.setdefault(tool, [])
        ops += [a[3:] for a in args if a.startswith("op=") and a[3:] not in ops]
    named = [
        name for tool, ops in steps.items() for name in ([f"{tool}({op})" for op in ops] if len(ops) > 1 else [tool])
    ]
    if 2 <= len(named) <= 3 and re.search(r"\b(and|then|also)\b|,", request):
        return f"{len(named)} steps: {', then '.join(named)}"
    if len(named) == 1 and len(hints) >= 2:
        return f"one {named[0]} step"
    return None


def _prefer(hint: Hint, keep) -> Hint:
    """The hint with only the alternatives `keep` accepts (unchanged when it would accept none)."""
    chosen = tuple(t for t in hint.tools if keep(_tool(t)))
    return Hint(hint.words, chosen) if chosen else hint


def _tool(entry: str) -> str:
    """The tool name of a vocabulary entry ("separate stem=vocals|note" → "separate")."""
    return _parse(entry)[0]


def _parse(entry: str) -> tuple[str, list[str], str]:
    """A vocabulary entry "separate stem=vocals|note" → ("separate", ["stem=vocals"], "note")."""
    entry, _, note = entry.partition("|")
    tool, *args = entry.split(" ")
    return tool, args, note
